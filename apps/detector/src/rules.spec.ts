import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eventId } from '@citysoc/ecs';
import { IocSet, markIocs } from '@citysoc/enrich';
import { decodeDatagram, flowToEcs, MemoryTemplateCache } from '@citysoc/flow';
import { parseSyslog } from '@citysoc/syslog';
import { corpusDir } from '@citysoc/testing';
import { isDrill, markDrillEvent } from '@citysoc/drills';
import { loadRuleSet } from './rule-set';

/**
 * The rules shipped in rules/ must fire on what the collector really produces from real-looking lines:
 * a decoder change that moves a field would otherwise silently blind a rule.
 */
const root = path.resolve(__dirname, '..', '..', '..');
const loaded = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' });
const engine = loaded.engine;

function titlesFor(line: string): string[] {
  const raw = Buffer.from(line);
  const r = parseSyslog(raw, {
    senderIp: '10.10.1.1',
    senderPort: 514,
    receivedAt: new Date('2026-11-27T03:00:00Z'),
    eventId: eventId('10.10.1.1', raw),
    inputName: 't',
    transport: 'tcp',
  });
  if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
  return engine
    .detect(r.event)
    .map((a) => a.rule.title)
    .sort();
}

describe('citysoc rules on parsed syslog', () => {
  it('load and compile without errors', () => {
    expect(loaded.errors).toEqual([]);
    expect(loaded.pipeline).toBe('citysoc');
    // Every shipped rule has a logsource the shipped pipeline selects events for.
    expect(engine.notApplicable.map((r) => r.source.file)).toEqual([]);
    expect(engine.active).toBeGreaterThan(0);
  });

  it.each([
    [
      '<38>1 2026-11-27T10:00:00+07:00 web-01 sshd 2211 - - Failed password for invalid user admin from 203.0.113.45 port 52114 ssh2',
      ['SSH authentication failure'],
    ],
    [
      '<86>Nov 27 10:00:00 web-01 sshd[2211]: Invalid user oracle from 203.0.113.9 port 4242',
      ['SSH authentication failure'],
    ],
    [
      '<38>1 2026-11-27T10:00:00+07:00 web-01 sshd 2214 - - Accepted password for root from 10.10.1.23 port 40022 ssh2',
      ['Successful SSH login as root'],
    ],
    [
      '<38>1 2026-11-27T10:00:00+07:00 web-01 sshd 2214 - - Accepted publickey for deploy from 10.10.1.23 port 40022 ssh2',
      [],
    ],
    [
      '<85>1 2026-11-27T10:00:00+07:00 db-02 sudo - - - nguyenvana : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/nguyenvana ; USER=root ; COMMAND=/bin/bash',
      ['sudo authentication failure or refused command'],
    ],
    [
      '<86>Nov 27 10:00:00 db-02 useradd[991]: new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash',
      ['Local user account created'],
    ],
    [
      '<189>1 2026-11-27T10:00:00+07:00 rt-01 ios - - - %SYS-5-CONFIG_I: Configured from console by vty0 (10.20.30.40)',
      ['Network device configuration changed'],
    ],
    [
      '<189>123: *Nov 27 10:00:00.123: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.20.30.40)',
      ['Network device configuration changed'],
    ],
    ['<14>1 2026-11-27T10:00:00+07:00 cam-01 vms - - - Camera 17 stream restored', []],
  ])('%s', (line, titles) => {
    expect(titlesFor(line)).toEqual(titles);
  });

  // The collector's own health events (apps/collector/src/sources/syslog/monitor.ts; their fields are
  // asserted on a real collector in listeners.int.ts).
  it.each([
    ['source-silent', ['Syslog source went silent']],
    ['source-resumed', []],
    ['drill-marker-forged', ['Forged drill marker from an unregistered sender']],
  ])('a collector %s event', (action, titles) => {
    const event = {
      '@timestamp': '2026-11-27T03:00:00.000Z',
      event: {
        id: `ev-${action}`,
        created: '2026-11-27T03:00:00.000Z',
        kind: 'event',
        action,
        module: 'syslog',
      },
      process: { name: 'citysoc-collector' },
      message: 'syslog source hk-fw1 sent nothing for 901 s (threshold 900 s)',
      citysoc: { syslog_source: { name: 'hk-fw1' } },
    };
    expect(
      engine
        .detect(event as never)
        .map((a) => a.rule.title)
        .sort(),
    ).toEqual(titles);
  });
});

/**
 * The flow rules against what softflowd really exported for the reference capture (corpus
 * flow/softflowd/*: a SYN scan of 1024 ports and 40 SSH sessions, among ordinary DNS/HTTPS/NTP/ICMP).
 */
const flowCorpus = corpusDir();
const describeFlows = flowCorpus ? describe : describe.skip;
if (!flowCorpus) console.warn('corpus not found: flow rule checks skipped');

describeFlows('citysoc rules on softflowd flows', () => {
  it.each(['v5', 'v9', 'ipfix'])('%s: the port scan and the SSH brute force raise one alert each', (v) => {
    const dir = path.join(flowCorpus!, 'flow', 'softflowd', v);
    const cache = new MemoryTemplateCache();
    // A fresh engine per version: correlation windows must not carry over between the three exports.
    const e = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' }).engine;
    const receivedAt = new Date('2024-05-01T10:03:00Z');
    const alerts: Array<[string, string]> = [];
    for (const f of readdirSync(dir).sort()) {
      const { records } = decodeDatagram(
        readFileSync(path.join(dir, f)),
        { exporter: '10.0.0.1', receivedAt },
        cache,
      );
      for (const r of records)
        for (const a of e.detect(flowToEcs(r, { receivedAt }), receivedAt))
          alerts.push([a.rule.title, a.entity]);
    }
    expect(alerts.sort()).toEqual([
      [
        'Port scan - one source reaches many TCP ports of one host',
        JSON.stringify({ 'source.ip': '10.66.6.6', 'destination.ip': '10.20.0.15' }),
      ],
      [
        'SSH brute force - many SSH connections from one source to one host',
        JSON.stringify({ 'source.ip': '10.66.6.7', 'destination.ip': '10.20.0.22' }),
      ],
    ]);
  });
});

describe('the national IOC rule', () => {
  const iocs = new IocSet([
    { type: 'ipv4-addr', value: '198.51.100.77', source: 'national:c1', indicator_id: 'indicator--1' },
    { type: 'domain-name', value: 'evil.example', source: 'national:c1', indicator_id: 'indicator--2' },
  ]);
  const parsed = (line: string) => {
    const raw = Buffer.from(line);
    const r = parseSyslog(raw, {
      senderIp: '10.10.1.1',
      receivedAt: new Date('2026-11-27T03:00:00Z'),
      eventId: eventId('10.10.1.1', raw),
      inputName: 't',
      transport: 'tcp',
    });
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  };

  it.each([
    ['an IOC source address', 'Accepted password for root from 198.51.100.77 port 4242 ssh2', true],
    ['an ordinary address', 'Accepted password for root from 198.51.100.78 port 4242 ssh2', false],
  ])('%s', (_name, msg, fires) => {
    const e = parsed(`<38>1 2026-11-27T10:00:00+07:00 web-01 sshd 2211 - - ${msg}`);
    markIocs(e, iocs);
    const titles = engine.detect(e).map((a) => a.rule.title);
    expect(titles.includes('Traffic with an address or domain the national center flagged')).toBe(fires);
  });

  it('fires on a flow too', () => {
    const flow = {
      '@timestamp': '2026-11-27T03:00:00Z',
      event: {
        id: 'f1',
        created: '2026-11-27T03:00:00Z',
        kind: 'event' as const,
        category: ['network'],
        type: ['connection'],
        dataset: 'flow',
      },
      source: { ip: '10.20.0.5', port: 51000 },
      destination: { ip: '198.51.100.77', port: 443 },
    };
    expect(markIocs(flow, iocs)).toEqual([
      {
        field: 'destination.ip',
        value: '198.51.100.77',
        source: 'national:c1',
        indicator_id: 'indicator--1',
      },
    ]);
    expect(engine.detect(flow).map((a) => a.rule.title)).toContain(
      'Traffic with an address or domain the national center flagged',
    );
  });
});

/** Issue 9: a correlation alert is a drill only if every event of its window was (the detector's DrillRefs). */
describe('drill marks on correlation alerts', () => {
  const sshFlow = (i: number, drill: boolean) => {
    const ts = new Date(Date.parse('2026-11-27T03:00:00Z') + i * 1000).toISOString();
    const ev = {
      '@timestamp': ts,
      event: {
        id: `ssh-${drill ? 'd' : 'r'}-${i}`,
        created: ts,
        kind: 'event',
        category: ['network'],
        type: ['connection'],
        dataset: 'flow.netflow',
        module: 'netflow',
      },
      network: { transport: 'tcp' },
      source: { ip: '198.51.100.70', port: 40000 + i },
      destination: { ip: '10.20.0.22', port: 22 },
    };
    return drill ? markDrillEvent(ev as never, 'd-CORR0001') : (ev as never);
  };
  const burst = (drillFrom: number) => {
    const e = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' }).engine;
    const alerts = [];
    for (let i = 0; i < 20; i++) alerts.push(...e.detect(sshFlow(i, i >= drillFrom)));
    return alerts.filter((a) => a.rule.title.startsWith('SSH brute force'));
  };

  it.each([
    ['every event a drill record', 0, true],
    ['real events closed by a drill event', 19, false],
    ['no drill event', 20, false],
  ])('%s → drill: %s', (_name, drillFrom, drill) => {
    const alerts = burst(drillFrom);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.event_ids).toHaveLength(20);
    expect(isDrill(alerts[0]!)).toBe(drill);
  });
});
