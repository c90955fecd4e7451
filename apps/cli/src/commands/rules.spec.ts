import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildProgram } from '../program';

const ID = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;

function rule(n: number, detection: string): string {
  const body = detection
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
  return `title: rule ${n}\nid: ${ID(n)}\nlogsource:\n    product: test\ndetection:\n${body}\nlevel: low\n`;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  return { stream, text: () => text };
}

async function cli(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out = sink();
  const err = sink();
  const program = buildProgram(out.stream, err.stream).exitOverride();
  await program.parseAsync(args, { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out: out.text(), err: err.text(), code };
}

const lines = (s: string): unknown[] =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

describe('citysoc rules', () => {
  let dir: string;
  let rulesDir: string;
  let eventsFile: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-rules-'));
    rulesDir = path.join(dir, 'rules');
    mkdirSync(rulesDir);
    writeFileSync(
      path.join(rulesDir, 'a.yml'),
      rule(1, "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel"),
    );
    writeFileSync(
      path.join(rulesDir, 'b.yml'),
      rule(2, 'sel:\n  user.name: root\ncondition: sel') +
        '---\n' +
        rule(3, "kw:\n  - 'mimikatz'\ncondition: kw"),
    );
    eventsFile = path.join(dir, 'events.jsonl');
    writeFileSync(
      eventsFile,
      [
        JSON.stringify({ Image: 'C:\\Windows\\System32\\cmd.exe', note: 'MimiKatz here' }),
        JSON.stringify({ user: { name: 'ROOT' } }),
        '',
        JSON.stringify({ other: 1 }),
      ].join('\n') + '\n',
    );
  });
  afterEach(() => {
    process.exitCode = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('match writes one line per input event, in order, with the ids of the rules that match', async () => {
    const r = await cli(['rules', 'match', '--rules', rulesDir, '--pipeline', 'none', eventsFile]);
    expect(lines(r.out)).toEqual([
      { line: 1, matches: [ID(1), ID(3)] },
      { line: 2, matches: [ID(2)] },
      { line: 4, matches: [] },
    ]);
    expect(r.code).toBe(0);
  });

  it('match takes the events file back from a variadic --rules', async () => {
    const r = await cli(['rules', 'match', '--rules', path.join(rulesDir, 'a.yml'), eventsFile]);
    expect(lines(r.out)).toEqual([
      { line: 1, matches: [ID(1)] },
      { line: 2, matches: [] },
      { line: 4, matches: [] },
    ]);
  });

  it('match --stats writes one JSON object to stderr', async () => {
    const r = await cli(['rules', 'match', '--rules', rulesDir, '--stats', '--all-logsources', eventsFile]);
    const stats = JSON.parse(r.err.trim()) as Record<string, number>;
    expect(Object.keys(stats)).toEqual(['events', 'rules', 'seconds', 'events_per_second']);
    expect(stats).toMatchObject({ events: 3, rules: 3 });
    expect(stats['seconds']).toBeGreaterThanOrEqual(0);
  });

  it('match reports a line that is not a JSON object and still answers for it', async () => {
    writeFileSync(eventsFile, '{"Image":"x\\\\cmd.exe"}\nnot json\n[1]\n');
    const r = await cli(['rules', 'match', '--rules', rulesDir, eventsFile]);
    expect(lines(r.out).map((l) => (l as { line: number }).line)).toEqual([1, 2, 3]);
    expect(r.err).toMatch(/^line 2: invalid JSON/m);
    expect(r.err).toMatch(/^line 3: an event must be a JSON object/m);
    expect(r.code).toBe(1);
  });

  it('match expands placeholders from a YAML file', async () => {
    writeFileSync(path.join(rulesDir, 'c.yml'), rule(4, "sel:\n  host|expand: '%servers%'\ncondition: sel"));
    const ph = path.join(dir, 'ph.yml');
    writeFileSync(ph, 'servers:\n  - dc01\n  - dc02\n');
    writeFileSync(eventsFile, '{"host":"DC02"}\n{"host":"ws1"}\n');
    const r = await cli(['rules', 'match', '--rules', rulesDir, '--placeholders', ph, eventsFile]);
    expect(lines(r.out)).toEqual([
      { line: 1, matches: [ID(4)] },
      { line: 2, matches: [] },
    ]);
  });

  it('match refuses an unknown pipeline, and reports a broken one as file:line', async () => {
    await expect(
      cli(['rules', 'match', '--rules', rulesDir, '--pipeline', 'nosuch', eventsFile]),
    ).rejects.toThrow(/processing pipeline "nosuch" not found/);
    const broken = path.join(dir, 'broken.yml');
    writeFileSync(broken, 'name: broken\nlogsources: []\n');
    await expect(
      cli(['rules', 'match', '--rules', rulesDir, '--pipeline', broken, eventsFile]),
    ).rejects.toThrow(new RegExp(`${broken}:2: pipeline/logsources must NOT have fewer than 1 items`));
  });

  describe('with a pipeline', () => {
    let pipeline: string;
    beforeEach(() => {
      pipeline = path.join(rulesDir, 'pipelines', 'lab.yml');
      mkdirSync(path.dirname(pipeline));
      writeFileSync(
        pipeline,
        [
          'name: lab',
          'logsources:',
          '  - name: test',
          '    logsource: { product: test }',
          '    events: { kind: lab }',
          '    fieldmappings:',
          '      Image: process.executable',
          '      user.name: [user.name, account]',
        ].join('\n') + '\n',
      );
      writeFileSync(
        eventsFile,
        [
          JSON.stringify({ kind: 'lab', process: { executable: 'C:\\x\\cmd.exe' } }),
          JSON.stringify({ kind: 'other', process: { executable: 'C:\\x\\cmd.exe' } }),
          JSON.stringify({ kind: 'lab', account: 'root' }),
        ].join('\n') + '\n',
      );
    });

    it('selects events by logsource and maps field names (found in the rule folder by name)', async () => {
      const r = await cli(['rules', 'match', '--rules', rulesDir, '--pipeline', 'lab', eventsFile]);
      expect(lines(r.out)).toEqual([
        { line: 1, matches: [ID(1)] },
        { line: 2, matches: [] },
        { line: 3, matches: [ID(2)] },
      ]);
    });

    it('--all-logsources keeps the mappings and drops the selection', async () => {
      const r = await cli([
        'rules',
        'match',
        '--rules',
        rulesDir,
        '--pipeline',
        pipeline,
        '--all-logsources',
        eventsFile,
      ]);
      expect(lines(r.out)).toEqual([
        { line: 1, matches: [ID(1)] },
        { line: 2, matches: [ID(1)] },
        { line: 3, matches: [ID(2)] },
      ]);
    });

    it('check validates the pipelines of a rule folder', async () => {
      writeFileSync(
        pipeline,
        'name: lab\nlogsources:\n  - name: x\n    logsource: { product: test }\n    events: { a|nope: 1 }\n',
      );
      const r = await cli(['rules', 'check', rulesDir]);
      expect(r.out).toBe(`${pipeline}:5: logsource entry "x": unknown modifier |nope\n`);
      expect(r.code).toBe(1);
    });
  });

  it('match adds a correlation line after the line that completed it', async () => {
    writeFileSync(
      path.join(rulesDir, 'corr.yml'),
      [
        'title: three roots from one host',
        `id: ${ID(9)}`,
        'correlation:',
        '  type: event_count',
        `  rules: [${ID(2)}]`,
        '  group-by: [host]',
        '  timespan: 1m',
        '  condition: { gte: 3 }',
        'level: high',
      ].join('\n') + '\n',
    );
    const ev = (s: number, host: string) =>
      JSON.stringify({
        '@timestamp': `2026-11-27T10:00:${String(s).padStart(2, '0')}Z`,
        host,
        user: { name: 'root' },
      });
    writeFileSync(eventsFile, [ev(1, 'a'), ev(2, 'b'), ev(3, 'a'), ev(4, 'a'), ev(5, 'a')].join('\n') + '\n');
    const r = await cli(['rules', 'match', '--rules', rulesDir, eventsFile]);
    expect(lines(r.out)).toEqual([
      { line: 1, matches: [ID(2)] },
      { line: 2, matches: [ID(2)] },
      { line: 3, matches: [ID(2)] },
      { line: 4, matches: [ID(2)] },
      { correlation: ID(9), group: { host: 'a' }, lines: [1, 3, 4] },
      { line: 5, matches: [ID(2)] },
    ]);
  });

  it('check prints file:line: message per problem and exits 1', async () => {
    const bad = path.join(rulesDir, 'bad.yml');
    writeFileSync(bad, rule(5, 'sel:\n  a|bogus: 1\ncondition: sel'));
    const r = await cli(['rules', 'check', rulesDir]);
    expect(r.out).toBe(`${bad}:6: unknown modifier |bogus\n`);
    expect(r.code).toBe(1);
  });

  it('profile lists the costliest rules with their figures', async () => {
    const r = await cli(['rules', 'profile', '--rules', rulesDir, '--top', '2', eventsFile]);
    const table = r.out.split('\n');
    expect(table[0]).toMatch(/^3 events, 3 rules, matching/);
    const rows = table.filter((l) => /^\d+\t/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^1\t[\d.]+\t\d+\t\d+\t[\d.]+\t0{8}-/);
  });

  it('./bin/citysoc rules match reads standard input (builds on demand)', () => {
    const bin = path.resolve(__dirname, '../../../../bin/citysoc');
    const res = spawnSync(bin, ['rules', 'match', '--rules', rulesDir, '-'], {
      input: '{"Image":"a\\\\cmd.exe"}\n{"x":1}\n',
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(res.stderr).not.toMatch(/error/i);
    expect(lines(res.stdout)).toEqual([
      { line: 1, matches: [ID(1)] },
      { line: 2, matches: [] },
    ]);
    expect(res.status).toBe(0);
  }, 320_000);
});
