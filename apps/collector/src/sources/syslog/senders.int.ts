import { startCollector } from '../../start-collector.test';
import { type INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  cleanupStreams,
  makeTestPki,
  type PeerProcess,
  peerDir,
  readEvents,
  rsyslogHasDriver,
  rsyslogdPath,
  startRsyslog,
  startSyslogNg,
  syslogNgInstall,
  syslogNgVersion,
  type TestPki,
  uniquePrefix,
  waitFor,
} from '@citysoc/testing';
import { CollectorService } from '../../collector.service';

/**
 * The senders cities actually run — rsyslog's omfwd and syslog-ng's network()/syslog() destinations — as
 * real child processes reading lines from a file and forwarding them to a real collector over TCP
 * (octet-counted and LF) and TLS with a client certificate. Every line must reach JetStream with the right
 * fields. Peers come from scripts/ensure-peers.sh; a missing peer skips its cases with a message.
 */

interface Doc {
  '@timestamp': string;
  message: string;
  host?: { hostname?: string };
  process?: { name?: string };
  log: { syslog: { facility?: { name?: string }; severity?: { name?: string } } };
  event: { original: string };
  citysoc: { input: { transport: string; name: string }; parser: string };
}

const LINES = 40;

interface SenderCase {
  name: string;
  peer: 'rsyslog' | 'syslog-ng';
  transport: 'tcp' | 'tls';
  parser: 'rfc5424' | 'rfc3164';
  /** Why this case cannot run here, or undefined when it can. */
  missing: () => string | undefined;
  config: (o: { dir: string; input: string; port: number; pki: TestPki; hostname: string }) => string;
}

const noRsyslog = () => (rsyslogdPath() ? undefined : 'rsyslogd is not installed');
const noSyslogNg = () => (syslogNgInstall() ? undefined : 'syslog-ng is not unpacked under .cache/peers');

function rsyslogConfig(
  o: { dir: string; input: string; port: number; pki: TestPki; hostname: string },
  driver?: 'ossl' | 'gtls',
): string {
  const tlsGlobal = driver
    ? ` defaultNetstreamDriver="${driver}" defaultNetstreamDriverCAFile="${o.pki.caFile}"` +
      ` defaultNetstreamDriverCertFile="${o.pki.clientCert}" defaultNetstreamDriverKeyFile="${o.pki.clientKey}"`
    : '';
  const tlsAction = driver
    ? ` streamDriver="${driver}" streamDriverMode="1" streamDriverAuthMode="x509/name" streamDriverPermittedPeers="localhost"`
    : '';
  // The file input is bound to its own ruleset so rsyslog's own start/stop messages are not forwarded.
  return `global(workDirectory="${o.dir}" localHostname="${o.hostname}"${tlsGlobal})
module(load="imfile" mode="polling" pollingInterval="1")
input(type="imfile" file="${o.input}" tag="citysoc-test" facility="local4" severity="notice" freshStartTail="off" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="${o.port}" protocol="tcp" tcp_framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format"${tlsAction}
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
`;
}

function syslogNgConfig(
  o: { input: string; port: number; pki: TestPki; hostname: string },
  driver: 'network' | 'syslog',
  transport: 'tcp' | 'tls',
): string {
  const tls =
    transport === 'tls'
      ? ` tls(ca-file("${o.pki.caFile}") cert-file("${o.pki.clientCert}") key-file("${o.pki.clientKey}") peer-verify(required-trusted))`
      : '';
  return `@version: ${syslogNgVersion() ?? '3.38'}
options { use-dns(no); use-fqdn(no); stats-freq(0); };
source s_in {
  file("${o.input}" flags(no-parse) follow-freq(1) program-override("citysoc-test")
       host-override("${o.hostname}") default-facility(local4) default-priority(notice));
};
destination d_out { ${driver}("127.0.0.1" port(${o.port}) transport("${transport}")${tls}); };
log { source(s_in); destination(d_out); };
`;
}

const cases: SenderCase[] = [
  {
    name: 'rsyslog omfwd, TCP octet-counted',
    peer: 'rsyslog',
    transport: 'tcp',
    parser: 'rfc5424',
    missing: noRsyslog,
    config: (o) => rsyslogConfig(o),
  },
  {
    name: 'rsyslog omfwd, TLS via the ossl netstream driver',
    peer: 'rsyslog',
    transport: 'tls',
    parser: 'rfc5424',
    missing: () =>
      noRsyslog() ?? (rsyslogHasDriver('ossl') ? undefined : 'rsyslog-openssl (lmnsd_ossl) is not installed'),
    config: (o) => rsyslogConfig(o, 'ossl'),
  },
  {
    name: 'rsyslog omfwd, TLS via the gtls netstream driver',
    peer: 'rsyslog',
    transport: 'tls',
    parser: 'rfc5424',
    missing: () =>
      noRsyslog() ?? (rsyslogHasDriver('gtls') ? undefined : 'rsyslog-gnutls (lmnsd_gtls) is not installed'),
    config: (o) => rsyslogConfig(o, 'gtls'),
  },
  {
    name: 'syslog-ng network() over TCP (RFC 3164, LF)',
    peer: 'syslog-ng',
    transport: 'tcp',
    parser: 'rfc3164',
    missing: noSyslogNg,
    config: (o) => syslogNgConfig(o, 'network', 'tcp'),
  },
  {
    name: 'syslog-ng syslog() over TCP (RFC 5424, octet-counted)',
    peer: 'syslog-ng',
    transport: 'tcp',
    parser: 'rfc5424',
    missing: noSyslogNg,
    config: (o) => syslogNgConfig(o, 'syslog', 'tcp'),
  },
  {
    name: 'syslog-ng syslog() over TLS',
    peer: 'syslog-ng',
    transport: 'tls',
    parser: 'rfc5424',
    missing: noSyslogNg,
    config: (o) => syslogNgConfig(o, 'syslog', 'tls'),
  },
  {
    name: 'syslog-ng network() over TLS',
    peer: 'syslog-ng',
    transport: 'tls',
    parser: 'rfc3164',
    missing: noSyslogNg,
    config: (o) => syslogNgConfig(o, 'network', 'tls'),
  },
];

describe('when real syslog daemons forward to the collector', () => {
  const prefix = uniquePrefix();
  const pkiDir = peerDir('pki');
  let pki: TestPki;
  let app: INestApplicationContext;
  let svc: CollectorService;

  beforeAll(async () => {
    pki = makeTestPki(pkiDir);
    ({ app, svc } = await startCollector(prefix, {
      CITYSOC_SYSLOG_HOST: '127.0.0.1',
      CITYSOC_SYSLOG_UDP_PORT: '-1',
      CITYSOC_SYSLOG_TCP_PORT: '0',
      CITYSOC_SYSLOG_TLS_PORT: '0',
      CITYSOC_SYSLOG_TLS_CERT: pki.serverCert,
      CITYSOC_SYSLOG_TLS_KEY: pki.serverKey,
      // Senders must present a certificate our CA signed: client-certificate checking is exercised too.
      CITYSOC_SYSLOG_TLS_CLIENT_CA: pki.caFile,
      CITYSOC_COLLECTOR_METRICS_PORT: '-1',
      // RFC 3164 senders write this machine's local time without a zone.
      CITYSOC_SYSLOG_TIMEZONE: Intl.DateTimeFormat().resolvedOptions().timeZone,
    }));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await cleanupStreams(prefix);
    rmSync(pkiDir, { recursive: true, force: true });
  });

  it.each(cases)(
    '$name: every line reaches JetStream with its fields',
    async (c) => {
      const why = c.missing();
      if (why) {
        console.warn(`skipped "${c.name}": ${why} (run scripts/ensure-peers.sh)`);
        return;
      }
      const token = randomBytes(4).toString('hex');
      const hostname = `${c.peer}-peer-${token}`;
      const dir = peerDir(c.peer);
      const input = path.join(dir, 'in.log');
      const lines = Array.from(
        { length: LINES },
        (_, i) => `citysoc ${token} line ${i} via ${c.transport} café ${'x'.repeat(i)}`,
      );
      writeFileSync(input, lines.join('\n') + '\n');
      const port = c.transport === 'tls' ? svc.ports.tls! : svc.ports.tcp!;
      const config = c.config({ dir, input, port, pki, hostname });
      const started = Date.now();
      let peer: PeerProcess | undefined;
      try {
        peer = c.peer === 'rsyslog' ? startRsyslog(dir, config) : startSyslogNg(dir, config);
        const docs = await waitFor(
          async () => {
            if (peer!.hasExited) throw new Error(`${c.peer} exited: ${peer!.log}`);
            const mine = (await readEvents<Doc>(`${prefix}EVENTS`))
              .map((e) => e.doc)
              .filter((d) => d.host?.hostname === hostname);
            return mine.length >= LINES ? mine : undefined;
          },
          `${LINES} lines from ${c.name}`,
          45_000,
        ).catch((e: unknown) => {
          throw new Error(`${String(e)}\n${c.peer} output:\n${peer?.log ?? ''}`);
        });

        // Every line exactly once, nothing else from this sender.
        expect(docs.map((d) => d.message).sort()).toEqual([...lines].sort());
        for (const d of docs) {
          expect(d.citysoc.parser).toBe(c.parser);
          expect(d.citysoc.input.transport).toBe(c.transport);
          expect(d.process?.name).toBe('citysoc-test');
          expect(d.log.syslog.facility?.name).toBe('local4');
          expect(d.log.syslog.severity?.name).toBe('notice');
          expect(d.event.original).toContain(d.message);
          // The sender stamped these lines while this test ran; a zone error would be hours off.
          const ts = Date.parse(d['@timestamp']);
          expect(Math.abs(ts - started)).toBeLessThan(10 * 60_000);
        }
      } finally {
        if (peer) await peer.stop();
        else rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
