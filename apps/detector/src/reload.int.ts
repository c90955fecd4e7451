import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { busNames, combineRuleStats, RULE_STATS_BUCKET } from '@citysoc/bus';
import { loadConfig } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { cleanupStreams, freePort, readStream, uniquePrefix, waitFor } from '@citysoc/testing';
import { detectorSchema } from './config';
import { DetectorModule } from './detector.module';
import { DetectorService, reloadSubject } from './detector.service';
import { type ReloadStatus } from './rule-set';

const rule = (id: string, word: string) => `title: contains ${word}
id: ${id}
status: stable
logsource:
  product: citysoc
detection:
  sel:
    message|contains: ${word}
  condition: sel
level: low
`;
const RULE_A = '7a1d2a3c-0000-4000-8000-00000000000a';
const RULE_B = '7a1d2a3c-0000-4000-8000-00000000000b';

/** Hot reload: a broken file keeps the previous set running and is reported; a good change is applied. */
describe('detector rule reload', () => {
  const prefix = uniquePrefix();
  const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-reload-'));
  writeFileSync(path.join(rulesDir, 'a.yml'), rule(RULE_A, 'alpha'));
  let metricsPort = 0;
  const config = () =>
    loadConfig(detectorSchema, {
      CITYSOC_STREAM_PREFIX: prefix,
      CITYSOC_BUILTIN_RULES: rulesDir,
      CITYSOC_DETECTOR_METRICS_PORT: String(metricsPort),
      CITYSOC_DETECTOR_RELOAD_DEBOUNCE_MS: '50',
      CITYSOC_DETECTOR_RULE_STATS_SECONDS: '1',
      ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
    });
  let app: INestApplicationContext | undefined;
  let nc: NatsConnection | undefined;
  let n = 0;
  // Once (under a load average of 9) this test hit jest's timeout with no step named; the last step
  // reached is printed when it does not finish, so the next occurrence says where it stalled.
  let reached = 'start';
  const step = (name: string) => {
    reached = name;
  };

  afterAll(async () => {
    if (reached !== 'done') process.stderr.write(`reload.int: the test stopped at step "${reached}"\n`);
    await nc?.close();
    await app?.close();
    await cleanupStreams(prefix);
    rmSync(rulesDir, { recursive: true, force: true });
  });

  const publish = async (message: string): Promise<string> => {
    const id = `reload-ev-${++n}`;
    const e: EcsEvent = {
      '@timestamp': new Date(Date.parse('2026-11-27T03:00:00Z') + n * 1000).toISOString(),
      message,
      event: { id, created: new Date().toISOString(), module: 'syslog' },
    };
    await nc!
      .jetstream()
      .publish(`${prefix}events.syslog.tcp`, Buffer.from(JSON.stringify(e)), { msgID: id });
    return id;
  };
  const alertsFor = (eventId: string) =>
    waitFor(async () => {
      const info = await (
        await nc!.jetstreamManager()
      ).consumers.info(`${prefix}EVENTS`, `${prefix}detector`);
      if (info.num_pending > 0 || info.num_ack_pending > 0) return undefined;
      const all = (await readStream(`${prefix}ALERTS`)).map(
        (m) => JSON.parse(Buffer.from(m.data).toString()) as Alert,
      );
      return all.filter((a) => a.event_ids.includes(eventId)).map((a) => a.rule.id);
    }, `event ${eventId} processed`);
  const reloadCommand = async (): Promise<ReloadStatus> => {
    const reply = await nc!.request(reloadSubject(config()), new Uint8Array(), { timeout: 20_000 });
    return JSON.parse(Buffer.from(reply.data).toString()) as ReloadStatus;
  };

  it('keeps the previous set on a broken file, reports it, and applies the fix', async () => {
    metricsPort = await freePort();
    step('starting the detector');
    app = await NestFactory.createApplicationContext(DetectorModule.register(config()), { logger: false });
    await app.init();
    const svc = app.get(DetectorService);
    nc = await connect({ servers: config().natsUrl });
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();

    step('first alert');
    expect(await alertsFor(await publish('alpha one'))).toEqual([RULE_A]);

    // A broken file: the file watcher reloads, rejects it, and the status says where the problem is.
    step('watcher rejects the broken file');
    writeFileSync(path.join(rulesDir, 'b.yml'), 'title: broken\ndetection: [unclosed\n');
    const watched = await waitFor(
      () => (svc.status.trigger === 'watch' && !svc.status.ok ? svc.status : undefined),
      'the watcher to reject the broken file',
    );
    expect(watched.errors.join('\n')).toContain(`${path.join(rulesDir, 'b.yml')}:`);
    expect(watched.rules).toBe(1);
    // The reload command says the same, and the previous set still detects.
    step('reload command on the broken set');
    const cmd = await reloadCommand();
    expect(cmd.ok).toBe(false);
    expect(cmd.trigger).toBe('command');
    expect(cmd.errors.some((e) => /b\.yml:\d+: \S/.test(e))).toBe(true);
    step('the previous set still detects');
    expect(await alertsFor(await publish('alpha two'))).toEqual([RULE_A]);
    const rejected = await metrics();
    expect(rejected).toMatch(/^citysoc_detector_rule_reload_ok\{[^}]*\} 0$/m);
    expect(rejected).toMatch(
      /^citysoc_detector_rule_reloads_total\{[^}]*result="rejected",trigger="command"[^}]*\} 1$/m,
    );
    // Per-rule cost of the running rule: two evaluations, two matches.
    expect(rejected).toMatch(
      new RegExp(`^citysoc_detector_rule_matches\\{[^}]*rule_id="${RULE_A}"[^}]*\\} 2$`, 'm'),
    );

    // The same counters reach the rule-stats KV bucket the console reads.
    step('rule stats in KV');
    const kv = await nc.jetstream().views.kv(busNames(prefix).durable(RULE_STATS_BUCKET));
    await waitFor(async () => {
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      const snaps = await Promise.all(keys.map(async (k) => (await kv.get(k))?.json<unknown>()));
      return combineRuleStats(snaps, Date.now()).rules.get(RULE_A)?.matches === 2;
    }, 'rule A with two matches in the rule-stats bucket');

    // The fix is applied: both rules run.
    writeFileSync(path.join(rulesDir, 'b.yml'), rule(RULE_B, 'bravo'));
    step('reload command on the fixed set');
    const fixed = await reloadCommand();
    expect(fixed).toMatchObject({ ok: true, rules: 2, errors: [] });
    step('both rules detect');
    expect(await alertsFor(await publish('alpha bravo'))).toEqual([RULE_A, RULE_B]);
    step('done');
  }, 90_000);
});
