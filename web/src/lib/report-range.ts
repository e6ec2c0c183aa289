'use client';

import { useState } from 'react';
import { useQueryState } from '@/lib/url';

const DAY_MS = 86_400_000;
/** The range shown when the URL names none: the last 30 days, today included. */
export const DEFAULT_REPORT_DAYS = 30;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const parseDay = (s: string | null) => (s && DATE.test(s) && !Number.isNaN(Date.parse(s)) ? Date.parse(s) : null);

export interface ReportFilter {
  /** First day shown (UTC), `YYYY-MM-DD`, as in the URL. */
  from: string;
  /** Last day shown (UTC), included, as in the URL. */
  to: string;
  job: string | null;
  /** The API's query: `to` is the day after the last one (the API's range is half-open). */
  query: { from: string; to: string; job?: string };
  /** Every day of the range, in order (the trend charts' x axis). */
  days: string[];
  set: (changes: { from?: string | null; to?: string | null; job?: string | null }) => void;
}

/**
 * The reports' filters in the query string (`?from=&to=&job=`, days in UTC,
 * both ends included), so a report is a link. A day the URL gets wrong falls
 * back to the default; a range the API refuses is shown as its error.
 */
export function useReportFilter(): ReportFilter {
  const [params, setParams] = useQueryState();
  // Today is read once per mount: the default range stays put while the page is open.
  const [today] = useState(() => Math.floor(Date.now() / DAY_MS) * DAY_MS);
  const toMs = parseDay(params.get('to')) ?? today;
  const fromMs = parseDay(params.get('from')) ?? toMs - (DEFAULT_REPORT_DAYS - 1) * DAY_MS;
  const job = params.get('job') || null;
  const days: string[] = [];
  for (let d = fromMs; d <= toMs && days.length < 400; d += DAY_MS) days.push(isoDay(d));
  return {
    from: isoDay(fromMs),
    to: isoDay(toMs),
    job,
    query: { from: isoDay(fromMs), to: isoDay(toMs + DAY_MS), ...(job ? { job } : {}) },
    days,
    set: (changes) => setParams(changes),
  };
}

/** A rate (0..1) as a percentage, or the dash. */
export function formatRate(rate: number | null | undefined, dash = '—'): string {
  return rate === null || rate === undefined ? dash : `${(rate * 100).toFixed(1)} %`;
}
