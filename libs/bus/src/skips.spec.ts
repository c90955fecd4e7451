import { type DeliveryPosition, type SeqRange, SkipDetector } from './skips';

const first = (streamSeq: number, deliverySeq: number): DeliveryPosition => ({
  streamSeq,
  deliverySeq,
  redelivered: false,
});
const again = (streamSeq: number, deliverySeq: number): DeliveryPosition => ({
  streamSeq,
  deliverySeq,
  redelivered: true,
});

describe('SkipDetector', () => {
  it.each<{ name: string; seed?: [number, number]; seen: DeliveryPosition[]; skips: SeqRange[] }>([
    { name: 'one reader, every sequence', seen: [first(1, 1), first(2, 2), first(3, 3)], skips: [] },
    {
      name: 'one reader, the server moved past 3..5',
      seen: [first(1, 1), first(2, 2), first(6, 3), first(7, 4)],
      skips: [{ from: 3, to: 5 }],
    },
    {
      name: 'two replicas share the durable: the others got 2..4 (both sequences advance alike)',
      seen: [first(1, 1), first(5, 5), first(9, 9)],
      skips: [],
    },
    {
      name: 'redeliveries in between (delivery sequence advances alone) are not skips',
      seen: [first(1, 1), again(1, 2), first(2, 3), first(4, 5)],
      skips: [],
    },
    {
      name: 'a replica sees a skip behind the others’ deliveries',
      seen: [first(10, 10), first(20, 15)],
      skips: [{ from: 11, to: 19 }],
    },
    {
      name: 'a recreated durable (delivery sequence back to 1) makes the whole stretch suspect',
      seen: [first(5, 5), first(9, 1), first(10, 2)],
      skips: [{ from: 6, to: 8 }],
    },
    {
      name: 'seeded from the consumer info at start: a skip right after a restart',
      seed: [100, 100],
      seen: [first(104, 101)],
      skips: [{ from: 101, to: 103 }],
    },
    {
      name: 'seeded, nothing skipped',
      seed: [100, 100],
      seen: [first(101, 101)],
      skips: [],
    },
    { name: 'redeliveries alone say nothing', seen: [again(1, 5), again(9, 6)], skips: [] },
  ])('$name', ({ seed, seen, skips }) => {
    const d = new SkipDetector();
    if (seed) d.seed(...seed);
    expect(seen.map((p) => d.observe(p)).filter((r) => r !== undefined)).toEqual(skips);
  });
});
