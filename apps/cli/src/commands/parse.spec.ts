import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Command } from 'commander';
import { buildProgram } from '../program';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  return { stream, text: () => text };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-parse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function parseFile(
  content: Buffer | string,
  args: string[] = [],
): Promise<{ docs: Array<Record<string, Record<string, unknown> | string>>; err: string }> {
  const file = path.join(dir, `in${n++}.log`);
  writeFileSync(file, content);
  const out = sink();
  const err = sink();
  const program = buildProgram(out.stream, err.stream);
  // Option errors throw here instead of exiting the test process (exitOverride is not inherited after the fact).
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  await program.parseAsync(['parse', 'syslog', ...args, file], { from: 'user' });
  const text = out.text();
  expect(text.endsWith('\n') || text === '').toBe(true);
  return {
    docs: text
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as Record<string, Record<string, unknown> | string>),
    err: err.text(),
  };
}

describe('citysoc parse syslog', () => {
  it('writes one line per message in order, errors on stdout with the original text', async () => {
    const input = [
      '<34>1 2026-11-27T10:00:00.123+07:00 fw1 sshd 42 ID1 [a@1 k="v\\"q"] first',
      '<999>bad priority',
      '<13>Nov 27 10:00:00 host app: third',
      '',
      '<13>1 2026-13-45T99:00:00Z h a - - - bad time',
      'no pri at all, still a message',
    ];
    const { docs, err } = await parseFile(input.join('\r\n') + '\r\n', [
      '--received',
      '2026-11-27T04:00:00Z',
    ]);
    expect(err).toBe('');
    expect(docs).toHaveLength(6);
    expect(docs[0]).toMatchObject({ '@timestamp': '2026-11-27T03:00:00.123Z', message: 'first' });
    expect(docs[1]).toEqual({
      error: { code: 'invalid_pri', message: expect.any(String) },
      event: { original: '<999>bad priority' },
    });
    expect(docs[2]).toMatchObject({ message: 'third', process: { name: 'app' } });
    expect(docs[3]).toEqual({
      error: { code: 'empty', message: expect.any(String) },
      event: { original: '' },
    });
    expect(docs[4]).toMatchObject({ error: { code: 'invalid_timestamp' } });
    expect(docs[4]).toMatchObject({ event: { original: input[4] } });
    expect(docs[5]).toMatchObject({ message: 'no pri at all, still a message' });
  });

  it('applies --tz to times without a zone; a zone in the message wins and the original zone is kept', async () => {
    const { docs } = await parseFile(
      ['<13>Nov 27 10:00:00 host app: local', '<13>2026-11-27T10:00:00+01:00 host app: with offset'].join(
        '\n',
      ),
      ['--tz', 'UTC', '--received', '2026-11-27T12:00:00Z'],
    );
    expect(docs[0]).toMatchObject({ '@timestamp': '2026-11-27T10:00:00.000Z', event: { timezone: 'UTC' } });
    expect(docs[1]).toMatchObject({ '@timestamp': '2026-11-27T09:00:00.000Z' });
  });

  it('uses --received to infer the RFC 3164 year closest to the receive time', async () => {
    const { docs } = await parseFile('<13>Dec 31 23:59:59 host app: new year\n', [
      '--tz',
      'UTC',
      '--received',
      '2027-01-01T00:00:05Z',
    ]);
    expect(docs[0]!['@timestamp']).toBe('2026-12-31T23:59:59.000Z');
  });

  it('reads octet-counted input, including the newline some senders put inside a frame', async () => {
    const frames = ['<13>1 - h a - - - one\n', '<13>1 - h a - - - two'];
    const body = frames.map((f) => `${Buffer.byteLength(f)} ${f}`).join('');
    const { docs } = await parseFile(body, ['--framing', 'octet']);
    expect(docs.map((d) => d.message)).toEqual(['one', 'two']);
  });

  it('reports a truncated octet-counted frame as an error line', async () => {
    const { docs } = await parseFile('20 <13>1 - h a - - - ok40 <13>1 - - - - - - cut', [
      '--framing',
      'octet',
    ]);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ message: 'ok' });
    expect(docs[1]).toMatchObject({ error: { code: 'truncated' } });
  });

  it('reports binary input as not_text instead of guessing', async () => {
    const { docs } = await parseFile(Buffer.from([0x3c, 0x31, 0x33, 0x3e, 0xff, 0xfe, 0x00, 0x41, 0x0a]));
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ error: { code: 'not_text' } });
  });

  it.each([
    ['auto', 'cef'],
    ['cef', 'cef'],
    ['rfc5424', undefined],
  ])('--format %s decides which decoder reads a CEF line', async (format, parser) => {
    const line =
      '<134>1 2026-11-27T10:00:00Z fw - - - - CEF:0|Vendor|Product|1.0|100|Blocked|5|src=10.0.0.1 dst=10.0.0.2';
    const { docs } = await parseFile(line + '\n', ['--format', format]);
    if (parser) expect(docs[0]).toMatchObject({ citysoc: { parser }, source: { ip: '10.0.0.1' } });
    else
      expect(docs[0]).toMatchObject({
        citysoc: { parser: 'rfc5424' },
        message: line.slice(line.indexOf('CEF:')),
      });
  });

  it('a pinned decoder leaves a message it does not recognize as plain syslog', async () => {
    const { docs } = await parseFile('<13>Nov 27 10:00:00 host app: not cef\n', ['--format', 'cef']);
    expect(docs[0]).toMatchObject({ message: 'not cef', citysoc: { parser: 'rfc3164' } });
  });

  it.each([
    [['--tz', 'Mars/Olympus']],
    [['--received', 'yesterday']],
    [['--format', 'nope']],
    [['--framing', 'nul']],
  ])('refuses bad options %j', async (args) => {
    await expect(parseFile('<13>x\n', args)).rejects.toThrow();
  });
});
