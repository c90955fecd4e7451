import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { corpusDir } from '@citysoc/testing';
import { buildProgram } from '../program';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  return { stream, text: () => text };
}

async function cli(
  args: string[],
): Promise<{ lines: Array<Record<string, unknown>>; err: string; code: number }> {
  const out = sink();
  const err = sink();
  await buildProgram(out.stream, err.stream).exitOverride().parseAsync(args, { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  const lines = out
    .text()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, err: err.text(), code };
}

const corpus = corpusDir();
const flow = corpus ? path.join(corpus, 'flow') : '';
const describeCorpus = corpus ? describe : describe.skip;
if (!corpus) console.warn('corpus not found: citysoc parse flow checks skipped');
const dat = (f: string) => path.join(flow, 'logstash-codec-netflow', 'dat', f);

describeCorpus('citysoc parse flow', () => {
  it('--raw: templates carry over from an earlier file; IANA names, "<pen>/<id>" keys, ISO times, numbers', async () => {
    const r = await cli([
      'parse',
      'flow',
      '--raw',
      dat('ipfix_test_netscaler_tpl.dat'),
      dat('ipfix_test_netscaler_data.dat'),
    ]);
    // (The capture also holds a set for a template that the template file does not carry: exit code 1.)
    expect(r.lines).toHaveLength(3);
    const first = r.lines[0] as { version: number; template_id: number; fields: Record<string, unknown> };
    expect(Object.keys(first)).toEqual(['version', 'template_id', 'fields']);
    expect(first.version).toBe(10);
    expect(typeof first.template_id).toBe('number');
    expect(first.fields).toMatchObject({
      sourceIPv4Address: '192.168.0.1',
      destinationIPv4Address: '10.0.0.1',
      flowEndMicroseconds: '2016-11-11T12:09:19.000Z',
    });
    // NetScaler (PEN 5951) elements are keyed by enterprise number and element id.
    const enterprise = Object.keys(first.fields).filter((k) => /^\d+\/\d+$/.test(k));
    expect(enterprise.length).toBeGreaterThan(0);
    expect(enterprise.every((k) => k.startsWith('5951/'))).toBe(true);
    expect(Object.values(first.fields).some((v) => v === 14460661)).toBe(true);
  });

  it('reports data whose template never came on stderr, exit code 1, no lines', async () => {
    const r = await cli(['parse', 'flow', dat('ipfix_test_netscaler_data.dat')]);
    expect(r.lines).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/never got their template/);
  });

  it.each(['v5', 'v9', 'ipfix'])(
    'ECS: softflowd %s datagrams in order give one line per flow (2216, as nfdump)',
    async (v) => {
      const dir = path.join(flow, 'softflowd', v);
      const files = readdirSync(dir)
        .sort()
        .map((f) => path.join(dir, f));
      const r = await cli(['parse', 'flow', '--received-at', '2024-05-01T10:05:00Z', ...files]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const flows = r.lines.filter((l) => (l.event as { type: string[] }).type[0] === 'connection');
      expect(flows).toHaveLength(2216);
      const ids = new Set(r.lines.map((l) => (l.event as { id: string }).id));
      expect(ids.size).toBe(r.lines.length);
      const scan = flows.filter(
        (l) =>
          (l.source as { ip?: string }).ip === '10.66.6.6' &&
          (l.destination as { ip?: string }).ip === '10.20.0.15',
      );
      expect(new Set(scan.map((l) => (l.destination as { port: number }).port)).size).toBe(1024);
      expect(flows[0]).toMatchObject({
        event: { kind: 'event', category: ['network'], created: '2024-05-01T10:05:00.000Z' },
        observer: { ip: ['127.0.0.1'] },
      });
    },
  );
});
