import { daysInMonth, inferYearUtcMs, localToUtcMs, monthAt, utcMs } from './time';
import { DEFAULT_PRIORITY, type SyslogFields } from './types';

/**
 * RFC 3164 / BSD envelope, tolerant in the ways rsyslog is: `[<PRI>][SEQ: ][*|.]TIMESTAMP[:] [HOSTNAME ]
 * [TAG[PID]: ]MSG` where TIMESTAMP is BSD (`Mmm dd hh:mm:ss[.fff]`, optionally with a year or UTC/GMT) or
 * ISO 8601/RFC 3339. Never fails: whatever is not a recognizable header stays in MSG.
 */

const SP = 0x20;
const COLON = 0x3a;
const MAX_TAG = 128;
const MAX_PID = 128;
const MAX_HOSTNAME = 255;

// Scratch timestamp produced by the readers below; module-level so the hot path allocates nothing.
let tY = 0;
let tMo = 0;
let tD = 0;
let tH = 0;
let tMi = 0;
let tS = 0;
let tMs = 0;
let tHasYear = false;
/** Minutes east of UTC when the timestamp names its zone, else NaN. */
let tOffsetMin = NaN;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function num(s: string, i: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const c = s.charCodeAt(i + k);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** `hh:mm:ss[.frac]` at i; returns the end index or -1. */
function readClock(s: string, i: number): number {
  const h = num(s, i, 2);
  const mi = num(s, i + 3, 2);
  const sec = num(s, i + 6, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return -1;
  if (s.charCodeAt(i + 2) !== COLON || s.charCodeAt(i + 5) !== COLON) return -1;
  tH = h;
  tMi = mi;
  // A leap second cannot be represented by Date; the previous second is the closest honest value.
  tS = sec === 60 ? 59 : sec;
  tMs = 0;
  let j = i + 8;
  if (s.charCodeAt(j) === 0x2e || (s.charCodeAt(j) === 0x2c && isDigit(s.charCodeAt(j + 1)))) {
    j++;
    const start = j;
    while (isDigit(s.charCodeAt(j)) && j - start < 9) {
      const place = j - start;
      if (place < 3) tMs += (s.charCodeAt(j) - 0x30) * (place === 0 ? 100 : place === 1 ? 10 : 1);
      j++;
    }
    if (j === start) return -1;
  }
  return j;
}

/** Zone written after a BSD clock: only names that are unambiguous worldwide. */
function readZoneWord(s: string, i: number): number {
  if (s.charCodeAt(i) !== SP) return i;
  const a = s.charCodeAt(i + 1);
  const b = s.charCodeAt(i + 2);
  const c = s.charCodeAt(i + 3);
  const after = s.charCodeAt(i + 4);
  const ends = Number.isNaN(after) || after === SP || after === COLON;
  if (ends && ((a === 0x55 && b === 0x54 && c === 0x43) || (a === 0x47 && b === 0x4d && c === 0x54))) {
    tOffsetMin = 0;
    return i + 4;
  }
  return i;
}

/** BSD `Mmm dd [yyyy ]hh:mm:ss[.frac][ UTC]` at i (month case-insensitive, day space- or zero-padded). */
function readBsd(s: string, i: number): number {
  const mo = monthAt(s, i);
  if (mo === 0 || s.charCodeAt(i + 3) !== SP) return -1;
  let j = i + 4;
  if (s.charCodeAt(j) === SP) j++;
  let d = num(s, j, 2);
  if (d >= 0) j += 2;
  else {
    d = num(s, j, 1);
    if (d < 0) return -1;
    j += 1;
  }
  if (d < 1 || d > 31 || s.charCodeAt(j) !== SP) return -1;
  j++;
  tHasYear = false;
  // Cisco ASA and others put the year before the clock: `Mar  7 2008 19:06:53`.
  if (s.charCodeAt(j + 4) === SP && s.charCodeAt(j + 2) !== COLON) {
    const y = num(s, j, 4);
    if (y < 0) return -1;
    if (d > daysInMonth(y, mo)) return -1;
    tY = y;
    tHasYear = true;
    j += 5;
  }
  const end = readClock(s, j);
  if (end < 0) return -1;
  tMo = mo;
  tD = d;
  tOffsetMin = NaN;
  return readZoneWord(s, end);
}

/** ISO 8601 / RFC 3339 `yyyy-mm-dd(T| )hh:mm:ss[.frac][Z|±hh[:]mm]` at i, tolerant of case and precision. */
function readIso(s: string, i: number): number {
  const y = num(s, i, 4);
  if (y < 0 || s.charCodeAt(i + 4) !== 0x2d || s.charCodeAt(i + 7) !== 0x2d) return -1;
  const mo = num(s, i + 5, 2);
  const d = num(s, i + 8, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return -1;
  const sep = s.charCodeAt(i + 10) | 0x20;
  if (sep !== 0x74 && sep !== SP) return -1;
  const end = readClock(s, i + 11);
  if (end < 0) return -1;
  tY = y;
  tMo = mo;
  tD = d;
  tHasYear = true;
  tOffsetMin = NaN;
  let j = end;
  const z = s.charCodeAt(j);
  if (z === 0x5a || z === 0x7a) {
    tOffsetMin = 0;
    j++;
  } else if (z === 0x2b || z === 0x2d) {
    const oh = num(s, j + 1, 2);
    if (oh >= 0 && oh <= 23) {
      let k = j + 3;
      let om = 0;
      if (s.charCodeAt(k) === COLON) k++;
      const mm = num(s, k, 2);
      if (mm >= 0 && mm <= 59) {
        om = mm;
        k += 2;
      } else if (k !== j + 3) {
        return -1;
      }
      tOffsetMin = (oh * 60 + om) * (z === 0x2d ? -1 : 1);
      j = k;
    }
  }
  return j;
}

/** The header timestamp at i: returns its end (after an optional trailing colon) or -1. */
function readTimestamp(s: string, i: number): number {
  const c = s.charCodeAt(i);
  let end = isDigit(c) ? readIso(s, i) : readBsd(s, i);
  if (end < 0) return -1;
  if (s.charCodeAt(end) === COLON) end++;
  // The timestamp must be a whole token; `Jan 12 06:30:00x` is text that merely starts like a date.
  return end === s.length || s.charCodeAt(end) === SP ? end : -1;
}

function isHostnameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2e ||
    c === 0x2d ||
    c === 0x5f ||
    c === COLON ||
    c === 0x40
  );
}

export function parseRfc3164Fields(
  s: string,
  start: number,
  priority: number,
  hasPriority: boolean,
  timeZone: string,
  receivedMs: number,
): SyslogFields {
  const n = s.length;
  const fields: SyslogFields = {
    parser: 'rfc3164',
    priority: hasPriority ? priority : DEFAULT_PRIORITY,
    hasPriority,
    timestampMs: undefined,
    timezone: undefined,
    version: undefined,
    hostname: undefined,
    appname: undefined,
    procid: undefined,
    msgid: undefined,
    structuredData: undefined,
    message: '',
    msgPart: '',
  };

  let i = start;
  if (hasPriority) while (s.charCodeAt(i) === SP) i++;
  const headerStart = i;
  // Cisco IOS sequence number `000123: ` before the timestamp.
  let j = i;
  while (isDigit(s.charCodeAt(j)) && j - i <= 10) j++;
  if (j > i && s.charCodeAt(j) === COLON && s.charCodeAt(j + 1) === SP) i = j + 2;
  // Cisco marks an unsynchronized clock with `*` and a lost NTP peer with `.`.
  const mark = s.charCodeAt(i);
  if (mark === 0x2a || mark === 0x2e) i++;

  const tsEnd = readTimestamp(s, i);
  if (tsEnd < 0) {
    if (!hasPriority) {
      // Neither PRI nor a header: the whole line is the message (ECS keeps it verbatim).
      fields.message = s;
      fields.msgPart = s;
      return fields;
    }
    // `<PRI>` without a timestamp (rsyslog "nodate"): there is no reliable hostname, but a tag may follow.
    readTagAndMessage(s, headerStart, fields);
    return fields;
  }

  if (Number.isNaN(tOffsetMin)) {
    fields.timestampMs = tHasYear
      ? localToUtcMs(timeZone, tY, tMo, tD, tH, tMi, tS, tMs)
      : inferYearUtcMs(timeZone, receivedMs, tMo, tD, tH, tMi, tS, tMs);
    if (!Number.isNaN(fields.timestampMs)) fields.timezone = timeZone;
    else fields.timestampMs = undefined;
  } else {
    const offsetMs = tOffsetMin * 60_000;
    fields.timestampMs = tHasYear
      ? utcMs(tY, tMo, tD, tH, tMi, tS, tMs) - offsetMs
      : inferYearUtcMs('UTC', receivedMs + offsetMs, tMo, tD, tH, tMi, tS, tMs) - offsetMs;
    if (Number.isNaN(fields.timestampMs)) fields.timestampMs = undefined;
  }

  i = tsEnd;
  if (i < n) i++; // the SP after the timestamp
  // HOSTNAME: a token of host characters followed by SP or the end; a trailing colon makes it a tag instead.
  let h = i;
  while (h < n && h - i <= MAX_HOSTNAME && isHostnameChar(s.charCodeAt(h))) h++;
  if (
    h > i &&
    h - i <= MAX_HOSTNAME &&
    (h === n || s.charCodeAt(h) === SP) &&
    s.charCodeAt(h - 1) !== COLON
  ) {
    fields.hostname = s.slice(i, h);
    i = h < n ? h + 1 : h;
  }
  readTagAndMessage(s, i, fields);
  return fields;
}

/**
 * TAG is taken only when it ends in `:` or `[pid]` — as go-syslog and RFC 3164 §5.3 examples do — so that
 * `host Some message` keeps its first word in MSG instead of inventing a program name.
 */
function readTagAndMessage(s: string, i: number, fields: SyslogFields): void {
  const n = s.length;
  fields.msgPart = i === 0 ? s : i < n ? s.slice(i) : '';
  let k = i;
  while (k < n && k - i <= MAX_TAG) {
    const c = s.charCodeAt(k);
    if (c <= SP || c === COLON || c === 0x5b || c === 0x5d || c === 0x7f) break;
    k++;
  }
  let msgStart = i;
  if (k > i && k - i <= MAX_TAG) {
    const c = s.charCodeAt(k);
    if (c === COLON) {
      fields.appname = s.slice(i, k);
      msgStart = k + 1;
    } else if (c === 0x5b) {
      const close = s.indexOf(']', k + 1);
      if (close > k + 1 && close - k - 1 <= MAX_PID) {
        const after = s.charCodeAt(close + 1);
        if (after === COLON || after === SP || close + 1 === n) {
          fields.appname = s.slice(i, k);
          fields.procid = s.slice(k + 1, close);
          msgStart = after === COLON ? close + 2 : close + 1;
        }
      }
    }
    if (fields.appname !== undefined && s.charCodeAt(msgStart) === SP) msgStart++;
  }
  fields.message = msgStart === 0 ? s : msgStart < n ? s.slice(msgStart) : '';
}

/** Result slot of readTimestampAt, reused so that payload decoders allocate nothing per call. */
export const lastStamp = { ms: NaN };

/**
 * A BSD or ISO timestamp at i, as the header reader accepts it (for timestamps inside a payload, such as
 * Cisco IOS's own `*Jan  2 00:00:43.167:`). Returns the end index or -1; the time is in `lastStamp.ms`.
 */
export function readTimestampAt(s: string, i: number, timeZone: string, receivedMs: number): number {
  const end = readTimestamp(s, i);
  if (end < 0) return -1;
  if (Number.isNaN(tOffsetMin)) {
    lastStamp.ms = tHasYear
      ? localToUtcMs(timeZone, tY, tMo, tD, tH, tMi, tS, tMs)
      : inferYearUtcMs(timeZone, receivedMs, tMo, tD, tH, tMi, tS, tMs);
  } else {
    const offsetMs = tOffsetMin * 60_000;
    lastStamp.ms = tHasYear
      ? utcMs(tY, tMo, tD, tH, tMi, tS, tMs) - offsetMs
      : inferYearUtcMs('UTC', receivedMs + offsetMs, tMo, tD, tH, tMi, tS, tMs) - offsetMs;
  }
  return end;
}
