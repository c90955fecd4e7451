import dgram from 'node:dgram';
import { kernelUdpDrops, parseUdpDrops } from './proc-net-udp';

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  12: 00000000:1582 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  13: 0100007F:0801 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 5
  14: 00000000:1582 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4244 2 0000000000000000 3
`;

describe('kernel UDP drop counters', () => {
  it('sums the drops column of every socket bound to the port', () => {
    expect(parseUdpDrops(TABLE, 5506)).toBe(20);
    expect(parseUdpDrops(TABLE, 2049)).toBe(5);
    expect(parseUdpDrops(TABLE, 9999)).toBe(0);
  });

  it('finds a live socket of ours in /proc (zero drops while idle)', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    try {
      expect(kernelUdpDrops(s.address().port)).toBe(0);
    } finally {
      s.close();
    }
  });
});
