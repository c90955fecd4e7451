import { startCollector } from '../../start-collector.test';
import { type INestApplicationContext } from '@nestjs/common';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cleanupStreams, readEvents, readStream, uniquePrefix, waitFor } from '@citysoc/testing';
import { CollectorService } from '../../collector.service';

/**
 * Listener policy on real sockets: dual-stack binding, allowlists, per-source time zone / format / rate limit
 * / silence, size, idle and connection limits. Loopback addresses 127.0.0.x stand in for different devices.
 */

interface Doc {
  '@timestamp': string;
  message?: string;
  source?: { ip?: string };
  process?: { name?: string };
  event: { action?: string; timezone?: string; module?: string };
  citysoc: { parser?: string; source_name?: string; syslog_source?: { name: string } };
}

const SOURCES = `
sources:
  - name: berlin-switch
    cidrs: [127.0.0.2/32]
    timezone: Europe/Berlin
  - name: cef-only
    cidrs: [127.0.0.4/32]
    format: cef
  - name: chatty-udp
    cidrs: [127.0.0.5/32]
    rate_limit: { per_second: 1, burst: 5 }
  - name: chatty-tcp
    cidrs: [127.0.0.6/32]
    rate_limit: { per_second: 50, burst: 10 }
  - name: quiet
    cidrs: [127.0.0.7/32]
    silent_after_seconds: 1
`;

function udpFrom(from: string, port: number, host: string, datagrams: Array<string | Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    const sendAll = async () => {
      for (const d of datagrams)
        await new Promise<void>((r, j) => s.send(d, port, host, (e) => (e ? j(e) : r())));
    };
    s.bind({ address: from, port: 0 }, () => {
      sendAll().then(() => s.close(() => resolve()), reject);
    });
  });
}

function tcpFrom(from: string, port: number, host: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress: from }, () => s.end(payload));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

const docs = async (prefix: string): Promise<Doc[]> =>
  (await readEvents<Doc>(`${prefix}EVENTS`)).map((e) => e.doc);

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('when the collector applies listener and source policy', () => {
  jest.setTimeout(40_000);
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-listeners-'));
  let app: INestApplicationContext;
  let svc: CollectorService;
  const metrics = async () => (await fetch(`http://127.0.0.1:${svc.ports.metrics}/metrics`)).text();

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'sources.yml'), SOURCES);
    ({ app, svc } = await startCollector(prefix, {
      CITYSOC_SYSLOG_HOST: '::',
      CITYSOC_SYSLOG_UDP_PORT: '0',
      CITYSOC_SYSLOG_TCP_PORT: '0',
      CITYSOC_COLLECTOR_METRICS_PORT: '0',
      CITYSOC_SYSLOG_SOURCES_FILE: path.join(dir, 'sources.yml'),
      // 127.0.0.3 is outside both lists; ::1 may use UDP only through the shared list.
      CITYSOC_SYSLOG_ALLOW: '127.0.0.0/31,127.0.0.2,127.0.0.4/30,::1/128',
      CITYSOC_SYSLOG_TCP_ALLOW: '127.0.0.0/31,127.0.0.2,127.0.0.4/30,::1',
      CITYSOC_SYSLOG_SILENT_SECONDS: '0',
      CITYSOC_SYSLOG_MAX_FRAME_BYTES: '512',
      CITYSOC_SYSLOG_TCP_IDLE_SECONDS: '1',
      CITYSOC_SYSLOG_MAX_TCP_CONNECTIONS: '3',
    }));
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on IPv4 and IPv6 with one dual-stack socket per transport', async () => {
    await udpFrom('127.0.0.1', svc.ports.udp!, '127.0.0.1', ['<13>1 - h app - - - v4 udp']);
    await udpFrom('::1', svc.ports.udp!, '::1', ['<13>1 - h app - - - v6 udp']);
    await tcpFrom('127.0.0.1', svc.ports.tcp!, '127.0.0.1', '<13>1 - h app - - - v4 tcp\n');
    await tcpFrom('::1', svc.ports.tcp!, '::1', '<13>1 - h app - - - v6 tcp\n');
    const got = await waitFor(async () => {
      const d = (await docs(prefix)).filter((x) => x.message?.startsWith('v'));
      return d.length >= 4 ? d : undefined;
    }, 'four dual-stack events');
    const byMessage = Object.fromEntries(got.map((d) => [d.message, d.source?.ip]));
    expect(byMessage).toEqual({
      'v4 udp': '127.0.0.1',
      'v6 udp': '::1',
      'v4 tcp': '127.0.0.1',
      'v6 tcp': '::1',
    });
  });

  it('refuses and counts senders outside the allowlist, before reading anything', async () => {
    await udpFrom('127.0.0.3', svc.ports.udp!, '127.0.0.1', ['<13>1 - h app - - - refused udp']);
    await tcpFrom('127.0.0.3', svc.ports.tcp!, '127.0.0.1', '<13>1 - h app - - - refused tcp\n').catch(
      () => undefined, // a reset is one way to be refused
    );
    const text = await waitFor(async () => {
      const t = await metrics();
      return metricValue(t, 'citysoc_syslog_refused_total', {
        component: 'syslog_udp',
        reason: 'not_allowed',
      }) >= 1 &&
        metricValue(t, 'citysoc_syslog_refused_total', { component: 'syslog_tcp', reason: 'not_allowed' }) >=
          1
        ? t
        : undefined;
    }, 'refusals counted');
    expect(text).toContain('citysoc_syslog_refused_total');
    // Accepted traffic after the refusals still flows, and nothing from 127.0.0.3 was stored.
    await tcpFrom('127.0.0.1', svc.ports.tcp!, '127.0.0.1', '<13>1 - h app - - - after refusals\n');
    const all = await waitFor(async () => {
      const d = await docs(prefix);
      return d.some((x) => x.message === 'after refusals') ? d : undefined;
    }, 'the line after the refusals');
    expect(all.filter((d) => d.source?.ip === '127.0.0.3')).toEqual([]);
  });

  it("reads a source's local time in its own zone; a zone in the message wins", async () => {
    await tcpFrom(
      '127.0.0.2',
      svc.ports.tcp!,
      '127.0.0.1',
      '<13>Nov 27 10:00:00 sw1 app: berlin local\n<13>2026-11-27T10:00:00+07:00 sw1 app: with its own offset\n',
    );
    const got = await waitFor(async () => {
      const d = (await docs(prefix)).filter((x) => x.citysoc.source_name === 'berlin-switch');
      return d.length >= 2 ? d : undefined;
    }, 'two events from berlin-switch');
    const local = got.find((d) => d.message === 'berlin local')!;
    // Berlin is UTC+1 in November; the year is the one closest to the receive time.
    expect(local['@timestamp']).toMatch(/-11-27T09:00:00\.000Z$/);
    expect(local.event.timezone).toBe('Europe/Berlin');
    const offset = got.find((d) => d.message === 'with its own offset')!;
    expect(offset['@timestamp']).toBe('2026-11-27T03:00:00.000Z');
  });

  it("applies a source's pinned format", async () => {
    const cef = 'CEF:0|Acme|Gate|1.0|100|Blocked|5|src=10.9.8.7 dst=10.9.8.6';
    await udpFrom('127.0.0.4', svc.ports.udp!, '127.0.0.1', [`<134>Nov 27 10:00:00 gate ${cef}`]);
    const d = await waitFor(
      async () => (await docs(prefix)).find((x) => x.citysoc.source_name === 'cef-only'),
      'the CEF event',
    );
    expect(d.citysoc.parser).toBe('cef');
    expect(d.source?.ip).toBe('10.9.8.7');
  });

  it('drops and counts UDP datagrams over a source rate limit; every datagram is accounted for', async () => {
    const n = 50;
    await udpFrom(
      '127.0.0.5',
      svc.ports.udp!,
      '127.0.0.1',
      Array.from({ length: n }, (_, i) => `<13>1 - h app - - - chatty ${i}`),
    );
    const { stored, dropped } = await waitFor(async () => {
      const s = (await docs(prefix)).filter((x) => x.citysoc.source_name === 'chatty-udp').length;
      const dr = metricValue(await metrics(), 'citysoc_syslog_rate_limited_total', {
        component: 'syslog_udp',
        action: 'dropped',
      });
      return s + dr === n ? { stored: s, dropped: dr } : undefined;
    }, 'stored + dropped = sent');
    expect(stored).toBeGreaterThanOrEqual(5); // the burst
    expect(dropped).toBeGreaterThan(0);
  });

  it('slows a TCP source over its rate limit without losing a line', async () => {
    const n = 60;
    await tcpFrom(
      '127.0.0.6',
      svc.ports.tcp!,
      '127.0.0.1',
      Array.from({ length: n }, (_, i) => `<13>1 - h app - - - paced ${i}\n`).join(''),
    );
    const got = await waitFor(async () => {
      const d = (await docs(prefix)).filter((x) => x.citysoc.source_name === 'chatty-tcp');
      return d.length >= n ? d : undefined;
    }, `${n} paced lines`);
    expect(new Set(got.map((d) => d.message)).size).toBe(n);
    expect(
      metricValue(await metrics(), 'citysoc_syslog_rate_limited_total', {
        component: 'syslog_tcp',
        action: 'delayed',
      }),
    ).toBeGreaterThan(0);
  });

  it('reports a registered source that went silent, as a metric and an event, and its return', async () => {
    const silent = await waitFor(
      async () =>
        (await docs(prefix)).find(
          (x) => x.event.action === 'source-silent' && x.citysoc.syslog_source?.name === 'quiet',
        ),
      'a source-silent event',
    );
    expect(silent.message).toContain('quiet');
    // What the shipped rule rules/citysoc/syslog_source_silent.yml matches on.
    expect(silent).toMatchObject({ event: { module: 'syslog' }, process: { name: 'citysoc-collector' } });
    expect(metricValue(await metrics(), 'citysoc_syslog_source_silent', { source: 'quiet' })).toBe(1);
    await udpFrom('127.0.0.7', svc.ports.udp!, '127.0.0.1', ['<13>1 - h app - - - back again']);
    await waitFor(
      async () =>
        (await docs(prefix)).find(
          (x) => x.event.action === 'source-resumed' && x.citysoc.syslog_source?.name === 'quiet',
        ),
      'a source-resumed event',
    );
  });

  it('dead-letters a datagram over the maximum size with its first bytes', async () => {
    const big = `<13>1 - h app - - - ${'B'.repeat(2000)}`;
    await udpFrom('127.0.0.1', svc.ports.udp!, '127.0.0.1', [big]);
    const dl = await waitFor(async () => {
      const msgs = await readStream(`${prefix}DEADLETTER`);
      return msgs.find((m) => m.headers?.get('Citysoc-Reason') === 'frame_too_large');
    }, 'the oversized datagram in DEADLETTER');
    expect(Buffer.from(dl.data).toString()).toBe(big.slice(0, 512));
  });

  it('closes idle connections and refuses connections over the limit, counting them', async () => {
    const open = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: svc.ports.tcp! }, () => resolve(s));
        s.on('error', reject);
      });
    const closed = (s: net.Socket) =>
      new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));
    const held = [await open(), await open(), await open()];
    for (const s of held) s.on('error', () => undefined);
    const extra = await open().catch(() => undefined);
    extra?.on('error', () => undefined);
    if (extra) await closed(extra);
    await waitFor(
      async () =>
        metricValue(await metrics(), 'citysoc_syslog_refused_total', {
          component: 'syslog_tcp',
          reason: 'max_connections',
        }) >= 1,
      'a max_connections refusal',
    );
    // The idle timeout (1 s) ends the held connections without any action from us.
    await Promise.all(held.map(closed));
  });
});
