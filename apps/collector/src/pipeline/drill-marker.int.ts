import { type INestApplicationContext } from '@nestjs/common';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type Bus, openBus } from '@citysoc/bus';
import {
  certFingerprint,
  DrillRunRegistry,
  type DrillRunRecord,
  FlowExporter,
  isDrill,
} from '@citysoc/drills';
import { type EcsEvent } from '@citysoc/ecs';
import {
  cleanupStreams,
  drillRunRecord,
  freePort,
  issueTestClient,
  makeTestPki,
  readStream,
  testBusSettings,
  uniquePrefix,
  waitFor,
} from '@citysoc/testing';
import { CollectorService } from '../collector.service';
import { startCollector } from '../start-collector.test';

/**
 * Drill attribution on real sockets and a real drill-runs bucket: a registered sender port / exporter +
 * domain is marked, the same lines from another port are not, and a drill marker from an unregistered
 * sender is stripped and reported as a drill-marker-forged health event.
 */

type Doc = EcsEvent & { citysoc?: { drill_marker_forged?: string; drill_marker?: { claimed_run?: string } } };

function udpFrom(fromPort: number, port: number, datagrams: Array<string | Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind({ address: '127.0.0.1', port: fromPort }, () => {
      void (async () => {
        for (const d of datagrams)
          await new Promise<void>((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
      })().then(() => s.close(() => resolve()), reject);
    });
  });
}

/** One TLS connection presenting `cert`, octet-counted frames (RFC 5425), closed after the last line. */
function tlsFrom(
  port: number,
  client: { cert: string; key: string },
  ca: string,
  lines: string[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect(
      {
        host: '127.0.0.1',
        port,
        ca: readFileSync(ca),
        cert: readFileSync(client.cert),
        key: readFileSync(client.key),
      },
      () => {
        const localPort = sock.localPort!;
        sock.end(lines.map((l) => `${Buffer.byteLength(l)} ${l}`).join(''), () => resolve(localPort));
      },
    );
    sock.once('error', reject);
  });
}

async function docs(prefix: string): Promise<Doc[]> {
  const out: Doc[] = [];
  for (const m of await readStream(`${prefix}EVENTS`)) {
    const v = JSON.parse(Buffer.from(m.data).toString()) as Doc | Doc[];
    out.push(...(Array.isArray(v) ? v : [v]));
  }
  return out;
}

interface DrillCollector {
  prefix: string;
  svc: CollectorService;
  registry: DrillRunRegistry;
}

/**
 * For the enclosing describe block: a real collector on a stream prefix of its own, started (beforeAll) once
 * the runs `setup` answers are registered, and closed with its bus and streams afterwards. `setup` runs in
 * beforeAll too, so it may reserve ports or write certificates first. The fields are set once beforeAll ran.
 */
function drillCollector(
  busName: string,
  setup: () => Promise<{ runs: DrillRunRecord[]; env: Record<string, string> }>,
  timeoutMs = 30_000,
): DrillCollector {
  const ctx = { prefix: uniquePrefix() } as DrillCollector;
  let app: INestApplicationContext | undefined;
  let bus: Bus | undefined;
  beforeAll(async () => {
    bus = await openBus(testBusSettings(ctx.prefix), busName);
    ctx.registry = await DrillRunRegistry.open(bus);
    const { runs, env } = await setup();
    for (const run of runs) await ctx.registry.register(run);
    ({ app, svc: ctx.svc } = await startCollector(ctx.prefix, env));
  }, timeoutMs);
  afterAll(async () => {
    await app?.close();
    await bus?.close();
    await cleanupStreams(ctx.prefix);
  });
  return ctx;
}

describe('collector drill marking (issue 9)', () => {
  jest.setTimeout(40_000);
  let drillPort: number;
  let otherPort: number;
  const runId = 'd-MARKTEST1';
  const c = drillCollector('drill-marker-test', async () => {
    drillPort = await freePort();
    otherPort = await freePort();
    return {
      runs: [
        drillRunRecord({
          runId,
          scenario: 'ssh-bruteforce-ward',
          syslog: [{ transport: 'udp', address: '127.0.0.1', port: drillPort }],
          exporters: [{ address: '127.0.0.1', domain: 4242 }],
        }),
      ],
      env: { CITYSOC_SYSLOG_UDP_PORT: '0', CITYSOC_FLOW_IPFIX_PORT: '0' },
    };
  });

  it('marks lines from the allocated source port and leaves the same line from another port real', async () => {
    await udpFrom(drillPort, c.svc.ports.udp!, ['<13>1 - ward app - - - drill line']);
    await udpFrom(otherPort, c.svc.ports.udp!, ['<13>1 - ward app - - - real line']);
    const got = await waitFor(async () => {
      const d = (await docs(c.prefix)).filter((x) => x.message?.endsWith(' line'));
      return d.length >= 2 ? d : undefined;
    }, 'both lines on EVENTS');
    const drill = got.find((d) => d.message === 'drill line')!;
    const real = got.find((d) => d.message === 'real line')!;
    expect(drill.labels?.drill).toBe(runId);
    expect(drill.tags).toContain('drill');
    expect(isDrill(drill)).toBe(true);
    expect(real.labels?.drill).toBeUndefined();
    expect(isDrill(real)).toBe(false);
  });

  it('marks flow records from the allocated exporter and observation domain only', async () => {
    const t = Date.now();
    const flow = (dport: number) => ({
      src: '10.1.1.1',
      dst: '10.2.2.2',
      sport: 40000,
      dport,
      proto: 6,
      packets: 3,
      bytes: 300,
      startMs: t - 1000,
      endMs: t,
      tcpFlags: 2,
    });
    const drillEx = new FlowExporter({ version: 'ipfix', domain: 4242 });
    const realEx = new FlowExporter({ version: 'ipfix', domain: 4243 });
    await udpFrom(0, c.svc.ports.ipfix!, drillEx.encode([flow(2201)], t));
    await udpFrom(0, c.svc.ports.ipfix!, realEx.encode([flow(2202)], t));
    const got = await waitFor(async () => {
      const d = (await docs(c.prefix)).filter((x) =>
        [2201, 2202].includes((x as { destination?: { port?: number } }).destination?.port ?? 0),
      );
      return d.length >= 2 ? d : undefined;
    }, 'both flows on EVENTS');
    const port = (x: Doc) => (x as { destination?: { port?: number } }).destination?.port;
    expect(got.find((d) => port(d) === 2201)!.labels?.drill).toBe(runId);
    expect(isDrill(got.find((d) => port(d) === 2202)!)).toBe(false);
  });

  it('strips a drill marker from an unregistered sender and reports it', async () => {
    await udpFrom(otherPort, c.svc.ports.udp!, [
      `<13>1 2026-11-27T10:00:00Z ward app - - [citysoc-drill@32473 id="${runId}"] forged line`,
    ]);
    const forged = await waitFor(
      async () => (await docs(c.prefix)).find((x) => x.message === 'forged line'),
      'the forged line on EVENTS',
    );
    expect(isDrill(forged)).toBe(false);
    expect(forged.labels?.drill).toBeUndefined();
    expect(forged.citysoc?.drill_marker_forged).toBe(runId);
    expect(JSON.stringify(forged.log ?? {})).not.toContain('citysoc-drill@32473');
    const health = await waitFor(
      async () => (await docs(c.prefix)).find((x) => x.event.action === 'drill-marker-forged'),
      'a drill-marker-forged event',
    );
    // What rules/citysoc/drill_marker_forged.yml matches on.
    expect(health).toMatchObject({
      event: { module: 'syslog', action: 'drill-marker-forged' },
      process: { name: 'citysoc-collector' },
      citysoc: { drill_marker: { claimed_run: runId } },
    });
  });
});

/**
 * A drill's silence (the "ward firewall goes silent" scenario) on a real collector: the source-silent event
 * is marked for the running run whose frame came last; once that run is finished, its sender falling
 * silent is not reported at all; a real frame coming last gives a real event.
 */
describe('collector silence events and drills (issue 9)', () => {
  jest.setTimeout(60_000);
  const ports: Record<string, number> = {};
  const c = drillCollector('drill-silence-test', async () => {
    for (const k of ['a', 'b', 'real']) ports[k] = await freePort();
    const run = (runId: string, port: number) =>
      drillRunRecord({
        runId,
        scenario: 'ward-firewall-silent',
        syslog: [{ transport: 'udp', address: '127.0.0.1', port }],
        exporters: [],
      });
    return {
      runs: [run('d-SILENTA1', ports.a!), run('d-SILENTB1', ports.b!)],
      env: { CITYSOC_SYSLOG_UDP_PORT: '0', CITYSOC_SYSLOG_SILENT_SECONDS: '2' },
    };
  });

  const silences = async () =>
    (await docs(c.prefix)).filter(
      (x) => x.event.action === 'source-silent' && x.citysoc?.['syslog_source' as never] !== undefined,
    );

  it('marks the silence of a running drill, drops it once the run finished, and keeps a real one real', async () => {
    // 1. The running drill A sent last: its silence is A's.
    await udpFrom(ports.a!, c.svc.ports.udp!, ['<13>1 - fw-ward7 app - - - drill traffic']);
    const first = await waitFor(async () => (await silences())[0], 'a source-silent event');
    expect(first.labels?.drill).toBe('d-SILENTA1');
    expect(isDrill(first)).toBe(true);

    // 2. Drill B sends, then finishes: the sender going quiet afterwards is not reported.
    await udpFrom(ports.b!, c.svc.ports.udp!, ['<13>1 - fw-ward7 app - - - last drill line']);
    await waitFor(
      async () => (await docs(c.prefix)).find((x) => x.message === 'last drill line'),
      'the drill line on EVENTS',
    );
    await c.registry.finish('d-SILENTB1', 'finished');
    await new Promise((r) => setTimeout(r, 4500));
    expect((await silences()).length).toBe(1);

    // 3. A real frame comes last: a real silence event.
    await udpFrom(ports.real!, c.svc.ports.udp!, ['<13>1 - fw-ward7 app - - - real traffic']);
    const second = await waitFor(async () => {
      const s = await silences();
      return s.length >= 2 ? s[1] : undefined;
    }, 'a second source-silent event');
    expect(second.labels?.drill).toBeUndefined();
    expect(isDrill(second)).toBe(false);
  });
});

/**
 * A drill client certificate in the allocation, on a real mutual-TLS listener: a connection presenting the
 * registered certificate is the run's from any source port (none is reserved here); the same lines from
 * another certificate the listener trusts are real, and a drill marker sent with that certificate is
 * stripped and reported as forged.
 */
describe('collector drill marking by TLS client certificate (issue 9)', () => {
  jest.setTimeout(60_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-cert-'));
  let pki: ReturnType<typeof makeTestPki>;
  let drillCert: { cert: string; key: string };
  const runId = 'd-CERTMARK1';
  const c = drillCollector(
    'drill-cert-test',
    async () => {
      pki = makeTestPki(dir);
      drillCert = { cert: pki.clientCert, key: pki.clientKey };
      return {
        runs: [
          drillRunRecord({
            runId,
            scenario: 'ssh-bruteforce-ward',
            syslog: [],
            exporters: [],
            clientCerts: [certFingerprint(readFileSync(pki.clientCert))],
          }),
        ],
        env: {
          CITYSOC_SYSLOG_TLS_PORT: '0',
          CITYSOC_SYSLOG_TLS_CERT: pki.serverCert,
          CITYSOC_SYSLOG_TLS_KEY: pki.serverKey,
          CITYSOC_SYSLOG_TLS_CLIENT_CA: pki.caFile,
        },
      };
    },
    60_000,
  );

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('marks lines from the registered certificate on any port, not the same lines from another certificate', async () => {
    const other = issueTestClient(dir, 'other', 'ward-firewall');
    const line = (tag: string) => `<13>1 2026-11-27T10:00:00Z ward app - - - cert ${tag} line`;
    const drillPort = await tlsFrom(c.svc.ports.tls!, drillCert, pki.caFile, [line('drill')]);
    const otherPort = await tlsFrom(c.svc.ports.tls!, other, pki.caFile, [line('real')]);
    // Ephemeral ports: nothing was reserved, the certificate alone decides.
    expect([drillPort, otherPort].every((p) => p > 0)).toBe(true);
    const got = await waitFor(async () => {
      const d = (await docs(c.prefix)).filter((x) => /^cert (drill|real) line$/.test(x.message ?? ''));
      return d.length >= 2 ? d : undefined;
    }, 'both TLS lines on EVENTS');
    const drill = got.find((d) => d.message === 'cert drill line')!;
    const real = got.find((d) => d.message === 'cert real line')!;
    expect(drill.labels?.drill).toBe(runId);
    expect(isDrill(drill)).toBe(true);
    expect(real.labels?.drill).toBeUndefined();
    expect(isDrill(real)).toBe(false);

    // A drill marker sent with the other certificate is forged: stripped, reported, never a drill.
    await tlsFrom(c.svc.ports.tls!, other, pki.caFile, [
      `<13>1 2026-11-27T10:00:00Z ward app - - [citysoc-drill@32473 id="${runId}"] cert forged line`,
    ]);
    const forged = await waitFor(
      async () => (await docs(c.prefix)).find((x) => x.message === 'cert forged line'),
      'the forged TLS line on EVENTS',
    );
    expect(isDrill(forged)).toBe(false);
    expect(forged.citysoc?.drill_marker_forged).toBe(runId);
    const health = await waitFor(
      async () => (await docs(c.prefix)).find((x) => x.event.action === 'drill-marker-forged'),
      'a drill-marker-forged event',
    );
    expect(health).toMatchObject({
      event: { module: 'syslog', action: 'drill-marker-forged' },
      citysoc: { drill_marker: { claimed_run: runId } },
    });
  });
});
