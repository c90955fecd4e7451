import { BeaconTracker, beaconScore } from './beacon';
import { Prng } from './prng';

const T0 = Date.UTC(2026, 10, 27, 2);

function series(n: number, every: number, jitter: number, bytes: () => number, rng: Prng) {
  return Array.from({ length: n }, (_, i) => ({
    startMs: T0 + i * every + Math.round((rng.next() * 2 - 1) * jitter * every),
    bytes: bytes(),
  }));
}

describe('beaconScore', () => {
  it.each([
    ['60 s ±10 %, 600-900 bytes', 70, 60_000, 0.1, [600, 900], true, undefined],
    ['too few connections', 30, 60_000, 0.1, [600, 900], false, 'too-few'],
    ['irregular browsing (±90 %)', 80, 45_000, 0.9, [600, 900], false, 'irregular'],
    ['regular but very different sizes', 70, 60_000, 0.05, [500, 600_000], false, 'varied-size'],
    ['every 2 s (streaming)', 200, 2_000, 0.05, [600, 700], false, 'too-fast'],
  ] as const)('%s', (_n, count, every, jitter, [lo, hi], beacon, reason) => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Prng(seed);
      const v = beaconScore(series(count, every, jitter, () => rng.int(lo, hi), rng));
      expect([v.beacon, v.reason]).toEqual([beacon, reason]);
    }
  });

  it('a beacon with missed beats (sleeping PC) is still a beacon', () => {
    const rng = new Prng(3);
    const s = series(90, 60_000, 0.05, () => rng.int(700, 800), rng).filter((_, i) => i % 7 !== 3);
    const v = beaconScore(s);
    expect(v.beacon).toBe(true);
    expect(v.meanIntervalMs).toBeGreaterThan(55_000);
    expect(v.meanIntervalMs).toBeLessThan(65_000);
  });
});

describe('BeaconTracker', () => {
  it('flags a pair once, keeps pairs apart and bounds memory', () => {
    const t = new BeaconTracker(undefined, 100, 2);
    const rng = new Prng(9);
    const verdicts: string[] = [];
    for (let i = 0; i < 80; i++) {
      const at = T0 + i * 60_000 + rng.int(-3000, 3000);
      if (t.observe('10.40.2.33', '203.0.113.66', 443, at, rng.int(600, 900))) verdicts.push(`beacon@${i}`);
      t.observe('10.40.2.34', '203.0.113.80', 443, T0 + rng.int(0, 3_600_000), rng.int(5000, 600_000));
    }
    expect(verdicts).toEqual(['beacon@59']);
    t.observe('10.1.1.1', '10.2.2.2', 443, T0, 1);
    expect(t.size).toBe(2);
  });
});
