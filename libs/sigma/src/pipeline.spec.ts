import path from 'node:path';
import { loadRulesFromText } from './load';
import { findPipeline, loadPipelineFile, loadPipelineFromText } from './pipeline';
import { compileRules } from './ruleset';

const root = path.resolve(__dirname, '..', '..', '..');
const shipped = loadPipelineFile(path.join(root, 'rules', 'pipelines', 'citysoc.yml'));

describe('the shipped citysoc pipeline', () => {
  it('validates', () => {
    expect(shipped.errors).toEqual([]);
    expect(shipped.pipeline?.name).toBe('citysoc');
  });

  const p = shipped.pipeline!;
  it.each([
    ['linux without service', { product: 'linux' }, ['linux']],
    ['linux/sshd', { product: 'linux', service: 'sshd' }, ['linux-sshd']],
    ['cisco with any service', { product: 'cisco', service: 'aaa' }, ['cisco']],
    ['a firewall category', { category: 'firewall' }, ['firewall']],
    [
      'windows/security (a service beats the wildcard)',
      { product: 'windows', service: 'security' },
      ['windows-security'],
    ],
    [
      'windows process_creation',
      { product: 'windows', category: 'process_creation' },
      ['windows-process-creation'],
    ],
    ['linux process_creation (not collected)', { product: 'linux', category: 'process_creation' }, []],
    ['an unknown linux service', { product: 'linux', service: 'nonexistent' }, []],
    ['flows as network_connection', { category: 'network_connection' }, ['network-connection']],
    ['case-insensitive values', { product: 'Linux', service: 'SSHD' }, ['linux-sshd']],
  ])('%s resolves to its entries', (_n, ls, names) => {
    expect(p.entriesFor(ls)).toEqual(names);
    expect(p.logsource(ls) === null).toBe(names.length === 0);
  });

  const syslog = (program: string, extra: Record<string, unknown> = {}) => ({
    event: { module: 'syslog' },
    process: { name: program },
    ...extra,
  });
  const sysmon = (id: number) => ({
    winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: String(id) },
  });
  it.each([
    ['linux/sshd selects sshd lines', { product: 'linux', service: 'sshd' }, syslog('sshd'), true],
    ['linux/sshd does not select sudo lines', { product: 'linux', service: 'sshd' }, syslog('sudo'), false],
    ['linux/auth selects sudo lines', { product: 'linux', service: 'auth' }, syslog('sudo'), true],
    ['linux selects any host syslog line', { product: 'linux' }, syslog('kernel'), true],
    [
      'linux does not select a firewall line',
      { product: 'linux' },
      syslog('kernel', { observer: { vendor: 'Fortinet' } }),
      false,
    ],
    [
      'fortigate selects Fortinet events',
      { product: 'fortigate', service: 'event' },
      { observer: { vendor: 'Fortinet' } },
      true,
    ],
    [
      'cisco selects an undecoded IOS mnemonic',
      { product: 'cisco', service: 'bgp' },
      { event: { module: 'syslog', original: '<189>12: %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Down' } },
      true,
    ],
    [
      'flows are network_connection',
      { category: 'network_connection' },
      { event: { category: ['network'], type: ['connection'], dataset: 'flow.netflow' } },
      true,
    ],
    [
      'flow options data (sampling, interface names) is not a connection',
      { product: 'citysoc', service: 'flow' },
      { event: { category: ['network'], type: ['info'], dataset: 'flow' } },
      false,
    ],
    [
      'syslog firewall lines are not flows',
      { category: 'network_connection' },
      { event: { category: ['network'], dataset: 'syslog' } },
      false,
    ],
    [
      'winlogbeat sysmon 1 is process_creation',
      { product: 'windows', category: 'process_creation' },
      sysmon(1),
      true,
    ],
    [
      'flat NXLog 4688 is process_creation',
      { product: 'windows', category: 'process_creation' },
      { Channel: 'Security', EventID: 4688 },
      true,
    ],
    [
      'sysmon 3 is not process_creation',
      { product: 'windows', category: 'process_creation' },
      sysmon(3),
      false,
    ],
  ])('%s', (_n, ls, event, expected) => {
    expect(p.logsource(ls)!(event)).toBe(expected);
  });

  it('maps Sigma field names to ECS paths, with alternatives and the unmapped fallback', () => {
    expect(p.fieldsFor({ category: 'webserver' })('cs-uri-query')).toEqual(['url.query']);
    expect(p.fieldsFor({ category: 'firewall' })('dst_port')).toEqual(['destination.port']);
    expect(p.fieldsFor({ product: 'windows', category: 'process_creation' })('Image')[0]).toBe(
      'winlog.event_data.Image',
    );
    expect(p.fieldsFor({ product: 'windows', service: 'security' })('TargetUserName')).toEqual([
      'winlog.event_data.TargetUserName',
      'TargetUserName',
    ]);
    expect(p.fieldsFor({ product: 'linux', service: 'sshd' })('message')).toEqual(['message']);
  });

  it('compiles rules through it: routing, field mapping and alternative paths', () => {
    const { rules } = loadRulesFromText(
      `title: web sqli
id: r-web
logsource: { category: webserver }
detection:
  sel: { cs-uri-query|contains: "' OR " }
  condition: sel
---
title: mimikatz
id: r-win
logsource: { product: windows, category: process_creation }
detection:
  sel: { Image|endswith: '\\mimikatz.exe' }
  condition: sel
`,
      'inline.yml',
    );
    const set = compileRules(rules, {
      logsource: (ls) => p.logsource(ls),
      fieldsFor: (ls) => p.fieldsFor(ls),
    });
    const ids = (e: Record<string, unknown>) => set.match(e).map((m) => m.rule.id);
    expect(
      ids({ event: { module: 'syslog' }, process: { name: 'nginx' }, url: { query: "id=1' OR '1'='1" } }),
    ).toEqual(['r-web']);
    expect(
      ids({ event: { module: 'syslog' }, process: { name: 'sshd' }, url: { query: "id=1' OR '1'='1" } }),
    ).toEqual([]);
    const winlog = {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      event_id: 1,
      event_data: { Image: 'C:\\t\\mimikatz.exe' },
    };
    expect(ids({ winlog })).toEqual(['r-win']);
    expect(ids({ Channel: 'Security', EventID: 4688, NewProcessName: 'C:\\t\\mimikatz.exe' })).toEqual([
      'r-win',
    ]);
  });
});

describe('pipeline validation', () => {
  it.each([
    [
      'a missing name',
      'logsources:\n  - name: a\n    logsource: { product: x }\n    events: { a: 1 }\n',
      1,
      /name/,
    ],
    [
      'an unknown key, at its line',
      'name: p\nlogsources:\n  - name: a\n    logsource: { product: x }\n    events: { a: 1 }\n    colour: red\n',
      3,
      /additional properties/,
    ],
    [
      'an unmapped template without {field}',
      "name: p\nunmapped: ['x.y']\nlogsources:\n  - name: a\n    logsource: { product: x }\n    events: { a: 1 }\n",
      2,
      /pattern/,
    ],
    [
      'a broken event selection',
      'name: p\nlogsources:\n  - name: a\n    logsource: { product: x }\n    events: { a|nosuch: 1 }\n',
      5,
      /unknown modifier/,
    ],
    [
      'a duplicate entry',
      'name: p\nlogsources:\n  - name: a\n    logsource: { product: x }\n    events: { a: 1 }\n  - name: a\n    logsource: { product: y }\n    events: false\n',
      6,
      /twice/,
    ],
    ['YAML syntax', 'name: p\nlogsources: [\n', 3, /./],
  ])('reports %s as file:line', (_n, text, line, msg) => {
    const r = loadPipelineFromText(text, 'p.yml');
    expect(r.pipeline).toBeUndefined();
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]!.file).toBe('p.yml');
    expect(r.errors[0]!.line).toBe(line);
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(msg);
  });

  it('finds a pipeline by name in a pipelines folder, or takes a path', () => {
    const dir = path.join(root, 'rules', 'pipelines');
    expect(findPipeline('citysoc', [dir])).toBe(path.join(dir, 'citysoc.yml'));
    expect(findPipeline('nosuch', [dir])).toBeUndefined();
    expect(findPipeline('./x.yml', [dir])).toBe('./x.yml');
  });
});
