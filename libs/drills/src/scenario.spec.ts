import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventId } from '@citysoc/ecs';
import { parseSyslog, SyslogFramer } from '@citysoc/syslog';
import { plan } from './plan';
import { loadScenario, parseDuration, resolveVars } from './scenario';
import { formatSyslog, frameSyslog } from './syslog-format';
import { payloadMarker } from './tagging';

const good = readFileSync(path.join(__dirname, 'testdata', 'ssh-bruteforce-ward.yaml'), 'utf8');

describe('loadScenario', () => {
  it('accepts the reference scenario', () => {
    const l = loadScenario(good, 'a.yaml');
    expect(l.problems).toEqual([]);
    expect(l.scenario?.id).toBe('ssh-bruteforce-ward');
    expect(l.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['YAML syntax', 'apiVersion: citysoc.drill/v1\nid: [unclosed\n', 3, /./],
    [
      'wrong apiVersion',
      good.replace('citysoc.drill/v1', 'citysoc.drill/v2'),
      1,
      /apiVersion must be equal to constant/,
    ],
    [
      'unknown key',
      good.replace('severity_expected: critical', 'severity_expected: critical\nsevrity: high'),
      11,
      /additional properties \(sevrity\)/,
    ],
    ['bad duration', good.replace('every: 1.5s', 'every: soon'), 31, /every must match pattern/],
    [
      'unknown source',
      good.replace('- source: ward-ipfix', '- source: ward-nope'),
      35,
      /unknown source ward-nope/,
    ],
    [
      'unknown variable',
      good.replace('Failed password for ${user}', 'Failed password for ${usr}'),
      34,
      /unknown variable \$\{usr\}/,
    ],
    ['unknown step', good.replace('step: success', 'step: succes'), 82, /unknown step succes/],
    [
      'bad var default',
      good.replace('default: 198.51.100.23', 'default: 198.51.100.300'),
      14,
      /not an IPv4 address/,
    ],
    [
      'unknown grouped expectation',
      good.replace('contains: [ssh-failed-burst', 'contains: [ssh-failed-brst'),
      88,
      /unknown detection expectation/,
    ],
  ])('%s → file:line problem', (_name, text, line, message) => {
    const l = loadScenario(text, 'x.yaml');
    expect(l.scenario).toBeUndefined();
    expect(l.problems.length).toBeGreaterThan(0);
    expect(l.problems[0]).toMatchObject({ file: 'x.yaml', line, message: expect.stringMatching(message) });
  });

  it('takes the notifications choice of a human exercise: dry-run or deliver, nothing else', () => {
    const withNotify = (v: string) => good.replace('human:\n', `human:\n  notifications: ${v}\n`);
    expect(loadScenario(withNotify('deliver'), 'a.yaml').scenario?.human?.notifications).toBe('deliver');
    expect(loadScenario(withNotify('dry-run'), 'a.yaml').problems).toEqual([]);
    const bad = loadScenario(withNotify('yes'), 'a.yaml');
    expect(bad.scenario).toBeUndefined();
    expect(bad.problems[0]?.message).toMatch(/notifications must be equal to one of the allowed values/);
  });

  it('parses durations', () => {
    expect(['500ms', '1.5s', '2m', '1h'].map(parseDuration)).toEqual([500, 1500, 120_000, 3_600_000]);
    expect(() => parseDuration('2 days')).toThrow();
  });

  it('type-checks variable overrides', () => {
    const s = loadScenario(good, 'a.yaml').scenario!;
    expect(resolveVars(s, { attacker_ip: '203.0.113.5' }).attacker_ip).toBe('203.0.113.5');
    expect(() => resolveVars(s, { attacker_ip: 'evil' })).toThrow('not an IPv4 address');
    expect(() => resolveVars(s, { nope: '1' })).toThrow('no variable nope');
  });
});

describe('plan', () => {
  const s = loadScenario(good, 'a.yaml').scenario!;

  it('is reproducible for a seed and differs across seeds', () => {
    expect(plan(s, { seed: 7 })).toEqual(plan(s, { seed: 7 }));
    expect(plan(s, { seed: 7 }).items).not.toEqual(plan(s, { seed: 8 }).items);
  });

  it('expands repeats with jitter inside ±jitter×every, in time order, and records step starts', () => {
    const tl = plan(s, { seed: 7 });
    const spray = tl.items.filter((i) => i.step === 'spray' && i.kind === 'syslog');
    expect(spray).toHaveLength(40);
    spray.forEach((it) => expect(Math.abs(it.atMs - it.index * 1500)).toBeLessThanOrEqual(300));
    expect(tl.items.map((i) => i.atMs)).toEqual([...tl.items.map((i) => i.atMs)].sort((a, b) => a - b));
    expect(tl.stepStartMs).toEqual({ spray: 0, success: 70_000 });
    expect(tl.hostnames).toEqual({ 'ward-syslog': 'pb-hangbac-srv01' });
    expect(spray[0]!.line).toMatch(
      /^sshd\[\d+\]: Failed password for admin from 198\.51\.100\.23 port \d+ ssh2$/,
    );
    const flow = tl.items.find((i) => i.kind === 'flow')!.flow!;
    expect(flow).toMatchObject({
      src: '198.51.100.23',
      dst: '10.21.4.15',
      dport: 22,
      bytes: 2100,
      durationMs: 2000,
    });
  });
});

describe('syslog formatting parses back as the intended format', () => {
  const ms = Date.parse('2026-11-27T03:04:05.678Z');
  const ctx = (raw: Buffer, timezone: string) => ({
    senderIp: '127.0.0.1',
    senderPort: 40000,
    receivedAt: new Date(ms),
    eventId: eventId('127.0.0.1', raw),
    inputName: 't',
    transport: 'udp' as const,
    timezone,
  });

  it('RFC 3164 in the source zone, no year: the collector infers the instant', () => {
    const text = formatSyslog('sshd[42]: Failed password for admin from 198.51.100.23 port 5000 ssh2', ms, {
      format: 'rfc3164',
      timeZone: 'Asia/Ho_Chi_Minh',
      hostname: 'srv01',
      facility: 4,
      severity: 6,
    });
    expect(text).toBe(
      '<38>Nov 27 10:04:05 srv01 sshd[42]: Failed password for admin from 198.51.100.23 port 5000 ssh2',
    );
    const r = parseSyslog(Buffer.from(text), ctx(Buffer.from(text), 'Asia/Ho_Chi_Minh'));
    expect(r.ok && r.event['@timestamp']).toBe('2026-11-27T03:04:05.000Z');
  });

  it('RFC 5424 with offset, tag split into APP-NAME/PROCID, drill SD marker', () => {
    const text = formatSyslog('sshd[42]: Accepted password for admin', ms, {
      format: 'rfc5424',
      timeZone: 'Asia/Ho_Chi_Minh',
      hostname: 'srv01',
      facility: 4,
      severity: 6,
      runId: 'd-ABCD1',
    });
    expect(text).toBe(
      '<38>1 2026-11-27T10:04:05.678+07:00 srv01 sshd 42 - [citysoc-drill@32473 id="d-ABCD1"] Accepted password for admin',
    );
    const r = parseSyslog(Buffer.from(text), ctx(Buffer.from(text), 'UTC'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event['@timestamp']).toBe('2026-11-27T03:04:05.678Z');
    expect(payloadMarker(r.event)).toBe('d-ABCD1');
  });

  it('send-time placeholders take the source clock', () => {
    const text = formatSyslog('date=${@date} time=${@time} x=1', ms, {
      format: 'rfc3164',
      timeZone: 'Asia/Ho_Chi_Minh',
      hostname: 'fw',
      facility: 23,
      severity: 5,
    });
    expect(text.endsWith('fw date=2026-11-27 time=10:04:05 x=1')).toBe(true);
  });

  it.each(['lf', 'octet'] as const)('%s framing is split back by the collector framer', (framing) => {
    const msgs = ['<38>1 - h a - - - one', '<38>1 - h a - - - two\nlines'];
    const wire = Buffer.concat(msgs.map((m) => frameSyslog(m, framing)));
    const framer = new SyslogFramer();
    const out = framer.push(wire);
    const frames = out.frames.map((f: Uint8Array) => Buffer.from(f).toString());
    expect(frames).toEqual(
      framing === 'lf' ? ['<38>1 - h a - - - one', '<38>1 - h a - - - two', 'lines'] : msgs,
    );
  });
});
