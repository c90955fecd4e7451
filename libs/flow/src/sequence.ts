import type { MessageInfo } from './types';

export interface SequenceGap {
  exporter: string;
  version: number;
  domain: number;
  expected: number;
  got: number;
  /** Estimated records (v5, IPFIX) or packets (v9) lost; negative = reordering or exporter restart. */
  missing: number;
}

/**
 * Loss accounting per exporter and domain from header sequence numbers. The unit differs per version:
 * v5 counts flows, v9 counts export packets, IPFIX counts data records (RFC 7011 §3.1), so `missing` is in
 * that unit. IPFIX messages with held sets are not counted exactly (their records are not known yet), so
 * the next expectation is dropped rather than guessed.
 */
export class SequenceTracker {
  private readonly next = new Map<string, number>();

  observe(exporter: string, m: MessageInfo): SequenceGap | undefined {
    const key = `${exporter}|${m.version}|${m.domain}`;
    const expected = this.next.get(key);
    const step = m.version === 9 ? 1 : m.records;
    if (m.version === 10 && m.held > 0) this.next.delete(key);
    else this.next.set(key, (m.sequence + step) >>> 0);
    if (expected === undefined || expected === m.sequence) return undefined;
    const missing = (m.sequence - expected) | 0;
    return { exporter, version: m.version, domain: m.domain, expected, got: m.sequence, missing };
  }
}
