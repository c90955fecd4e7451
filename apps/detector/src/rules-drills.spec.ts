import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventId } from '@citysoc/ecs';
import { parseSyslog } from '@citysoc/syslog';
import { corpusDir } from '@citysoc/testing';
import { loadRuleSet } from './rule-set';

/**
 * Fixtures of the rules the drill starter library needs (rules/vms, rules/windows,
 * rules/network/vpn_admin_login_abroad.yml): real-looking device lines through the collector's parser and
 * the detector's engine, each sequence on a fresh engine so correlation state never carries over. Every
 * correlation has a near miss (one below its threshold, or one step missing) that must stay silent.
 */
const root = path.resolve(__dirname, '..', '..', '..');

function detectAll(lines: string[], stepMs = 2000, sender = '10.10.1.1'): string[] {
  const engine = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' }).engine;
  const t0 = Date.parse('2026-11-27T03:00:00Z');
  const titles: string[] = [];
  lines.forEach((line, i) => {
    const at = new Date(t0 + i * stepMs);
    const raw = Buffer.from(line.replace('${epoch}', String(at.getTime())));
    const r = parseSyslog(raw, {
      senderIp: sender,
      senderPort: 514,
      receivedAt: at,
      eventId: eventId(sender, raw),
      inputName: 't',
      transport: 'tcp',
      timezone: 'Asia/Ho_Chi_Minh',
    });
    if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
    for (const a of engine.detect(r.event, at)) titles.push(a.rule.title);
  });
  return titles.sort();
}

const cef = (user: string, outcome: 'failure' | 'success', src = '198.51.100.61') =>
  `<133>Nov 27 10:00:00 vms-01 CEF:0|Milestone|XProtect|2023 R3|UserLogin|User login|5|rt=\${epoch} src=${src} spt=50123 dst=10.30.0.20 dpt=443 suser=${user} act=login outcome=${outcome} dvchost=vms-01`;
const STUFFING = 'Credential stuffing against the video management system';
const STUFFED = 'Video management system login succeeded after credential stuffing from the same address';

describe('rules/vms: VMS credential stuffing', () => {
  const users = (n: number) => Array.from({ length: n }, (_, i) => `user${i + 1}`);
  it.each([
    ['10 distinct names fail from one address', users(10).map((u) => cef(u, 'failure')), [STUFFING]],
    ['9 distinct names: below the threshold', users(9).map((u) => cef(u, 'failure')), []],
    ['one name failing 20 times is not stuffing', Array(20).fill(cef('giamsat01', 'failure')), []],
    [
      '10 names from 10 addresses (a control-room subnet) are not one source',
      users(10).map((u, i) => cef(u, 'failure', `10.30.1.${i + 10}`)),
      [],
    ],
    [
      'stuffing then a success from the same address',
      [...users(12).map((u) => cef(u, 'failure')), cef('giamsat03', 'success')],
      [STUFFED, STUFFING],
    ],
    [
      'stuffing, then a success from another address',
      [...users(12).map((u) => cef(u, 'failure')), cef('giamsat03', 'success', '10.30.1.10')],
      [STUFFING],
    ],
    [
      'a CEF login failure of another product is not a VMS login',
      users(12).map((u) => cef(u, 'failure').replace('Milestone|XProtect', 'Acme|WebPortal')),
      [],
    ],
  ])('%s', (_name, lines, titles) => {
    expect(detectAll(lines)).toEqual([...titles].sort());
  });
});

const win = (exe: string, cmd: string, host = 'srv-file-quan3') =>
  `<110>Nov 27 10:00:00 ${host} Microsoft-Windows-Security-Auditing[4]: ${JSON.stringify({
    EventTime: '2026-11-27 10:00:00',
    Hostname: host,
    EventID: 4688,
    SourceName: 'Microsoft-Windows-Security-Auditing',
    Channel: 'Security',
    EventType: 'AUDIT_SUCCESS',
    SubjectUserName: 'svc_backup',
    NewProcessName: `C:\\Windows\\System32\\${exe}`,
    CommandLine: cmd,
  })}`;
const SHADOW = 'Shadow copies deleted with a system utility';
const BCD = 'Windows recovery disabled with bcdedit';
const MASS = 'Many Windows services stopped on one host';
const CHAIN =
  'Ransomware precursors on one Windows host (shadow copies deleted, recovery disabled, services stopped)';
const stops = (n: number, host?: string) =>
  Array.from({ length: n }, (_, i) => win('net.exe', `net stop svc${i} /y`, host));

describe('rules/windows: ransomware precursors (NXLog JSON, Security 4688)', () => {
  it.each([
    ['vssadmin delete shadows', [win('vssadmin.exe', 'vssadmin.exe delete shadows /all /quiet')], [SHADOW]],
    ['wmic shadowcopy delete', [win('wbem\\WMIC.exe', 'wmic shadowcopy delete')], [SHADOW]],
    ['vssadmin create shadow', [win('vssadmin.exe', 'vssadmin create shadow /for=D:')], []],
    ['bcdedit recoveryenabled no', [win('bcdedit.exe', 'bcdedit /set {default} recoveryenabled No')], [BCD]],
    [
      'bcdedit bootstatuspolicy',
      [win('bcdedit.exe', 'bcdedit /set {default} bootstatuspolicy ignoreallfailures')],
      [BCD],
    ],
    ['bcdedit /enum', [win('bcdedit.exe', 'bcdedit /enum {current}')], []],
    ['10 services stopped', stops(10), [MASS]],
    ['9 services stopped', stops(9), []],
    ['10 stops over two hosts', [...stops(5, 'srv-a'), ...stops(5, 'srv-b')], []],
    [
      'all three precursors on one host',
      [
        win('vssadmin.exe', 'vssadmin.exe delete shadows /all /quiet'),
        win('bcdedit.exe', 'bcdedit /set {default} recoveryenabled No'),
        ...stops(10),
      ],
      [BCD, CHAIN, MASS, SHADOW],
    ],
    [
      'shadows deleted and services stopped, recovery untouched: no chain',
      [win('vssadmin.exe', 'vssadmin.exe delete shadows /all /quiet'), ...stops(10)],
      [MASS, SHADOW],
    ],
  ])('%s', (_name, lines, titles) => {
    expect(detectAll(lines, 1000)).toEqual([...titles].sort());
  });
});

const vpn = (user: string, remip: string, extra = 'tunneltype="ssl-tunnel"') =>
  `<189>Nov 27 10:00:00 fg-city-vpn-01 date=2026-11-27 time=10:00:00 devname="fg-city-vpn-01" devid="FG200FTK21000007" logid="0101039947" type="event" subtype="vpn" level="information" vd="root" logdesc="SSL VPN tunnel up" action="tunnel-up" ${extra} tunnelid=1234 remip=${remip} tunnelip=10.212.134.20 user="${user}" group="VPN" reason="tunnel established" msg="SSL tunnel established"`;
const ABROAD = 'FortiGate SSL-VPN login of an administrator account from abroad';

describe('rules/network/vpn_admin_login_abroad.yml', () => {
  it.each([
    [
      'admin from a TEST-NET address (not in the home list)',
      vpn('quantri.hathanh', '203.0.113.77'),
      [ABROAD],
    ],
    ['admin account named admin from abroad', vpn('admin', '81.2.69.144'), [ABROAD]],
    ['admin from a VNPT address', vpn('quantri.hathanh', '14.162.37.21'), []],
    ['admin from a Viettel address', vpn('admin', '171.232.4.9'), []],
    ['admin from a private address', vpn('admin', '10.10.0.5'), []],
    ['staff member from abroad', vpn('nguyen.thu', '198.51.100.40'), []],
    [
      'an IPsec tunnel (remip is a peer, not a login source)',
      vpn('admin', '203.0.113.77', 'tunneltype="ipsec"'),
      [],
    ],
  ])('%s', (_name, line, titles) => {
    expect(detectAll([line])).toEqual(titles);
  });
});

/**
 * What SigmaHQ itself says about the ransomware drill's lines: its process_creation rules now match the
 * forwarded 4688 events (the decoder keeps winlog.event_data), so a detector loading SigmaHQ alongside
 * rules/ sees the same precursors.
 */
const corpus = corpusDir();
(corpus ? describe : describe.skip)('SigmaHQ rules on the ransomware drill lines', () => {
  const dir = path.join(corpus ?? '', 'sigma', 'rules', 'windows', 'process_creation');
  const sigmahq = loadRuleSet({
    paths: [
      path.join(dir, 'proc_creation_win_susp_shadow_copies_deletion.yml'),
      path.join(dir, 'proc_creation_win_bcdedit_boot_conf_tamper.yml'),
      path.join(dir, 'proc_creation_win_net_stop_service.yml'),
    ],
    pipeline: path.join(root, 'rules', 'pipelines', 'citysoc.yml'),
  });
  const ids = (line: string) => {
    const raw = Buffer.from(line);
    const r = parseSyslog(raw, {
      senderIp: '10.10.1.1',
      senderPort: 514,
      receivedAt: new Date('2026-11-27T03:00:00Z'),
      eventId: eventId('10.10.1.1', raw),
      inputName: 't',
      transport: 'tcp',
    });
    if (!r.ok) throw new Error(r.reason);
    return sigmahq.engine.detect(r.event).map((a) => a.rule.id);
  };
  it('load through the citysoc pipeline', () => {
    expect(sigmahq.errors).toEqual([]);
    expect(sigmahq.engine.notApplicable).toEqual([]);
    expect(readFileSync(path.join(dir, 'proc_creation_win_net_stop_service.yml'), 'utf8')).toContain(
      '88872991-7445-4a22-90b2-a3adadb0e827',
    );
  });
  it.each([
    [
      win('vssadmin.exe', 'vssadmin.exe delete shadows /all /quiet'),
      ['c947b146-0abc-4c87-9c64-b17e9d7274a2'],
    ],
    [
      win('bcdedit.exe', 'bcdedit /set {default} recoveryenabled No'),
      ['1444443e-6757-43e4-9ea4-c8fc705f79a2'],
    ],
    [win('net.exe', 'net stop VeeamBackupSvc /y'), ['88872991-7445-4a22-90b2-a3adadb0e827']],
    [win('vssadmin.exe', 'vssadmin create shadow /for=D:'), []],
    [win('bcdedit.exe', 'bcdedit /enum {current}'), []],
  ])('%s', (line, expected) => {
    expect(ids(line)).toEqual(expected);
  });
});
