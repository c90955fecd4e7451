import { daysInMonth, utcMs } from './time';
import { failure, type ParseFailure, type StructuredData, type SyslogFields } from './types';

/**
 * RFC 5424 envelope, strict: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`
 * read with indexes (no regular expressions) from `start`, the index just after `<PRI>`.
 */

const SP = 0x20;
const NIL = 0x2d;

export type Rfc5424Result = { ok: true; fields: SyslogFields } | ParseFailure;

/** Cheap test used by the format detector: `VERSION SP` then a timestamp or NILVALUE. */
export function looksLikeRfc5424(s: string, start: number): boolean {
  let i = start;
  // VERSION 0 is accepted here so that the strict parser reports it instead of it becoming BSD text.
  if (!isDigit(s.charCodeAt(i))) return false;
  i++;
  while (i < s.length && i - start < 4 && isDigit(s.charCodeAt(i))) i++;
  if (i - start > 3 || s.charCodeAt(i) !== SP) return false;
  const next = s.charCodeAt(i + 1);
  return next === NIL || isDigit(next);
}

/**
 * `lenientSd` keeps a frame whose STRUCTURED-DATA is not RFC 5424 (Check Point's `[key:"value"; …]`) as
 * header + MSG starting at the `[`, so a payload decoder can still claim it; parse.ts only keeps that result
 * when a decoder does, so strict verdicts stand for everything else.
 */
export function parseRfc5424Fields(
  s: string,
  start: number,
  priority: number,
  lenientSd = false,
): Rfc5424Result {
  const n = s.length;
  let i = start;
  // VERSION = NONZERO-DIGIT 0*2DIGIT
  let version = 0;
  while (i < n && isDigit(s.charCodeAt(i)) && i - start < 4) {
    version = version * 10 + (s.charCodeAt(i) - 0x30);
    i++;
  }
  const vlen = i - start;
  if (vlen === 0 || vlen > 3 || s.charCodeAt(start) === 0x30) {
    return failure('invalid_version', `VERSION at col ${start} must be 1-999`);
  }
  if (i >= n || s.charCodeAt(i) !== SP)
    return failure('invalid_header', `expected SP after VERSION at col ${i}`);
  i++;

  // TIMESTAMP
  let timestampMs: number | undefined;
  if (s.charCodeAt(i) === NIL) {
    i++;
  } else {
    const end = parseRfc3339Strict(s, i);
    if (end < 0) return failure('invalid_timestamp', `TIMESTAMP at col ${i}: ${tsError}`);
    timestampMs = tsMs;
    i = end;
  }
  if (i >= n || s.charCodeAt(i) !== SP)
    return failure('invalid_header', `expected SP after TIMESTAMP at col ${i}`);
  i++;

  let end = headerField(s, i, 255);
  if (end < 0)
    return failure('invalid_hostname', `HOSTNAME at col ${i} must be "-" or 1-255 printable US-ASCII`);
  const hostname = nilOrSlice(s, i, end);
  i = end + 1;
  end = headerField(s, i, 48);
  if (end < 0)
    return failure('invalid_appname', `APP-NAME at col ${i} must be "-" or 1-48 printable US-ASCII`);
  const appname = nilOrSlice(s, i, end);
  i = end + 1;
  end = headerField(s, i, 128);
  if (end < 0) return failure('invalid_procid', `PROCID at col ${i} must be "-" or 1-128 printable US-ASCII`);
  const procid = nilOrSlice(s, i, end);
  i = end + 1;
  end = headerField(s, i, 32);
  if (end < 0) return failure('invalid_msgid', `MSGID at col ${i} must be "-" or 1-32 printable US-ASCII`);
  const msgid = nilOrSlice(s, i, end);
  i = end + 1;

  // STRUCTURED-DATA
  let structuredData: StructuredData | undefined;
  let sdProblem: string | undefined;
  if (s.charCodeAt(i) === NIL) {
    i++;
  } else if (s.charCodeAt(i) === 0x5b) {
    sdError = '';
    const sd: StructuredData = {};
    const sdEnd = parseStructuredData(s, i, sd);
    if (sdEnd >= 0) {
      structuredData = sd;
      i = sdEnd;
    } else if (lenientSd) {
      sdProblem = sdError;
      i--; // MSG starts at the `[`; the loop below expects the SP before it
    } else {
      return failure('invalid_structured_data', sdError);
    }
  } else if (lenientSd) {
    sdProblem = 'not structured data';
    i--;
  } else {
    return failure('invalid_structured_data', `STRUCTURED-DATA at col ${i} must be "-" or start with "["`);
  }

  let message = '';
  if (i < n) {
    if (s.charCodeAt(i) !== SP) return failure('invalid_header', `expected SP before MSG at col ${i}`);
    i++;
    // A UTF-8 BOM announces MSG-UTF8 (RFC 5424 §6.4); it is a marker, not content.
    if (s.charCodeAt(i) === 0xfeff) i++;
    message = i < n ? s.slice(i) : '';
  }
  return {
    ok: true,
    fields: {
      parser: 'rfc5424',
      priority,
      hasPriority: true,
      timestampMs,
      timezone: undefined,
      version,
      hostname,
      appname,
      procid,
      msgid,
      structuredData,
      message,
      msgPart: message,
      ...(sdProblem === undefined ? {} : { structuredDataError: sdProblem }),
    },
  };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** End index of a 1..max PRINTUSASCII field that must be followed by SP, or -1. */
function headerField(s: string, i: number, max: number): number {
  let j = i;
  const n = s.length;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c < 0x21 || c > 0x7e) break;
    j++;
  }
  const len = j - i;
  if (len === 0 || len > max || j >= n || s.charCodeAt(j) !== SP) return -1;
  return j;
}

function nilOrSlice(s: string, i: number, end: number): string | undefined {
  return end - i === 1 && s.charCodeAt(i) === NIL ? undefined : s.slice(i, end);
}

// Scratch results of the timestamp reader, kept at module level so the hot path allocates nothing.
let tsMs = 0;
let tsError = '';

function digits(s: string, i: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const c = s.charCodeAt(i + k);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/**
 * RFC 5424 §6.2.3 TIMESTAMP: FULL-DATE "T" FULL-TIME with at most 6 fraction digits and an upper-case `T`/`Z`.
 * Returns the end index (tsMs set) or -1 (tsError set).
 */
function parseRfc3339Strict(s: string, i: number): number {
  const y = digits(s, i, 4);
  if (y < 0 || s.charCodeAt(i + 4) !== 0x2d) return tsFail('expected YYYY-');
  const mo = digits(s, i + 5, 2);
  if (mo < 1 || mo > 12 || s.charCodeAt(i + 7) !== 0x2d) return tsFail('month must be 01-12');
  const d = digits(s, i + 8, 2);
  if (d < 1 || d > daysInMonth(y, mo)) return tsFail('day out of range for the month');
  if (s.charCodeAt(i + 10) !== 0x54) return tsFail('expected upper-case "T" between date and time');
  const h = digits(s, i + 11, 2);
  if (h < 0 || h > 23 || s.charCodeAt(i + 13) !== 0x3a) return tsFail('hour must be 00-23');
  const mi = digits(s, i + 14, 2);
  if (mi < 0 || mi > 59 || s.charCodeAt(i + 16) !== 0x3a) return tsFail('minute must be 00-59');
  const sec = digits(s, i + 17, 2);
  if (sec < 0 || sec > 59) return tsFail('second must be 00-59');
  let j = i + 19;
  let ms = 0;
  if (s.charCodeAt(j) === 0x2e) {
    j++;
    const fracStart = j;
    while (isDigit(s.charCodeAt(j))) {
      const place = j - fracStart;
      if (place < 3) ms += (s.charCodeAt(j) - 0x30) * (place === 0 ? 100 : place === 1 ? 10 : 1);
      j++;
    }
    const flen = j - fracStart;
    if (flen === 0 || flen > 6) return tsFail('TIME-SECFRAC must have 1-6 digits');
  }
  let offsetMin = 0;
  const z = s.charCodeAt(j);
  if (z === 0x5a) {
    j++;
  } else if (z === 0x2b || z === 0x2d) {
    const oh = digits(s, j + 1, 2);
    const om = digits(s, j + 4, 2);
    if (oh < 0 || oh > 23 || s.charCodeAt(j + 3) !== 0x3a || om < 0 || om > 59) {
      return tsFail('offset must be Z or +hh:mm with hh 00-23 and mm 00-59');
    }
    offsetMin = (oh * 60 + om) * (z === 0x2d ? -1 : 1);
    j += 6;
  } else {
    return tsFail('expected upper-case "Z" or a numeric offset');
  }
  tsMs = utcMs(y, mo, d, h, mi, sec, ms) - offsetMin * 60_000;
  return j;
}

function tsFail(reason: string): number {
  tsError = reason;
  return -1;
}

let sdError = '';

function sdFail(reason: string, col: number): number {
  sdError = `${reason} at col ${col}`;
  return -1;
}

/** SD-NAME: 1-32 PRINTUSASCII except `=`, SP, `]` and `"`. Returns the end index (exclusive). */
function sdName(s: string, i: number): number {
  let j = i;
  const n = s.length;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c < 0x21 || c > 0x7e || c === 0x3d || c === 0x5d || c === 0x22) break;
    j++;
  }
  return j - i >= 1 && j - i <= 32 ? j : -1;
}

/** Assigns without ever touching a prototype, even for keys such as `__proto__` that come from the wire. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** One or more SD-ELEMENTs from `i` (at `[`) into `out`; returns the end index or -1 (sdError set). */
function parseStructuredData(s: string, i: number, out: StructuredData): number {
  const n = s.length;
  while (i < n && s.charCodeAt(i) === 0x5b) {
    const idStart = i + 1;
    const idEnd = sdName(s, idStart);
    if (idEnd < 0) return sdFail('SD-ID must be 1-32 printable US-ASCII except = SP ] "', idStart);
    const id = s.slice(idStart, idEnd);
    if (Object.hasOwn(out, id)) return sdFail(`duplicate SD-ID "${id}"`, idStart);
    const params: Record<string, string | string[]> = {};
    setOwn(out, id, params);
    i = idEnd;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x5d) {
        i++;
        break;
      }
      if (c !== SP) return sdFail('expected SP or "]" in SD-ELEMENT', i);
      const nameStart = i + 1;
      const nameEnd = sdName(s, nameStart);
      if (nameEnd < 0) return sdFail('PARAM-NAME must be 1-32 printable US-ASCII except = SP ] "', nameStart);
      if (s.charCodeAt(nameEnd) !== 0x3d || s.charCodeAt(nameEnd + 1) !== 0x22) {
        return sdFail('expected =" after PARAM-NAME', nameEnd);
      }
      // PARAM-VALUE: `"`, `\` and `]` must be escaped; a backslash before any other character is refused,
      // as go-syslog does, since it would make the value ambiguous to re-encode.
      let j = nameEnd + 2;
      const valueStart = j;
      let escaped = false;
      for (;;) {
        if (j >= n) return sdFail('unterminated PARAM-VALUE', valueStart);
        const v = s.charCodeAt(j);
        if (v === 0x22) break;
        if (v === 0x5d) return sdFail('"]" must be escaped in PARAM-VALUE', j);
        if (v === 0x5c) {
          const e = s.charCodeAt(j + 1);
          if (e !== 0x22 && e !== 0x5c && e !== 0x5d)
            return sdFail('only \\" \\\\ \\] escapes are allowed in PARAM-VALUE', j);
          escaped = true;
          j += 2;
        } else {
          j++;
        }
      }
      const value = escaped ? unescapeParam(s, valueStart, j) : s.slice(valueStart, j);
      const name = s.slice(nameStart, nameEnd);
      if (Object.hasOwn(params, name)) {
        const prev = params[name]!;
        if (Array.isArray(prev)) prev.push(value);
        else setOwn(params, name, [prev, value]);
      } else {
        setOwn(params, name, value);
      }
      i = j + 1;
    }
  }
  return i;
}

function unescapeParam(s: string, start: number, end: number): string {
  let out = '';
  let from = start;
  for (let j = start; j < end; j++) {
    if (s.charCodeAt(j) === 0x5c) {
      out += s.slice(from, j);
      from = j + 1;
      j++;
    }
  }
  return out + s.slice(from, end);
}
