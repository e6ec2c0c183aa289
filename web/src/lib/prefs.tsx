'use client';

import { type ReactNode, createContext, useCallback, useContext, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';

const UTC_KEY = 'baton.utc';

interface Prefs {
  utc: boolean;
  setUtc: (utc: boolean) => void;
}

const PrefsContext = createContext<Prefs>({ utc: false, setUtc: () => undefined });

/** Display preferences that outlive a page: times in UTC or in the browser's zone. */
export function PrefsProvider({ children }: { children: ReactNode }) {
  const [utc, setUtcState] = useState(() => typeof window !== 'undefined' && localStorage.getItem(UTC_KEY) === '1');
  const setUtc = useCallback((v: boolean) => {
    localStorage.setItem(UTC_KEY, v ? '1' : '0');
    setUtcState(v);
  }, []);
  const value = useMemo(() => ({ utc, setUtc }), [utc, setUtc]);
  return <PrefsContext.Provider value={value}>{children}</PrefsContext.Provider>;
}

export function usePrefs(): Prefs {
  return useContext(PrefsContext);
}

export interface Formatters {
  /** An instant in the chosen zone, e.g. `2026-12-01 10:55:45.005` (ms when asked). */
  instant: (iso: string | null | undefined, opts?: { ms?: boolean }) => string;
  /** `3 min ago`, `in 5 s`. */
  relative: (iso: string | null | undefined, now?: number) => string;
  /** A duration in ms, in the largest unit that keeps it readable. */
  duration: (ms: number | null | undefined) => string;
  /** The zone times are shown in (`UTC` or the browser's IANA zone). */
  zone: string;
}

export function useFormatters(): Formatters {
  const { utc } = usePrefs();
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return useMemo(() => {
    const zone = utc ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone;
    const base: Intl.DateTimeFormatOptions = {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    };
    // ISO-like order in every language (2026-12-01 10:55:45.005): sortable, unambiguous, and as the API writes it.
    const parts = new Intl.DateTimeFormat('en-CA', { ...base, fractionalSecondDigits: 3 });
    const iso = (d: Date, ms: boolean) => {
      const p = Object.fromEntries(parts.formatToParts(d).map((x) => [x.type, x.value]));
      return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}${ms ? `.${p.fractionalSecond}` : ''}`;
    };
    const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'short' });
    const dash = t('common.none');
    return {
      zone,
      instant: (value, opts) => (value ? iso(new Date(value), !!opts?.ms) : dash),
      relative: (iso, now = Date.now()) => {
        if (!iso) return dash;
        const s = (Date.parse(iso) - now) / 1000;
        const a = Math.abs(s);
        if (a < 60) return rtf.format(Math.round(s), 'second');
        if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
        if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
        return rtf.format(Math.round(s / 86400), 'day');
      },
      duration: (ms) => formatDuration(ms, dash),
    } satisfies Formatters;
  }, [utc, lang, t]);
}

export function formatDuration(ms: number | null | undefined, dash = '—'): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return dash;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(3)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

/** Milliseconds between two instants (or until now, when the end is open). */
export function elapsed(start: string | null | undefined, end: string | null | undefined, now = Date.now()) {
  if (!start) return null;
  return (end ? Date.parse(end) : now) - Date.parse(start);
}
