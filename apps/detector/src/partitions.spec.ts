import { type EcsEvent } from '@citysoc/ecs';
import { loadRulesFromText } from '@citysoc/sigma';
import { CountedSeqs } from './counted';
import { buildEngine } from './engine';
import {
  type CorrelateRecord,
  observeBatch,
  parsePartitionState,
  partitionOf,
  serializePartitionState,
} from './partitions';

const rules = loadRulesFromText(
  `title: fail
name: fail
id: p-base
logsource: { product: citysoc }
detection:
  sel: { message|contains: fail }
  condition: sel
---
title: many fails
id: p-corr
correlation:
  type: event_count
  rules: [fail]
  group-by: [source.ip]
  timespan: 1h
  condition: { gte: 3 }
`,
  'p.yml',
).rules;

const ev = (i: number, ip: string): EcsEvent => ({
  '@timestamp': new Date(Date.parse('2026-11-27T00:00:00Z') + i * 1000).toISOString(),
  message: 'fail',
  event: { id: `e${i}`, created: '2026-11-27T00:00:00Z' },
  source: { ip },
});

describe('correlation partitions', () => {
  it('hash a route key to a stable partition in range', () => {
    expect(partitionOf('["p-corr","10.0.0.1"]', 8)).toBe(partitionOf('["p-corr","10.0.0.1"]', 8));
    for (let i = 0; i < 100; i++) {
      const p = partitionOf(`["p-corr","10.0.0.${i}"]`, 8);
      expect(p >= 0 && p < 8 && Number.isInteger(p)).toBe(true);
    }
  });

  it('owners of disjoint partitions together fire exactly what one engine fires', () => {
    const engine = buildEngine(rules, undefined);
    const events = Array.from({ length: 60 }, (_, i) => ev(i, `10.0.0.${i % 7}`));
    const single = engine.newCorrelator();
    const parts = [0, 1, 2].map((p) => ({ p, c: engine.newCorrelator() }));
    const now = new Date();
    const one: string[] = [];
    const split: string[] = [];
    for (const e of events) {
      const matched = engine.detectWithMatches(e, now, false).matched;
      one.push(...single.observe(e, matched, now).map((a) => a.id));
      for (const { p, c } of parts) {
        split.push(...c.observe(e, matched, now, (k) => partitionOf(k, 3) === p).map((a) => a.id));
      }
    }
    expect(one).toHaveLength(7);
    expect(split.sort()).toEqual(one.sort());
  });

  it('count a record the previous owner left in flight when it is redelivered after newer ones', () => {
    // The partition's state was saved at CORRELATE #10 with two failures from 10.9.9.9 counted. A new
    // owner gets #12 and #13 at once; #11 (the third failure, unacked by the dead owner) comes back after
    // its ack wait. With the old single watermark (13 after the first batch), #11 was skipped and the
    // window stayed one short: the correlation never fired.
    const engine = buildEngine(rules, undefined);
    const now = new Date();
    const rec = (i: number, ip: string): CorrelateRecord => {
      const event = ev(i, ip);
      return { event, matched: engine.detectWithMatches(event, now, false).matched };
    };
    const before = engine.newCorrelator();
    for (const r of [rec(0, '10.9.9.9'), rec(1, '10.9.9.9')])
      expect(before.observe(r.event, r.matched, now)).toEqual([]);
    const saved = serializePartitionState(CountedSeqs.of(10), before.snapshot());

    const { counted: restored, state } = parsePartitionState(saved.toString('utf8'));
    const owner = engine.newCorrelator();
    owner.restore(state);
    const observe = (r: CorrelateRecord) => owner.observe(r.event, r.matched, now);
    const first = observeBatch(restored, [rec(12, '10.1.1.1'), rec(13, '10.1.1.2')], [12, 13], observe);
    expect(first.alerts).toEqual([]);
    const second = observeBatch(first.counted, [rec(11, '10.9.9.9')], [11], observe);
    expect(second.alerts.map((a) => a.rule.id)).toEqual(['p-corr']);
    expect(second.counted.floor).toBe(13);
    // Redelivered again (its ack was lost): counted once.
    expect(observeBatch(second.counted, [rec(11, '10.9.9.9')], [11], observe).alerts).toEqual([]);
  });

  it('read the earlier single-watermark state as a floor', () => {
    const state = buildEngine(rules, undefined).newCorrelator().snapshot();
    const { counted } = parsePartitionState(JSON.stringify({ upTo: 7, state }));
    expect([7, 8].map((s) => counted.has(s))).toEqual([true, false]);
  });

  it('keep the alerts a batch fired in the saved state until they are published (write-ahead outbox)', () => {
    const engine = buildEngine(rules, undefined);
    const now = new Date();
    const rec = (i: number, ip: string): CorrelateRecord => {
      const event = ev(i, ip);
      return { event, matched: engine.detectWithMatches(event, now, false).matched };
    };
    const correlator = engine.newCorrelator();
    const fired = observeBatch(
      CountedSeqs.of(),
      Array.from({ length: 5 }, (_, i) => rec(i + 1, '10.9.9.9')),
      [1, 2, 3, 4, 5],
      (r) => correlator.observe(r.event, r.matched, now),
    );
    expect(fired.alerts.length).toBeGreaterThan(0);
    const saved = serializePartitionState(fired.counted, correlator.snapshot(), fired.alerts);
    const restored = parsePartitionState(saved.toString('utf8'));
    expect(restored.pending.map((a) => a.id)).toEqual(fired.alerts.map((a) => a.id));
    // States saved before the outbox existed have nothing pending.
    expect(parsePartitionState(JSON.stringify({ upTo: 7, state: correlator.snapshot() })).pending).toEqual(
      [],
    );
  });
});
