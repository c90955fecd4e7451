import { type INestApplicationContext } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import {
  cleanupStreams,
  octetCount,
  readEvents,
  readStream,
  sendTcp,
  sendUdp,
  uniquePrefix,
  waitFor,
} from '@citysoc/testing';
import { type CollectorService } from './collector.service';
import { startCollector } from './start-collector.test';

/**
 * Hostile input against a real collector on real sockets and real JetStream: it never crashes, keeps
 * serving the next sender, and every rejected frame is counted and kept with its raw bytes.
 */
describe('when senders send garbage to the collector', () => {
  const prefix = uniquePrefix();
  let app: INestApplicationContext;
  let svc: CollectorService;

  beforeAll(async () => {
    ({ app, svc } = await startCollector(prefix, {
      CITYSOC_SYSLOG_UDP_PORT: '0',
      CITYSOC_SYSLOG_TCP_PORT: '0',
      CITYSOC_COLLECTOR_METRICS_PORT: '0',
      CITYSOC_SYSLOG_MAX_FRAME_BYTES: '1024',
    }));
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await cleanupStreams(prefix);
  });

  it('dead-letters binary garbage, oversized frames and bad octet counts with their raw bytes, and keeps going', async () => {
    const garbage = Buffer.concat([Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0]), randomBytes(200)]);
    const oversized = `<13>Nov 27 10:00:00 host app: ${'A'.repeat(3000)}\n`;
    await sendUdp(svc.ports.udp!, [garbage, Buffer.alloc(0)]);
    await sendTcp(
      svc.ports.tcp!,
      Buffer.concat([
        Buffer.from(oversized),
        Buffer.from('<13>Nov 27 10:00:01 host app: after the long one\n'),
      ]),
    );
    await sendTcp(
      svc.ports.tcp!,
      Buffer.concat([
        octetCount(['<13>1 - - - - - - first']),
        Buffer.from('12x <13>bad count\n'),
        octetCount(['<13>1 - - - - - - after bad counts']),
      ]),
    );
    // A count over the maximum: the framer skips that many bytes, here the rest of the connection.
    await sendTcp(svc.ports.tcp!, Buffer.from('99999999 <13>x\n'));
    await sendTcp(
      svc.ports.tcp!,
      Buffer.concat([octetCount(['<13>1 - - - - - - ok']), Buffer.from('40 <13>1 - - - - - - truncated')]),
    );

    const deadletters = await waitFor(async () => {
      const msgs = await readStream(`${prefix}DEADLETTER`);
      const seen = new Set(msgs.map((m) => m.headers?.get('Citysoc-Reason')));
      return ['not_text', 'empty', 'frame_too_large', 'invalid_octet_count', 'truncated'].every((r) =>
        seen.has(r),
      )
        ? msgs
        : undefined;
    }, 'dead letters');
    const reasons = deadletters.map((m) => m.headers?.get('Citysoc-Reason'));
    expect(reasons).toEqual(
      expect.arrayContaining(['not_text', 'frame_too_large', 'invalid_octet_count', 'truncated']),
    );
    const notText = deadletters.find((m) => m.headers?.get('Citysoc-Reason') === 'not_text');
    expect(Buffer.from(notText!.data).equals(garbage)).toBe(true);
    for (const m of deadletters) {
      expect(m.headers?.get('Citysoc-Sender')).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(m.headers?.get('Citysoc-Detail')).toBeTruthy();
    }

    const events = await waitFor(async () => {
      const evs = await readEvents<{ message?: string }>(`${prefix}EVENTS`);
      return evs.length >= 4 ? evs : undefined;
    }, 'the good lines in EVENTS');
    const messages = events.map((e) => e.doc.message);
    expect(messages).toEqual(
      expect.arrayContaining(['after the long one', 'first', 'after bad counts', 'ok']),
    );

    const metrics = await (await fetch(`http://127.0.0.1:${svc.ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/citysoc_component_discarded_events_total\{[^}]*reason="not_text"[^}]*\} 1/);
    expect(metrics).toMatch(
      /citysoc_component_discarded_events_total\{[^}]*reason="frame_too_large"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /citysoc_component_discarded_events_total\{[^}]*reason="invalid_octet_count"[^}]*\} [1-9]/,
    );
    const health = await fetch(`http://127.0.0.1:${svc.ports.metrics}/health`);
    expect(health.status).toBe(200);
  }, 30_000);
});

describe('when a sender speaks syslog over TLS (RFC 5425)', () => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-tls-'));
  let app: INestApplicationContext;
  let svc: CollectorService;

  beforeAll(async () => {
    // A throwaway self-signed certificate, made here so no key material lives in the repository.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    ({ app, svc } = await startCollector(prefix, {
      CITYSOC_SYSLOG_UDP_PORT: '-1',
      CITYSOC_SYSLOG_TCP_PORT: '-1',
      CITYSOC_SYSLOG_TLS_PORT: '0',
      CITYSOC_SYSLOG_TLS_CERT: path.join(dir, 'cert.pem'),
      CITYSOC_SYSLOG_TLS_KEY: path.join(dir, 'key.pem'),
      CITYSOC_COLLECTOR_METRICS_PORT: '-1',
    }));
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads octet-counted frames from inside the TLS stream and marks them as tls', async () => {
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: svc.ports.tls!,
          ca: readFileSync(path.join(dir, 'cert.pem')),
          servername: 'localhost',
        },
        () =>
          s.end(
            octetCount([
              '<38>1 2026-11-27T10:00:00+07:00 fw1 sshd 1 - - over tls one',
              '<38>1 2026-11-27T10:00:01+07:00 fw1 sshd 1 - - over tls two',
            ]),
          ),
      );
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    const events = await waitFor(async () => {
      const evs = await readEvents<{ message: string; citysoc: { input: { transport: string } } }>(
        `${prefix}EVENTS`,
      );
      return evs.length >= 2 ? evs : undefined;
    }, 'two TLS events');
    const docs = events.map((e) => e.doc);
    expect(docs.map((d) => d.message)).toEqual(['over tls one', 'over tls two']);
    expect(docs.every((d) => d.citysoc.input.transport === 'tls')).toBe(true);
    expect(events.every((m) => m.subject === `${prefix}events.syslog.tls`)).toBe(true);
  }, 30_000);
});
