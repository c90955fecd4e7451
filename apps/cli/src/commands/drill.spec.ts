import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildProgram } from '../program';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const library = path.join(root, 'drills');

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

describe('citysoc drill', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('list shows the library, filtered by technique', async () => {
    const all = await cli(['drill', 'list', '--dir', library]);
    expect(all.out.split('\n').filter(Boolean)).toHaveLength(
      readdirSync(library).filter((f) => f.endsWith('.yaml')).length,
    );
    const t = await cli(['drill', 'list', '--dir', library, '--technique', 'T1046']);
    expect(
      t.out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['iot-camera-portscan']);
  });

  it('validate: the library is clean against the shipped rules; a broken file gives file:line and exit 1', async () => {
    const ok = await cli(['drill', 'validate', '--dir', library]);
    expect([ok.code, ok.err]).toEqual([0, '']);
    const bad = path.join(tmp, 'bad.yaml');
    const text = readFileSync(path.join(library, 'iot-camera-portscan.yaml'), 'utf8')
      .replace('0b7f0f4e-1d49-4a43-8f0e-5c2b8e9d7a10', '00000000-0000-4000-8000-000000000000')
      .replace('step: scan', 'step: scna');
    writeFileSync(bad, text);
    const r = await cli(['drill', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: /expect/detections/0/step|unknown step scna`,
        'm',
      ),
    );
    const noRules = await cli([
      'drill',
      'validate',
      '--no-rules',
      path.join(library, 'iot-camera-portscan.yaml'),
    ]);
    expect(noRules.code).toBe(0);
  });

  it('validate reports an expectation rule id no loaded rule has', async () => {
    const f = path.join(tmp, 'x.yaml');
    writeFileSync(
      f,
      readFileSync(path.join(library, 'iot-camera-portscan.yaml'), 'utf8').replace(
        /0b7f0f4e-1d49-4a43-8f0e-5c2b8e9d7a10/g,
        '00000000-0000-4000-8000-000000000000',
      ),
    );
    const r = await cli(['drill', 'validate', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no loaded rule has id 00000000-0000-4000-8000-000000000000');
  });

  it('plan is reproducible for a seed and scales with --speed', async () => {
    const a = await cli(['drill', 'plan', 'ssh-bruteforce-ward', '--dir', library, '--seed', '7']);
    const b = await cli(['drill', 'plan', 'ssh-bruteforce-ward', '--dir', library, '--seed', '7']);
    expect(a.out).toBe(b.out);
    expect(a.out).toContain('81 records over 70.0 s at speed ×1');
    const fast = await cli([
      'drill',
      'plan',
      'ssh-bruteforce-ward',
      '--dir',
      library,
      '--seed',
      '7',
      '--speed',
      '10',
    ]);
    expect(fast.out).toContain('81 records over 7.0 s at speed ×10');
  });

  it('run --offline writes a scorecard folder, exits 0, and score/report read it back', async () => {
    const runs = path.join(tmp, 'runs');
    const r = await cli([
      'drill',
      'run',
      'iot-camera-portscan',
      'iot-camera-portscan-benign',
      '--dir',
      library,
      '--offline',
      '--seed',
      '3',
      '--out',
      runs,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/RESULT {2}pass {2}detections 1\/1/);
    // Not a TTY: plain words, no symbols.
    expect(r.out).not.toMatch(/[✔✘⚠]/);
    const dirs = readdirSync(runs).map((d) => path.join(runs, d));
    expect(dirs).toHaveLength(2);
    for (const d of dirs)
      expect(readdirSync(d).sort()).toEqual([
        'observations.json',
        'scorecard.en.html',
        'scorecard.json',
        'scorecard.vi.html',
      ]);
    const attack = dirs.find(
      (d) =>
        JSON.parse(readFileSync(path.join(d, 'scorecard.json'), 'utf8')).scenario.id ===
        'iot-camera-portscan',
    )!;
    const again = await cli(['drill', 'score', attack, '--dir', library, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toEqual(
      JSON.parse(readFileSync(path.join(attack, 'scorecard.json'), 'utf8')),
    );
    const html = await cli(['drill', 'report', attack, '--lang', 'en']);
    expect(html.out).toContain('<html lang="en">');
    const agg = await cli(['drill', 'report', '--since', '1d', '--runs', runs]);
    const a = JSON.parse(agg.out);
    expect(a.runs).toBe(2);
    expect(a.techniques.T1046.last_result).toBe('pass');
    expect(a.regressions).toEqual([]);
  });

  it('run exits 1 when an expectation fails and 2 on an error', async () => {
    const f = path.join(tmp, 'weak.yaml');
    copyFileSync(path.join(library, 'iot-camera-portscan.yaml'), f);
    writeFileSync(f, readFileSync(f, 'utf8').replace('count: 150', 'count: 50'));
    const fail = await cli(['drill', 'run', f, '--offline', '--out', path.join(tmp, 'runs')]);
    expect(fail.code).toBe(1);
    const err = await cli(['drill', 'run', 'no-such-scenario', '--dir', library, '--offline']);
    expect(err.code).toBe(2);
    expect(err.err).toContain('no scenario no-such-scenario');
    const noApi = await cli(['drill', 'run', 'iot-camera-portscan', '--dir', library, '--api', '']);
    expect(noApi.code).toBe(2);
  });
});
