/**
 * Parser throughput on a mixed sample of formats (RFC 5424, BSD sshd, ASA, FortiGate, CEF, PAN-OS), with
 * the vendor decoders auto-detected and with the syslog envelope only. One core, no I/O.
 *
 *   npm run bench:syslog-parse     (BENCH_LINES=300000 to change the count)
 */
import { parseSyslog, type ParseContext, type ParseOptions } from '@citysoc/syslog';

const lines = [
  '<165>1 2026-11-27T12:23:27.803684+07:00 web-01.hcm.gov.vn nginx 2211 ACCESS [meta sequenceId="29"] GET /portal/index.html 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)" 10.10.1.2',
  '<86>Nov  2 08:01:02 web-01 sshd[2211]: Failed password for invalid user admin from 203.0.113.9 port 52211 ssh2',
  '<166>Aug 18 2026 18:24:29 asa-fw-01 : %ASA-6-302013: Built outbound TCP connection 9 for outside:203.0.113.20/443 (203.0.113.20/443) to inside:192.0.2.30/51000 (198.51.100.10/51000)',
  'date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" subtype="forward" level="notice" vd="vdom1" srcip=10.1.100.11 srcport=58012 dstip=81.2.69.142 dstport=80 proto=6 action="close" sentbyte=1188 rcvdbyte=1224',
  '<134>Nov 27 12:00:00 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 act=blocked',
  'Nov 30 16:44:36 PA-220 1,2018/11/30 16:44:36,012801096514,TRAFFIC,end,2049,2018/11/30 16:44:36,192.168.15.224,175.16.199.1,192.168.1.63,175.16.199.1,rule1,,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2018/11/30 16:44:36,28191,1,52984,443,37679,443,0x403000,tcp,allow,5000,2500,2500,20',
].map((l) => Buffer.from(l));

const ctx: ParseContext = {
  senderIp: '192.0.2.10',
  senderPort: 514,
  receivedAt: new Date('2026-11-27T05:00:00.000Z'),
  eventId: 'bench',
  inputName: 'bench',
  transport: 'tcp',
};

const ENVELOPE_ONLY: ParseOptions = { decoders: [] };

function loop(n: number, options?: ParseOptions): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) parseSyslog(lines[i % lines.length]!, ctx, options);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function main(): void {
  const n = Number(process.env.BENCH_LINES ?? 300_000);
  loop(Math.min(n, 20_000));
  loop(Math.min(n, 20_000), ENVELOPE_ONLY);
  // Interleaved rounds, best of three: a shared machine varies run to run.
  let auto = Infinity;
  let envelope = Infinity;
  for (let round = 0; round < 3; round++) {
    auto = Math.min(auto, loop(n));
    envelope = Math.min(envelope, loop(n, ENVELOPE_ONLY));
  }
  console.log(
    JSON.stringify(
      {
        lines: n,
        decoders_auto_lines_per_second: Math.round(n / auto),
        envelope_only_lines_per_second: Math.round(n / envelope),
        node: process.version,
      },
      null,
      2,
    ),
  );
}

main();
