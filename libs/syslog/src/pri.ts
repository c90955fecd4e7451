/** `<PRI>` reading shared by every envelope parser. */

export const PRI_ABSENT = -1;
export const PRI_INVALID = -2;

/**
 * Reads `<PRI>` at the start of `s`. Returns `(endIndex << 8) | priority` for a valid PRI (so no object is
 * allocated on the hot path), PRI_INVALID for something that is clearly meant as a PRI but breaks RFC 5424
 * §6.2.1 (over 191, leading zeros, too many digits), and PRI_ABSENT otherwise.
 */
export function readPri(s: string): number {
  if (s.charCodeAt(0) !== 0x3c) return PRI_ABSENT;
  let i = 1;
  let value = 0;
  // Ten digits is far past any PRI; the bound keeps `<123456789012...` from being scanned as one.
  while (i < s.length && i <= 11) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
    i++;
  }
  const digits = i - 1;
  if (digits === 0 || s.charCodeAt(i) !== 0x3e) return PRI_ABSENT;
  if (digits > 3 || value > 191 || (digits > 1 && s.charCodeAt(1) === 0x30)) return PRI_INVALID;
  return ((i + 1) << 8) | value;
}

export function priInvalidReason(s: string): string {
  const close = s.indexOf('>');
  const text = close > 0 ? s.slice(1, Math.min(close, 16)) : s.slice(1, 16);
  return `PRI "${text}" must be 0-191 without leading zeros (RFC 5424 §6.2.1)`;
}
