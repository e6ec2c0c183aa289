const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function validFields(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  // Date.UTC rolls 30 February over into March; a round trip catches it.
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return (
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === mo - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === s
  );
}

/**
 * Epoch ms of an ISO 8601 instant with an explicit zone (`Z` or `+02:00`),
 * seconds and fraction optional; null for anything else, including local
 * times without a zone, which would mean a different instant on every host.
 */
export function parseInstant(text: string): number | null {
  const m = INSTANT.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const s = m[6] === undefined ? 0 : Number(m[6]);
  if (!validFields(y, mo, d, h, mi, s)) return null;
  const ms = m[7] === undefined ? 0 : Math.floor(Number(m[7]) * 1000);
  const zone = m[8]!.toUpperCase();
  let offsetMin = 0;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMin * 60_000;
}

/** Epoch ms of midnight UTC of a `YYYY-MM-DD` date, or null. */
export function parseIsoDate(text: string): number | null {
  const m = DATE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  return validFields(y, mo, d) ? Date.UTC(y, mo - 1, d) : null;
}

export interface WallClock {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock reading of instant `t` in an IANA time zone; throws RangeError for an unknown zone. */
export function wallClock(t: number, timeZone: string): WallClock {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour!, minute: p.minute!, second: p.second! };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYY-MM-DD` of a wall-clock reading. */
export function formatIsoDate(w: Pick<WallClock, 'year' | 'month' | 'day'>): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** Formats with the tokens YYYY MM DD HH mm ss; everything else is copied as is. */
export function formatWallClock(w: WallClock, format: string): string {
  return format.replace(/YYYY|MM|DD|HH|mm|ss/g, (token) => {
    switch (token) {
      case 'YYYY':
        return pad(w.year, 4);
      case 'MM':
        return pad(w.month);
      case 'DD':
        return pad(w.day);
      case 'HH':
        return pad(w.hour);
      case 'mm':
        return pad(w.minute);
      default:
        return pad(w.second);
    }
  });
}
