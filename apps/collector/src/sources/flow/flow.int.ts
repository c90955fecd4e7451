import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Database from 'better-sqlite3';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { loadConfig } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { decodeDatagram, flowToEcs, MemoryTemplateCache } from '@citysoc/flow';
import { cleanupStreams, corpusDir, readStream, sendUdp, uniquePrefix, waitFor } from '@citysoc/testing';
import { DetectorModule } from '../../../../detector/src/detector.module';
import { detectorSchema } from '../../../../detector/src/config';
import { IndexerModule } from '../../../../indexer/src/indexer.module';
import { indexerSchema } from '../../../../indexer/src/config';
import { CollectorModule } from '../../collector.module';
import { CollectorService } from '../../collector.service';
import { FlowSource } from './flow.source';
import { collectorSchema } from '../../config';

// No size cap: a capped EVENTS stream reserves its cap on the shared server, and parallel tests ran it out.
const natsEnv = {
  CITYSOC_EVENTS_MAX_BYTES: '-1',
  ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
};

async function startCollector(
  prefix: string,
  env: Record<string, string> = {},
): Promise<{ app: INestApplicationContext; svc: CollectorService }> {
  const config = loadConfig(collectorSchema, {
    CITYSOC_STREAM_PREFIX: prefix,
    CITYSOC_SYSLOG_UDP_PORT: '-1',
    CITYSOC_SYSLOG_TCP_PORT: '-1',
    CITYSOC_COLLECTOR_METRICS_PORT: '-1',
    CITYSOC_FLOW_HOST: '127.0.0.1',
    CITYSOC_FLOW_NETFLOW_PORT: '0',
    CITYSOC_FLOW_IPFIX_PORT: '0',
    ...natsEnv,
    ...env,
  });
  const app = await NestFactory.createApplicationContext(CollectorModule.register(config), { logger: false });
  await app.init();
  return { app, svc: app.get(CollectorService) };
}

/** Every flow event on EVENTS (batches flattened), in stream order. */
async function flowEvents(prefix: string): Promise<EcsEvent[]> {
  const msgs = await readStream(`${prefix}EVENTS`);
  return msgs.flatMap((m) => {
    const v = JSON.parse(Buffer.from(m.data).toString('utf8')) as EcsEvent | EcsEvent[];
    return Array.isArray(v) ? v : [v];
  });
}

async function templateKeys(prefix: string): Promise<string[]> {
  const nc = await connect({ servers: process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222' });
  try {
    const kv = await nc.jetstream().views.kv(`${prefix}flow-templates`);
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    return keys.sort();
  } finally {
    await nc.close();
  }
}

/** What the decoder alone makes of the files, fed in order from one exporter: the ids the pipeline must store. */
function expectedIds(files: string[], exporter = '127.0.0.1'): string[] {
  const cache = new MemoryTemplateCache();
  const receivedAt = new Date();
  return files.flatMap((f) =>
    decodeDatagram(readFileSync(f), { exporter, receivedAt }, cache).records.map(
      (r) => flowToEcs(r, { receivedAt }).event.id,
    ),
  );
}

const corpus = corpusDir();
const describeCorpus = corpus ? describe : describe.skip;
if (!corpus) console.warn('corpus not found: flow source integration tests skipped');
const dat = (f: string) => path.join(corpus ?? '', 'flow', 'logstash-codec-netflow', 'dat', f);

describeCorpus('flow source on real UDP sockets and real NATS (JetStream + KV)', () => {
  const prefix = uniquePrefix();
  afterAll(async () => {
    await cleanupStreams(prefix);
  });

  it('keeps templates across a collector restart: data sent after the restart loses no record', async () => {
    const tpl = dat('ipfix_test_openbsd_pflow_tpl.dat');
    const data = dat('ipfix_test_openbsd_pflow_data.dat');
    const first = await startCollector(prefix);
    await sendUdp(first.svc.ports.ipfix!, [readFileSync(tpl)]);
    const keys = await waitFor(async () => {
      const k = await templateKeys(prefix);
      return k.some((x) => x.startsWith('t.10.')) && k;
    }, 'the template in NATS KV');
    expect(keys.every((k) => k.endsWith('.127_0_0_1'))).toBe(true);
    await first.app.close();

    const second = await startCollector(prefix);
    try {
      await sendUdp(second.svc.ports.ipfix!, [readFileSync(data)]);
      const want = expectedIds([tpl, data]);
      expect(want).toHaveLength(26);
      const got = await waitFor(async () => {
        const ev = await flowEvents(prefix);
        return ev.length >= want.length && ev;
      }, '26 IPFIX records on EVENTS');
      expect(got.map((e) => e.event.id).sort()).toEqual([...want].sort());
      const msgs = await readStream(`${prefix}EVENTS`);
      // One datagram with data: one JetStream message, on events.flow.<version>.
      expect(msgs.map((m) => m.subject)).toEqual([`${prefix}events.flow.10`]);
      expect(got[0]).toMatchObject({
        event: { kind: 'event', category: ['network'], dataset: 'flow' },
        observer: { ip: ['127.0.0.1'] },
        citysoc: { parser: 'ipfix' },
      });
    } finally {
      await second.app.close();
    }
  });

  it('shares templates between replicas: data held by one collector is decoded when another stores its template', async () => {
    const p = uniquePrefix();
    const a = await startCollector(p);
    const b = await startCollector(p, { CITYSOC_COLLECTOR_METRICS_PORT: '0' });
    try {
      const tpl = dat('netflow9_test_cisco_asa_1_tpl.dat');
      const data = dat('netflow9_test_cisco_asa_1_data.dat');
      // The load-balancer case: the data reaches B before its template reaches A. B holds it; A stores the
      // template in KV; B's watch learns it and decodes what it held.
      await sendUdp(b.svc.ports.netflow!, [readFileSync(data)]);
      await waitFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${b.svc.ports.metrics}/metrics`)).text();
        return /citysoc_flow_pending\{[^}]*what="sets"[^}]*\} [1-9]/.test(text);
      }, 'replica B to hold the data');
      await sendUdp(a.svc.ports.netflow!, [readFileSync(tpl)]);
      const want = expectedIds([tpl, data]);
      const got = await waitFor(async () => {
        const ev = await flowEvents(p);
        return ev.length >= want.length && ev;
      }, "replica B to decode its held data with replica A's template");
      expect(got.map((e) => e.event.id).sort()).toEqual([...want].sort());
      expect((await templateKeys(p)).filter((k) => k.startsWith('t.9.')).length).toBeGreaterThan(0);
    } finally {
      await a.app.close();
      await b.app.close();
      await cleanupStreams(p);
    }
  });

  it('holds data that comes before its template and decodes it when the template arrives', async () => {
    const p = uniquePrefix();
    const { app, svc } = await startCollector(p);
    try {
      const tpl = dat('netflow9_test_cisco_asa_1_tpl.dat');
      const data = dat('netflow9_test_cisco_asa_1_data.dat');
      await sendUdp(svc.ports.netflow!, [readFileSync(data)]);
      await sendUdp(svc.ports.netflow!, [readFileSync(tpl)]);
      const want = expectedIds([tpl, data]);
      expect(want.length).toBeGreaterThan(0);
      const got = await waitFor(async () => {
        const ev = await flowEvents(p);
        return ev.length >= want.length && ev;
      }, 'the held records on EVENTS');
      expect(got.map((e) => e.event.id).sort()).toEqual([...want].sort());
    } finally {
      await app.close();
      await cleanupStreams(p);
    }
  });

  it('dead-letters malformed datagrams and data whose template never comes, with their raw bytes', async () => {
    const p = uniquePrefix();
    const { app, svc } = await startCollector(p, { CITYSOC_FLOW_PENDING_SECONDS: '1' });
    try {
      const garbage = Buffer.from('0007deadbeef0000', 'hex');
      const orphan = readFileSync(dat('netflow9_test_cisco_asa_1_data.dat'));
      await sendUdp(svc.ports.netflow!, [garbage, orphan]);
      const dls = await waitFor(async () => {
        const m = await readStream(`${p}DEADLETTER`);
        return m.length >= 2 && m;
      }, 'two dead letters');
      const byReason = new Map(dls.map((m) => [m.headers?.get('Citysoc-Reason'), m]));
      expect(Buffer.from(byReason.get('flow-unsupported-version')!.data)).toEqual(garbage);
      const expired = byReason.get('flow-template-expired')!;
      expect(expired.headers?.get('Citysoc-Flow-Version')).toBe('9');
      // The held set's body is a slice of the datagram that carried it.
      expect(orphan.includes(Buffer.from(expired.data))).toBe(true);
      expect(await flowEvents(p)).toEqual([]);
    } finally {
      await app.close();
      await cleanupStreams(p);
    }
  });

  const softflowdIpfix = () => {
    const dir = path.join(corpus ?? '', 'flow', 'softflowd', 'ipfix');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.bin'))
      .sort()
      .map((f) => path.join(dir, f));
  };

  /** Indexes of the files that yield records when fed in order (templates carry over). */
  const withData = (files: string[]) => {
    const cache = new MemoryTemplateCache();
    const ctx = { exporter: '127.0.0.1', receivedAt: new Date() };
    return files.flatMap((f, i) =>
      decodeDatagram(readFileSync(f), ctx, cache).records.length > 0 ? [i] : [],
    );
  };

  it('batches the records of many datagrams into few messages, every record stored once', async () => {
    const p = uniquePrefix();
    const files = softflowdIpfix();
    const { app, svc } = await startCollector(p, {
      CITYSOC_FLOW_BATCH_RECORDS: '300',
      CITYSOC_FLOW_BATCH_MS: '200',
    });
    try {
      await sendUdp(
        svc.ports.ipfix!,
        files.map((f) => readFileSync(f)),
      );
      const want = expectedIds(files);
      const withRecords = withData(files).length;
      const got = await waitFor(async () => {
        const ev = await flowEvents(p);
        return ev.length >= want.length && ev;
      }, `${want.length} IPFIX records on EVENTS`);
      expect(got.map((e) => e.event.id)).toEqual(want);
      const msgs = await readStream(`${p}EVENTS`);
      expect(msgs.length).toBeLessThan(withRecords / 4);
      for (const m of msgs) {
        const events = JSON.parse(Buffer.from(m.data).toString('utf8')) as unknown[];
        expect(m.headers?.get('Citysoc-Events')).toBe(String(events.length));
        expect(m.headers?.get('Nats-Msg-Id')).toMatch(new RegExp(`^fb-[0-9a-f]{40}-${events.length}$`));
      }
    } finally {
      await app.close();
      await cleanupStreams(p);
    }
  });

  it('with a decoding worker, stores every record once and in order, as decoded in the main thread', async () => {
    const p = uniquePrefix();
    const files = softflowdIpfix();
    const { app, svc } = await startCollector(p, { CITYSOC_FLOW_WORKERS: '1' });
    try {
      // The worker loads from the TypeScript sources here; until then datagrams are decoded in the main thread.
      const flow = (svc as unknown as { sources: object[] }).sources.find(
        (s): s is FlowSource => s instanceof FlowSource,
      )!;
      await waitFor(() => flow.workersReady, 'the flow worker to load', 120_000);
      const raw = files.map((f) => readFileSync(f));
      await sendUdp(svc.ports.ipfix!, raw);
      const want = expectedIds(files);
      const got = await waitFor(async () => {
        const ev = await flowEvents(p);
        return ev.length >= want.length && ev;
      }, `${want.length} IPFIX records on EVENTS`);
      expect(got.map((e) => e.event.id)).toEqual(want);
      // The same documents as decoding in one thread gives (templates came first, in the main thread).
      const cache = new MemoryTemplateCache();
      const local = raw.flatMap(
        (d) => decodeDatagram(d, { exporter: '127.0.0.1', receivedAt: new Date() }, cache).records,
      );
      expect(got.map((e) => (e as { flow?: { fields?: unknown } }).flow?.fields)).toEqual(
        local.map((r) => flowToEcs(r, { receivedAt: new Date() }).flow.fields),
      );
    } finally {
      await app.close();
      await cleanupStreams(p);
    }
  }, 180_000);

  it('dead-letters every datagram of a batch JetStream refuses, with its raw bytes', async () => {
    const p = uniquePrefix();
    const files = softflowdIpfix();
    // A batch allowed to grow past the server's max_payload (1 MiB by default) is refused for good.
    const { app, svc } = await startCollector(p, {
      CITYSOC_FLOW_BATCH_RECORDS: '100000',
      CITYSOC_FLOW_BATCH_BYTES: String(8 * 1024 * 1024),
      CITYSOC_FLOW_BATCH_MS: '1000',
    });
    try {
      const sent = files.map((f) => readFileSync(f));
      await sendUdp(svc.ports.ipfix!, sent);
      const withRecords = sent.filter(
        (_, i) => expectedIds(files.slice(0, i + 1)).length > expectedIds(files.slice(0, i)).length,
      );
      const dls = await waitFor(async () => {
        const m = await readStream(`${p}DEADLETTER`);
        return m.length >= withRecords.length && m;
      }, 'a dead letter per datagram with records');
      expect(dls.every((m) => m.headers?.get('Citysoc-Reason') === 'flow-publish_failed')).toBe(true);
      expect(dls.every((m) => m.headers?.get('Citysoc-Flow-Body') === 'datagram')).toBe(true);
      const bodies = new Set(dls.map((m) => Buffer.from(m.data).toString('hex')));
      expect(withRecords.every((d) => bodies.has(d.toString('hex')))).toBe(true);
      expect(await flowEvents(p)).toEqual([]);
    } finally {
      await app.close();
      await cleanupStreams(p);
    }
  }, 30_000);

  it('dead-letters the data still waiting for its template when the collector stops', async () => {
    const p = uniquePrefix();
    const { app, svc } = await startCollector(p, { CITYSOC_COLLECTOR_METRICS_PORT: '0' });
    try {
      const orphan = readFileSync(dat('netflow9_test_cisco_asa_1_data.dat'));
      await sendUdp(svc.ports.netflow!, [orphan]);
      await waitFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${svc.ports.metrics}/metrics`)).text();
        return /citysoc_flow_template_misses\{[^}]*exporter="127.0.0.1"[^}]*\} [1-9]/.test(text);
      }, 'the held set');
      await app.close();
      const dls = await readStream(`${p}DEADLETTER`);
      expect(dls.map((m) => m.headers?.get('Citysoc-Reason'))).toEqual(['flow-template-expired']);
      expect(orphan.includes(Buffer.from(dls[0]!.data))).toBe(true);
    } finally {
      await cleanupStreams(p);
    }
  });

  it('counts and drops datagrams from exporters outside the allowlist', async () => {
    const p = uniquePrefix();
    const { app, svc } = await startCollector(p, {
      CITYSOC_FLOW_ALLOW: '192.0.2.0/24,2001:db8::/32',
      CITYSOC_COLLECTOR_METRICS_PORT: '0',
    });
    try {
      await sendUdp(svc.ports.netflow!, [readFileSync(dat('netflow5.dat'))]);
      await waitFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${svc.ports.metrics}/metrics`)).text();
        return /citysoc_flow_refused_datagrams_total\{input="netflow"[^}]*\} 1/.test(text);
      }, 'the refused counter');
      const text = await (await fetch(`http://127.0.0.1:${svc.ports.metrics}/metrics`)).text();
      expect(text).toMatch(/citysoc_component_kernel_dropped_datagrams\{[^}]*component="netflow"/);
      expect(await flowEvents(p)).toEqual([]);
    } finally {
      await app.close();
      await cleanupStreams(p);
    }
  });
});

/**
 * A real exporter: softflowd reads the reference capture (a SYN scan and an SSH brute force among ordinary
 * traffic) and exports it to the collector; the indexer stores every flow in SQLite and the detector's
 * shipped rules (rules/flow) raise the scan and the brute force.
 */
function which(cmd: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}
const softflowd = which('softflowd');
const softflowctl = which('softflowctl');
const pcap = corpus ? path.join(corpus, 'flow', 'pcap', 'synthetic-scan-bruteforce.pcap') : '';
const describeSoftflowd = softflowd && softflowctl && corpus ? describe : describe.skip;
if (!softflowd || !softflowctl)
  console.warn('softflowd not installed (bash scripts/ensure-peers.sh): skipped');

/** Packets in a classic pcap file (global header 24 bytes; each record header 16 bytes with its length). */
function pcapPackets(file: string): number {
  const b = readFileSync(file);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  let n = 0;
  for (let off = 24; off + 16 <= b.length; n++)
    off += 16 + (le ? b.readUInt32LE(off + 8) : b.readUInt32BE(off + 8));
  return n;
}

async function runSoftflowd(version: 5 | 9 | 10, port: number, dir: string): Promise<string> {
  const ctl = path.join(dir, `sfd-${version}.ctl`);
  const child: ChildProcess = spawn(
    softflowd!,
    [
      '-d',
      '-r',
      pcap,
      '-n',
      `127.0.0.1:${port}`,
      '-v',
      String(version),
      '-a',
      '-c',
      ctl,
      '-p',
      path.join(dir, `sfd-${version}.pid`),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ctlCmd = (cmd: string): string => {
    try {
      return execFileSync(softflowctl!, ['-c', ctl, cmd], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch {
      return '';
    }
  };
  // With -r, softflowd reads the capture once its control socket is first asked something; then it keeps
  // the flows active until told to expire them (which also ends the run at pcap EOF).
  const packets = pcapPackets(pcap);
  try {
    await waitFor(() => existsSync(ctl), 'the softflowd control socket');
    await waitFor(
      () => new RegExp(`Packets processed: ${packets}\\b`).test(ctlCmd('statistics')),
      `softflowd to read all ${packets} packets`,
    );
    ctlCmd('expire-all');
    await exited;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
  return log;
}

/** citysoc.parser of each version (the document states the version there, not under flow). */
const PARSER_OF = { 5: 'netflow5', 9: 'netflow9', 10: 'ipfix' } as const;

describeSoftflowd('softflowd → collector → indexer (SQLite) and detector (correlation rules)', () => {
  it.each([5, 9, 10] as const)(
    'NetFlow/IPFIX version %s: all 2216 flows are stored; the port scan and the SSH brute force raise alerts',
    async (version) => {
      const prefix = uniquePrefix();
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-flow-'));
      const apps: INestApplicationContext[] = [];
      try {
        const indexer = await NestFactory.createApplicationContext(
          IndexerModule.register(
            loadConfig(indexerSchema, {
              CITYSOC_STREAM_PREFIX: prefix,
              CITYSOC_DATA_DIR: dataDir,
              CITYSOC_INDEXER_METRICS_PORT: '-1',
              ...natsEnv,
            }),
          ),
          { logger: false },
        );
        await indexer.init();
        apps.push(indexer);
        const detector = await NestFactory.createApplicationContext(
          DetectorModule.register(
            loadConfig(detectorSchema, {
              CITYSOC_STREAM_PREFIX: prefix,
              CITYSOC_DETECTOR_METRICS_PORT: '-1',
              ...natsEnv,
            }),
          ),
          { logger: false },
        );
        await detector.init();
        apps.push(detector);
        const { app, svc } = await startCollector(prefix);
        apps.push(app);

        const log = await runSoftflowd(
          version,
          version === 10 ? svc.ports.ipfix! : svc.ports.netflow!,
          dataDir,
        );
        expect(log).toMatch(/Flows exported: \d+ \(2216 records\)/);

        const db = new Database(path.join(dataDir, 'events.sqlite'), { readonly: true });
        try {
          const count = db.prepare(
            "SELECT COUNT(*) AS n FROM events WHERE json_extract(doc, '$.event.dataset') = 'flow' AND json_extract(doc, '$.event.type[0]') = 'connection' AND json_extract(doc, '$.citysoc.parser') = ?",
          );
          await waitFor(
            () => (count.get(PARSER_OF[version]) as { n: number }).n >= 2216,
            '2216 flows in the store',
            60_000,
          );
          expect((count.get(PARSER_OF[version]) as { n: number }).n).toBe(2216);
          const scan = db
            .prepare(
              "SELECT COUNT(DISTINCT json_extract(doc, '$.destination.port')) AS n FROM events WHERE json_extract(doc, '$.source.ip') = '10.66.6.6' AND json_extract(doc, '$.destination.ip') = '10.20.0.15'",
            )
            .get() as { n: number };
          expect(scan.n).toBe(1024);
        } finally {
          db.close();
        }
        const titles = await waitFor(async () => {
          const alerts = (await readStream(`${prefix}ALERTS`)).map(
            (m) => JSON.parse(Buffer.from(m.data).toString('utf8')) as Alert,
          );
          const t = alerts.map((a) => `${a.rule.title} | ${a.entity}`).sort();
          return t.length >= 2 && t;
        }, 'the scan and brute-force alerts');
        expect(titles).toEqual([
          `Port scan - one source reaches many TCP ports of one host | ${JSON.stringify({ 'source.ip': '10.66.6.6', 'destination.ip': '10.20.0.15' })}`,
          `SSH brute force - many SSH connections from one source to one host | ${JSON.stringify({ 'source.ip': '10.66.6.7', 'destination.ip': '10.20.0.22' })}`,
        ]);
      } finally {
        for (const a of apps.reverse()) await a.close();
        await cleanupStreams(prefix);
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
