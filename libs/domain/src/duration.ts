const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)/y;
const PLAIN_NUMBER = /^(\d+(?:\.\d+)?|\.\d+)$/;

/**
 * Milliseconds, or null when invalid or negative. A bare number (or numeric
 * string) is seconds, as in most job-definition formats; strings combine
 * units: `500ms`, `10s`, `1h30m`, `1.5h`, `2d`. Results are rounded to whole ms.
 */
export function parseDuration(v: string | number): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null;
  const text = v.trim();
  if (PLAIN_NUMBER.test(text)) return Math.round(Number(text) * 1000);
  if (text === '') return null;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return null;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
    while (text[pos] === ' ') pos++;
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** The shortest string parseDuration reads back to the same value, e.g. `1h30m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return sign + out;
}
