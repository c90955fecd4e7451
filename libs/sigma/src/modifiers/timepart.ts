export type TimePart = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/;

/** ISO 8601 week number of a calendar date (weeks start Monday; week 1 holds the first Thursday). */
function isoWeek(y: number, m: number, d: number): number {
  const t = new Date(Date.UTC(y, m - 1, d));
  const dow = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - dow);
  const jan1 = Date.UTC(t.getUTCFullYear(), 0, 1);
  return Math.ceil(((t.getTime() - jan1) / 86400000 + 1) / 7);
}

/**
 * Reads the part as written in the text, without timezone conversion (the spec's warning); numbers are
 * taken as epoch milliseconds in UTC. Anything unparseable yields undefined and never matches.
 */
export function timePart(v: unknown, part: TimePart): number | undefined {
  let y: number, mo: number, d: number, h: number | undefined, mi: number | undefined;
  if (typeof v === 'string') {
    const m = ISO.exec(v.trim());
    if (!m) return undefined;
    y = Number(m[1]);
    mo = Number(m[2]);
    d = Number(m[3]);
    h = m[4] !== undefined ? Number(m[4]) : undefined;
    mi = m[5] !== undefined ? Number(m[5]) : undefined;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  } else if (typeof v === 'number' && Number.isFinite(v)) {
    const t = new Date(v);
    y = t.getUTCFullYear();
    mo = t.getUTCMonth() + 1;
    d = t.getUTCDate();
    h = t.getUTCHours();
    mi = t.getUTCMinutes();
  } else {
    return undefined;
  }
  switch (part) {
    case 'year':
      return y;
    case 'month':
      return mo;
    case 'day':
      return d;
    case 'week':
      return isoWeek(y, mo, d);
    case 'hour':
      return h;
    case 'minute':
      return mi;
  }
}
