import crypto from 'node:crypto';

/**
 * Deterministic identities. Every id is a truncated SHA-256 over length-prefixed parts, so that a replay or
 * a redelivery of the same input yields the same id and JetStream's Nats-Msg-Id dedup, the store's primary
 * key and BullMQ's jobId all collapse it. 128 bits: collisions are not a practical concern.
 */
export function stableId(...parts: ReadonlyArray<string | number | Uint8Array>): string {
  // One buffer and one-shot hashing: the collector computes this for every message, and a Hash object plus
  // a 4-byte Buffer per part cost more than the digest itself. The bytes hashed are unchanged.
  const bufs = parts.map((p) =>
    typeof p === 'string' ? Buffer.from(p, 'utf8') : typeof p === 'number' ? Buffer.from(String(p)) : p,
  );
  let size = 0;
  for (const b of bufs) size += 4 + b.length;
  const all = Buffer.allocUnsafe(size);
  let off = 0;
  for (const b of bufs) {
    off = all.writeUInt32BE(b.length, off);
    all.set(b, off);
    off += b.length;
  }
  // The first 16 bytes hex-encoded: the same text as slicing the 64-character hex digest, but a flat string
  // (a slice would keep the whole digest alive as long as the id, e.g. in the collector's occurrence map).
  return sha256(all).toString('hex', 0, 16);
}

/** crypto.hash (Node ≥ 20.12) skips the Hash object; older runtimes take the streaming API. */
const sha256: (data: Buffer) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

/**
 * event.id: the sender's address, the exact frame bytes, and the ordinal of that identical frame among
 * recent ones from the same sender. A sender that retransmits after a collector restart reproduces the same
 * ids, while two genuinely repeated identical lines still get distinct ids.
 */
export function eventId(senderIp: string, raw: Uint8Array, occurrence = 0): string {
  return occurrence === 0 ? stableId('ev', senderIp, raw) : stableId('ev', senderIp, raw, occurrence);
}

/** Alert id for a single-event rule: hash(rule id, rule version, event id). */
export function alertId(ruleId: string, ruleVersion: string, eventIdValue: string): string {
  return stableId('al', ruleId, ruleVersion, eventIdValue);
}

/** Alert id for a correlation: hash(rule id, group key, window start). */
export function correlationAlertId(ruleId: string, groupKey: string, windowStartMs: number): string {
  return stableId('ac', ruleId, groupKey, windowStartMs);
}
