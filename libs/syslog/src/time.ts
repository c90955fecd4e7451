/**
 * Calendar and time-zone arithmetic for syslog timestamps, with Intl only (no tz database package): BSD
 * timestamps carry neither year nor zone, so the receiver supplies both.
 */

const MS_PER_DAY = 86_400_000;
/** Zone offsets only change at quarter-hour boundaries (UTC) in every modern zone, so offsets are cached per 15 min. */
const OFFSET_BUCKET_MS = 900_000;
const OFFSET_CACHE_LIMIT = 4096;

const formatters = new Map<string, Intl.DateTimeFormat | null>();
const offsetCaches = new Map<string, Map<number, number>>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
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
    } catch {
      f = null;
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone name this runtime knows; config validation should call it once. */
export function isValidTimeZone(timeZone: string): boolean {
  return formatterFor(timeZone) !== null;
}

/**
 * Epoch ms of a proleptic-Gregorian UTC date-time (fields already validated). Integer arithmetic (Hinnant's
 * days_from_civil) rather than Date.UTC, which is slow on the hot path and maps years 0-99 to 19xx.
 */
export function utcMs(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146_097 + doe - 719_468;
  return days * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + ms;
}

export function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

// Two-entry memo in front of the per-zone map: consecutive lines nearly always share the zone and the
// quarter-hour, and localToUtcMs looks up two instants (wall clock and its UTC guess) per timestamp.
let memoZone0 = '';
let memoBucket0 = NaN;
let memoOffset0 = 0;
let memoZone1 = '';
let memoBucket1 = NaN;
let memoOffset1 = 0;
let memoNext = 0;

/** Offset of `timeZone` from UTC at instant `at`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(timeZone: string, at: number): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const bucket = Math.floor(at / OFFSET_BUCKET_MS);
  if (bucket === memoBucket0 && timeZone === memoZone0) return memoOffset0;
  if (bucket === memoBucket1 && timeZone === memoZone1) return memoOffset1;
  const offset = zoneOffsetUncached(timeZone, bucket);
  if (memoNext === 0) {
    memoZone0 = timeZone;
    memoBucket0 = bucket;
    memoOffset0 = offset;
  } else {
    memoZone1 = timeZone;
    memoBucket1 = bucket;
    memoOffset1 = offset;
  }
  memoNext ^= 1;
  return offset;
}

function zoneOffsetUncached(timeZone: string, bucket: number): number {
  let cache = offsetCaches.get(timeZone);
  if (cache === undefined) {
    cache = new Map();
    offsetCaches.set(timeZone, cache);
  }
  const hit = cache.get(bucket);
  if (hit !== undefined) return hit;
  const f = formatterFor(timeZone);
  if (f === null) throw new RangeError(`unknown time zone ${timeZone}`);
  const instant = bucket * OFFSET_BUCKET_MS;
  let y = 0;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const p of f.formatToParts(instant)) {
    const v = Number(p.value);
    if (p.type === 'year') y = v;
    else if (p.type === 'month') mo = v;
    else if (p.type === 'day') d = v;
    else if (p.type === 'hour') h = v;
    else if (p.type === 'minute') mi = v;
    else if (p.type === 'second') s = v;
  }
  const offset = utcMs(y, mo, d, h, mi, s, 0) - instant;
  if (cache.size >= OFFSET_CACHE_LIMIT) cache.clear();
  cache.set(bucket, offset);
  return offset;
}

/**
 * UTC instant of a wall-clock time in `timeZone`. In a DST gap or overlap the result is one of the two
 * plausible instants, which is the best a zone-less timestamp allows.
 */
export function localToUtcMs(
  timeZone: string,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const local = utcMs(y, mo, d, h, mi, s, ms);
  const o1 = zoneOffsetMs(timeZone, local);
  const guess = local - o1;
  const o2 = zoneOffsetMs(timeZone, guess);
  return o2 === o1 ? guess : local - o2;
}

/**
 * A BSD timestamp has no year: pick, among the years around the receive time, the one that puts the
 * timestamp closest to it (a Dec 31 line received on Jan 1 belongs to the previous year). Returns NaN when
 * the date exists in none of them (Feb 29 far from a leap year).
 */
export function inferYearUtcMs(
  timeZone: string,
  receivedMs: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const year = utcYear(receivedMs);
  let best = NaN;
  let bestDist = Infinity;
  for (let k = 0; k < 3; k++) {
    const y = k === 0 ? year : k === 1 ? year - 1 : year + 1;
    if (d > daysInMonth(y, mo)) continue;
    const t = localToUtcMs(timeZone, y, mo, d, h, mi, s, ms);
    const dist = Math.abs(t - receivedMs);
    if (dist < bestDist) {
      best = t;
      bestDist = dist;
    }
    // Within half a year of the receive time no other year can be closer.
    if (k === 0 && dist <= 182 * MS_PER_DAY) break;
  }
  return best;
}

let yearStart = 0;
let yearEnd = -1;
let yearValue = 0;

/** UTC year of an instant, memoized by year span because every line of a batch shares it. */
export function utcYear(ms: number): number {
  if (ms >= yearStart && ms < yearEnd) return yearValue;
  const y = new Date(ms).getUTCFullYear();
  yearValue = y;
  yearStart = utcMs(y, 1, 1, 0, 0, 0, 0);
  yearEnd = utcMs(y + 1, 1, 1, 0, 0, 0, 0);
  return y;
}

/** Lower-cased three-letter month names packed into an int → month number. */
const MONTH_BY_KEY = new Map<number, number>(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map((m, k) => [
    (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2),
    k + 1,
  ]),
);

/** Month number 1-12 of a case-insensitive English abbreviation starting at `i`, or 0. */
export function monthAt(s: string, i: number): number {
  if (i + 3 > s.length) return 0;
  const key =
    ((s.charCodeAt(i) | 0x20) << 16) | ((s.charCodeAt(i + 1) | 0x20) << 8) | (s.charCodeAt(i + 2) | 0x20);
  return MONTH_BY_KEY.get(key) ?? 0;
}

/** Wall-clock fields of an instant in a zone, with the zone's offset then (minutes east of UTC). */
export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  offsetMin: number;
}

/**
 * The inverse of localToUtcMs: what a clock in `timeZone` shows at instant `ms` (whole seconds). Senders
 * that write device timestamps (the drill runner's RFC 3164/5424 headers, FortiGate date=/time=) use this,
 * so they and the parser agree on one zone computation.
 */
export function zonedParts(ms: number, timeZone: string): ZonedParts {
  const offset = zoneOffsetMs(timeZone, ms);
  const d = new Date(Math.floor(ms / 1000) * 1000 + offset);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    offsetMin: Math.round(offset / 60_000),
  };
}
