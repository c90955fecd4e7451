import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSyslog } from '../index';
import { WINDOWS_EVENTS } from './windows-events';

/**
 * Every Snare line rsyslog's mmsnareparse tests ship (282 real Windows events) is read by the Snare decoder:
 * event id, channel, computer and, for the event ids we categorize, the ECS category. Skips without the corpus.
 */
const corpusRoot =
  process.env.CITYSOC_CORPUS_DIR ?? path.resolve(__dirname, '../../../..', '../shared/corpus');
const dir = path.join(corpusRoot, 'syslog', 'windows-snare');
const present = fs.existsSync(dir);
if (!present) console.warn(`Snare corpus test skipped: no corpus at ${dir}`);

(present ? describe : describe.skip)('Snare corpus (rsyslog mmsnareparse samples)', () => {
  const lines = present
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .flatMap((f) =>
          fs
            .readFileSync(path.join(dir, f), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l, i) => [`${f}:${i + 1}`, l] as const),
        )
    : [];

  it('has lines', () => expect(lines.length).toBeGreaterThan(100));

  it('decodes every line with the Snare decoder', () => {
    const wrong: string[] = [];
    for (const [where, line] of lines) {
      const r = parseSyslog(Buffer.from(line), {
        senderIp: '192.0.2.1',
        receivedAt: new Date('2026-11-27T12:00:00Z'),
        eventId: where,
        inputName: 't',
        transport: 'udp',
        timezone: 'UTC',
      });
      const id = line.split('\t')[5];
      if (!r.ok) wrong.push(`${where}: ${r.code}`);
      else if (r.event.citysoc?.parser !== 'snare' || r.event.event.code !== id)
        wrong.push(`${where}: parser ${r.event.citysoc?.parser} code ${r.event.event.code}`);
      else if (
        id !== undefined &&
        WINDOWS_EVENTS[id] &&
        r.event.event.category !== WINDOWS_EVENTS[id].category
      )
        wrong.push(`${where}: category ${String(r.event.event.category)}`);
      else if (id === '4624' && r.event.user?.name === undefined)
        wrong.push(`${where}: 4624 without user.name`);
    }
    expect(wrong).toEqual([]);
  });
});
