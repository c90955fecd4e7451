import { openBus, type Bus } from '@citysoc/bus';
import { drillRunRecord, testBusSettings, uniquePrefix } from '@citysoc/testing';
import { connect } from 'nats';
import { DrillRunRegistry, type DrillRunRecord } from './registry';
import { isDrillRecord } from './tagging';

const prefix = uniquePrefix();
let bus: Bus;

beforeAll(async () => {
  bus = await openBus(testBusSettings(prefix), 'drills-test');
});
afterAll(async () => {
  await bus.close();
  const nc = await connect({ servers: process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222' });
  const jsm = await nc.jetstreamManager();
  for await (const s of jsm.streams.names())
    if (s.startsWith(prefix) || s.startsWith(`KV_${prefix}`)) await jsm.streams.delete(s);
  await nc.close();
});

const run = (runId: string, port: number): DrillRunRecord =>
  drillRunRecord({
    runId,
    scenario: 'ssh-bruteforce-ward',
    syslog: [{ transport: 'udp', address: '127.0.0.1', port }],
    exporters: [{ address: '127.0.0.77', domain: port }],
  });

describe('DrillRunRegistry on a real NATS KV bucket', () => {
  it('registers, refuses duplicates and overlapping allocations, lists active runs, finishes', async () => {
    const reg = await DrillRunRegistry.open(bus);
    await reg.register(run('d-REG01', 41001));
    await expect(reg.register(run('d-REG01', 41009))).rejects.toThrow('already registered');
    await expect(reg.register(run('d-REG02', 41001))).rejects.toThrow('overlaps active run d-REG01');
    await reg.register(run('d-REG03', 41003));
    const active = await reg.active();
    expect(active.map((r) => r.runId)).toEqual(['d-REG01', 'd-REG03']);
    expect(isDrillRecord(active, { transport: 'udp', address: '127.0.0.1', port: 41003 }, new Date())).toBe(
      'd-REG03',
    );

    const done = await reg.finish('d-REG01', 'aborted');
    expect(done.status).toBe('aborted');
    expect(Date.parse(done.window.end)).toBeLessThanOrEqual(Date.now());
    expect((await reg.active()).map((r) => r.runId)).toEqual(['d-REG03']);
    expect((await reg.get('d-REG01'))?.status).toBe('aborted');
    // Its sender is free again once it stopped running.
    await reg.register(run('d-REG04', 41001));
    await expect(reg.finish('d-NOPE1', 'finished')).rejects.toThrow('no drill run');
  });
});
