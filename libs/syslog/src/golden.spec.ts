import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSyslog, type ParseResult } from './index';

/**
 * Golden files: each `X.log` line is one frame; `X.expected.json` holds, per line, the ECS document or the
 * error. Run with CITYSOC_UPDATE_GOLDEN=1 to rewrite the expectations after an intended change, then review
 * the diff.
 */
const dir = path.resolve(__dirname, '../test-data/golden');
const update = process.env.CITYSOC_UPDATE_GOLDEN === '1';

function render(r: ParseResult): unknown {
  return r.ok ? r.event : { error: { code: r.code, reason: r.reason } };
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));

describe('golden files', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s parses to its expected documents', (file) => {
    const base = file.slice(0, -'.log'.length);
    const raw = fs.readFileSync(path.join(dir, file));
    const lines: Buffer[] = [];
    for (let start = 0; start < raw.length;) {
      const nl = raw.indexOf(0x0a, start);
      const end = nl < 0 ? raw.length : nl;
      lines.push(raw.subarray(start, end));
      start = end + 1;
    }
    const actual = lines.map((line, i) =>
      render(
        parseSyslog(line, {
          senderIp: i % 2 === 0 ? '::ffff:192.0.2.10' : '2001:db8::10',
          senderPort: 40000 + i,
          receivedAt: new Date('2026-11-27T05:00:00.000Z'),
          eventId: `${base}-${i + 1}`,
          inputName: 'syslog-tcp',
          transport: 'tcp',
        }),
      ),
    );
    const expectedPath = path.join(dir, `${base}.expected.json`);
    if (update) fs.writeFileSync(expectedPath, `${JSON.stringify(actual, null, 2)}\n`);
    const expected = JSON.parse(fs.readFileSync(expectedPath, 'utf8')) as unknown[];
    expect(actual).toHaveLength(expected.length);
    actual.forEach((doc, i) => expect({ line: i + 1, doc }).toEqual({ line: i + 1, doc: expected[i] }));
  });
});
