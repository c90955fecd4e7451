import { getField } from '@citysoc/ecs';
import { decoderByName, parseSyslog, type ParseContext } from '../index';

/** One row per behaviour: a line, the decoder that must claim it, and the ECS values it must produce. */
const ctx: ParseContext = {
  senderIp: '192.0.2.250',
  senderPort: 514,
  receivedAt: new Date('2026-11-27T12:00:00.000Z'),
  eventId: 'decoders',
  inputName: 'syslog-udp',
  transport: 'udp',
  timezone: 'UTC',
};

type Row = [sentence: string, line: string, parser: string, fields: Record<string, unknown>];

const rows: Row[] = [
  [
    'CEF unescapes header pipes and maps the common extension keys',
    '<134>Nov 27 12:00:00 arc CEF:0|Ven\\|dor|Prod|1.2|100|Worm stopped|10|src=10.0.0.1 spt=1232 dst=2.1.2.2 dpt=80 proto=TCP act=blocked suser=alice msg=a b\\=c',
    'cef',
    {
      'observer.vendor': 'Ven|dor',
      'observer.product': 'Prod',
      'event.code': '100',
      'event.severity': 10,
      'source.ip': '10.0.0.1',
      'source.port': 1232,
      'destination.ip': '2.1.2.2',
      'network.transport': 'tcp',
      'event.action': 'blocked',
      'user.name': 'alice',
      message: 'a b=c',
      'related.ip': ['10.0.0.1', '2.1.2.2'],
      process: undefined,
    },
  ],
  [
    'CEF maps translated addresses to NAT and rt to @timestamp',
    'CEF:0|V|P|1|9|n|Low|src=10.0.0.1 sourceTranslatedAddress=198.51.100.1 sourceTranslatedPort=4000 rt=1764244800000',
    'cef',
    {
      'source.nat.ip': '198.51.100.1',
      'source.nat.port': 4000,
      'event.severity': 3,
      '@timestamp': '2025-11-27T12:00:00.000Z',
    },
  ],
  [
    'LEEF 2.0 honours a hex delimiter',
    'LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21^usrName=joe',
    'leef',
    {
      'source.ip': '10.0.1.8',
      'destination.port': 21,
      'event.severity': 5,
      'user.name': 'joe',
      'event.code': '41',
    },
  ],
  [
    'LEEF 2.0 reads x09 as a tab',
    'LEEF:2.0|V|P|1|7|x09|src=10.0.0.9\tdst=10.0.0.10\tproto=UDP',
    'leef',
    { 'source.ip': '10.0.0.9', 'destination.ip': '10.0.0.10', 'network.transport': 'udp' },
  ],
  [
    'LEEF 1.0 takes tab-separated attributes',
    '<13>Jan 18 11:07:53 host LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.1\tdst=172.50.123.1\tsev=5',
    'leef',
    { 'source.ip': '192.0.2.1', 'destination.ip': '172.50.123.1', process: undefined },
  ],
  [
    'ASA outbound connections put the inside host in source with its mapped address as NAT',
    '<166>Aug 18 2026 18:24:29 asa : %ASA-6-302013: Built outbound TCP connection 9 for outside:203.0.113.20/443 (203.0.113.20/443) to inside:192.0.2.30/51000 (198.51.100.10/51001)',
    'cisco_asa',
    {
      'source.ip': '192.0.2.30',
      'source.port': 51000,
      'source.nat.ip': '198.51.100.10',
      'source.nat.port': 51001,
      'destination.ip': '203.0.113.20',
      'network.direction': 'outbound',
      'event.action': 'flow-creation',
      'event.type': ['connection', 'start'],
      'observer.product': 'asa',
    },
  ],
  [
    'ASA teardown is a connection end',
    '<166>Aug 18 2026 18:24:29 asa : %ASA-6-302014: Teardown TCP connection 9 for outside:203.0.113.20/443 to inside:192.0.2.30/51000 duration 0:00:01 bytes 100 TCP FINs',
    'cisco_asa',
    { 'event.type': ['connection', 'end'], 'event.action': 'flow-expiration', 'source.ip': '203.0.113.20' },
  ],
  [
    'ASA 106023 deny by access-group is a denied connection',
    '%ASA-4-106023: Deny tcp src outside:198.51.100.2/4444 dst inside:192.0.2.5/22 by access-group "outside_in" [0x0, 0x0]',
    'cisco_asa',
    {
      'event.outcome': 'failure',
      'source.port': 4444,
      'destination.ip': '192.0.2.5',
      'network.transport': 'tcp',
    },
  ],
  [
    'FTD auth rejection names the user and the client address',
    '<166>May 01 2026 09:24:32 fw : %FTD-6-113005: AAA user authentication Rejected : reason = Invalid password : server = 10.0.1.20 : user = bob : user IP = 10.0.100.30',
    'cisco_asa',
    {
      'observer.product': 'ftd',
      'source.ip': '10.0.100.30',
      'source.user.name': 'bob',
      'event.outcome': 'failure',
    },
  ],
  [
    'IOS reads the inner PRI, sequence number and device clock',
    'Aug 22 05:11:06 relay <189>5: 000006: *Jan  2 00:00:55.733: %SYS-5-LOG_CONFIG_CHANGE: Console logging disabled',
    'cisco_ios',
    {
      'log.syslog.priority': 189,
      'event.code': 'LOG_CONFIG_CHANGE',
      'event.severity': 5,
      message: 'Console logging disabled',
      '@timestamp': '2027-01-02T00:00:55.733Z',
    },
  ],
  [
    'IOS access-list logs fill source and destination',
    '<190>12: sw1: Jan 16 2026 22:11:43: %SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.1(1234) -> 10.2.2.2(80), 1 packet',
    'cisco_ios',
    { 'source.ip': '10.1.1.1', 'destination.port': 80, 'event.action': 'deny', 'log.syslog.hostname': 'sw1' },
  ],
  [
    'FortiGate key=value maps trans* to source NAT',
    'date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" subtype="forward" srcip=10.1.100.11 srcport=58012 dstip=81.2.69.142 dstport=80 proto=6 action="deny" transip=172.16.200.2 transport=58012',
    'fortigate',
    {
      'source.nat.ip': '172.16.200.2',
      'event.outcome': 'failure',
      'network.transport': 'tcp',
      '@timestamp': '2019-05-10T11:37:47.000Z',
    },
  ],
  [
    'PAN-OS TRAFFIC uses the documented CSV positions',
    'Nov 30 16:44:36 PA-220 1,2018/11/30 16:44:36,0128,TRAFFIC,end,2049,2018/11/30 16:44:36,192.168.15.224,175.16.199.1,192.168.1.63,175.16.199.1,rule1,alice,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2018/11/30 16:44:36,28191,1,52984,443,37679,443,0x403000,tcp,allow,5000,2500,2500,20',
    'panos',
    {
      'event.action': 'flow_terminated',
      'event.outcome': 'success',
      'source.user.name': 'alice',
      'source.bytes': 2500,
      'source.nat.port': 37679,
    },
  ],
  [
    'Junos RT_FLOW structured data becomes a connection with NAT',
    '<14>1 2026-11-14T09:37:51.184+01:00 srx RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.0.0.1" source-port="594" destination-address="10.128.0.1" destination-port="10400" nat-source-address="192.0.2.1" nat-source-port="6333" protocol-id="17" policy-name="p1" source-zone-name="trust" destination-zone-name="untrust" username="N/A"]',
    'junos',
    {
      'event.action': 'flow_started',
      'source.nat.ip': '192.0.2.1',
      'network.transport': 'udp',
      'user.name': undefined,
    },
  ],
  [
    'Check Point bracketed payload is claimed despite strict RFC 5424',
    '<134>1 2026-03-29T13:19:20Z gw-da58d3 CheckPoint 7776 - [action:"Drop"; ifdir:"inbound"; ifname:"eth0"; src:"10.0.0.1"; s_port:"5000"; dst:"10.0.0.2"; service:"53"; proto:"17"; product:"VPN-1 & FireWall-1"; time:"1585487960"]',
    'checkpoint',
    {
      'event.outcome': 'failure',
      'network.direction': 'inbound',
      'destination.port': 53,
      'observer.product': 'VPN-1 & FireWall-1',
    },
  ],
  [
    'SonicWall endpoints carry ip:port:interface',
    'id=firewall sn=0017C5 time="2026-11-15 23:30:51 UTC" fw=10.0.0.1 pri=6 c=1024 m=537 msg="Connection Closed" src=192.168.1.5:53356:X0 dst=1.2.3.4:443:X1 proto=tcp/https sent=123 rcvd=456',
    'sonicwall',
    {
      'source.port': 53356,
      'destination.ip': '1.2.3.4',
      'network.transport': 'tcp',
      'event.type': ['connection', 'end'],
      'destination.bytes': 456,
    },
  ],
  [
    'pfSense filterlog CSV gives a blocked inbound connection',
    '<134>Nov 27 12:00:00 pf filterlog[123]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,198.51.100.7,10.0.0.2,51000,22,0,S,1,,64240,,mss',
    'pfsense',
    {
      'event.action': 'block',
      'network.direction': 'inbound',
      'source.ip': '198.51.100.7',
      'destination.port': 22,
    },
  ],
  [
    'UFW BLOCK prefixes make a denied netfilter connection',
    'Nov 27 11:59:59 fw01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.4 DST=10.0.0.1 PROTO=TCP SPT=44321 DPT=23',
    'iptables',
    {
      'event.type': ['denied', 'connection'],
      'source.ip': '198.51.100.4',
      'destination.port': 23,
      'network.transport': 'tcp',
    },
  ],
  [
    'sshd accepted logins are successful authentications with the client address',
    '<38>Feb 21 21:54:44 localhost sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2',
    'linux_auth',
    {
      'event.outcome': 'success',
      'user.name': 'vagrant',
      'source.ip': '10.0.2.2',
      'source.port': 63673,
      'related.hosts': ['localhost'],
    },
  ],
  [
    'sudo records the invoking and target users',
    'Aug  6 19:42:10 server01 sudo[18432]: alice : PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id',
    'linux_auth',
    { 'user.name': 'alice', 'related.user': ['alice', 'root'], 'event.category': ['process'] },
  ],
];

describe('payload decoders', () => {
  it.each(rows)('%s', (_sentence, line, parser, want) => {
    const r = parseSyslog(Buffer.from(line), ctx);
    if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
    expect(r.event.citysoc?.parser).toBe(parser);
    const got: Record<string, unknown> = {};
    for (const k of Object.keys(want)) got[k] = getField(r.event, k);
    expect(got).toEqual(want);
  });

  it.each(rows)('%s only when that decoder is pinned or auto-detected', (_s, line, parser) => {
    const pinned = parseSyslog(Buffer.from(line), ctx, { decoders: [decoderByName(parser)!] });
    expect(pinned.ok && pinned.event.citysoc?.parser).toBe(parser);
  });

  it.each([
    ['a plain message', '<13>Nov 27 12:00:00 host app: hello world'],
    ['a percent sign that is not a mnemonic', '<13>Nov 27 12:00:00 host app: 100% done - ok'],
    ['key=value text that is not FortiGate', '<13>Nov 27 12:00:00 host app: user=bob action=login'],
    ['a CSV line that is not PAN-OS', '<13>Nov 27 12:00:00 host app: 1,2,3,4,5,6,7,8'],
    ['a program named like an Object member', '<13>Nov 27 12:00:00 host constructor: x'],
  ])('%s stays with the envelope parser', (_s, line) => {
    const r = parseSyslog(Buffer.from(line), ctx);
    expect(r.ok && r.event.citysoc?.parser).toBe('rfc3164');
    expect(r.ok && r.event.source?.ip).toBe('192.0.2.250');
  });
});
