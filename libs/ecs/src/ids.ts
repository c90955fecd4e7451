import { createHash } from 'node:crypto';

/**
 * Deterministic identities. Every id is a truncated SHA-256 over length-prefixed parts, so that a replay or
 * a redelivery of the same input yields the same id and JetStream's Nats-Msg-Id dedup, the store's primary
 * key and BullMQ's jobId all collapse it. 128 bits: collisions are not a practical concern.
 */
export function stableId(...parts: ReadonlyArray<string | number | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const buf =
      typeof p === 'string'
        ? Buffer.from(p, 'utf8')
        : typeof p === 'number'
          ? Buffer.from(String(p))
          : Buffer.from(p);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    h.update(len);
    h.update(buf);
  }
  return h.digest('hex').slice(0, 32);
}

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
