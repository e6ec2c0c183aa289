import type { ValueTransformer } from 'typeorm';

// Instants are epoch milliseconds in BIGINT columns on both dialects: exact,
// UTC, and cheap to compare in claim queries. mysql2 returns BIGINT as a
// string, so every read goes through Number().
export const epochMs: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v === null || v === undefined ? null : Number(v)),
};

export const json: ValueTransformer = {
  to: (v: unknown) => (v === undefined ? null : JSON.stringify(v)),
  from: (v: string | null): unknown => (v === null || v === undefined ? null : (JSON.parse(v) as unknown)),
};
