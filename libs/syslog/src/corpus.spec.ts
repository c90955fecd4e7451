import * as fs from 'node:fs';
import * as path from 'node:path';
import { getField } from '@citysoc/ecs';
import { parseRfc5424, parseSyslog, SyslogFramer, type ParseContext, type ParseResult } from './index';

/**
 * Conformance against the public syslog corpus (see its SOURCES.md). The corpus lives outside the
 * repository, so the suite skips, loudly, where it is absent.
 */
const repoRoot = path.resolve(__dirname, '../../..');
const corpusRoot = process.env.CITYSOC_CORPUS_DIR ?? path.resolve(repoRoot, '../shared/corpus');
const syslogDir = path.join(corpusRoot, 'syslog');
const present = fs.existsSync(path.join(syslogDir, 'manifest.json'));
if (!present) {
  console.warn(
    `syslog conformance suite skipped: no corpus at ${syslogDir} (set CITYSOC_CORPUS_DIR to the folder holding syslog/)`,
  );
}
const describeCorpus = present ? describe : describe.skip;

function ctx(overrides: Partial<ParseContext> = {}): ParseContext {
  return {
    senderIp: '127.0.0.1',
    senderPort: 40000,
    receivedAt: new Date('2026-11-27T12:30:00.000Z'),
    eventId: 'corpus',
    inputName: 'corpus',
    transport: 'udp',
    timezone: 'UTC',
    ...overrides,
  };
}

function readJson<T>(rel: string): T {
  return JSON.parse(fs.readFileSync(path.join(syslogDir, rel), 'utf8')) as T;
}

function field(r: ParseResult, p: string): unknown {
  return r.ok ? getField(r.event, p) : undefined;
}

interface GoCase {
  input_base64: string;
  input?: string;
  valid: boolean;
  expected: Record<string, unknown> | null;
  expected_error: string;
}

/** go-syslog keeps PARAM-VALUE escapes verbatim; RFC 5424 §6.3.3 defines their meaning, which we apply. */
function unescapeSd(sd: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [id, params] of Object.entries(sd)) {
    out[id] = {};
    for (const [k, v] of Object.entries(params)) out[id][k] = v.replace(/\\(["\\\]])/g, '$1');
  }
  return out;
}

/** RFC 3339 with up to 6 fraction digits → ISO with milliseconds (truncated, as the parser does). */
function isoMs(ts: string): string {
  return new Date(ts.replace(/\.(\d{1,3})\d*/, (_m, d: string) => `.${d.padEnd(3, '0')}`)).toISOString();
}

function label(c: { input?: string; input_base64: string }): string {
  const s = c.input ?? `base64:${c.input_base64}`;
  return JSON.stringify(s.length > 70 ? `${s.slice(0, 70)}…` : s);
}

describeCorpus('when checked against the syslog corpus', () => {
  describe('go-syslog RFC 5424 vectors', () => {
    const cases = present ? readJson<{ cases: GoCase[] }>('rfc5424/go-syslog-rfc5424-cases.json').cases : [];

    it('are all present', () => {
      expect(cases.length).toBeGreaterThan(100);
    });

    it.each(cases.map((c) => [label(c), c] as const))('%s gets go-syslog’s verdict and fields', (_l, c) => {
      const r = parseRfc5424(Buffer.from(c.input_base64, 'base64'), ctx());
      if (!c.valid) {
        expect(r).toMatchObject({
          ok: false,
          code: expect.stringMatching(/^[a-z_]+$/),
          reason: expect.any(String),
        });
        return;
      }
      expect(r.ok).toBe(true);
      const e = c.expected!;
      expect(field(r, 'log.syslog.priority')).toBe(e.Priority);
      expect(field(r, 'log.syslog.version')).toBe(String(e.Version));
      expect(field(r, 'log.syslog.hostname')).toBe(e.Hostname);
      expect(field(r, 'host.hostname')).toBe(e.Hostname);
      expect(field(r, 'log.syslog.appname')).toBe(e.Appname);
      expect(field(r, 'process.name')).toBe(e.Appname);
      expect(field(r, 'log.syslog.procid')).toBe(e.ProcID);
      expect(field(r, 'log.syslog.msgid')).toBe(e.MsgID);
      const msg = typeof e.Message === 'string' ? e.Message.replace(/^\ufeff/, '') : undefined;
      expect(field(r, 'message')).toBe(msg === '' ? undefined : msg);
      if (typeof e.Timestamp === 'string') expect(field(r, '@timestamp')).toBe(isoMs(e.Timestamp));
      else expect(field(r, '@timestamp')).toBe(ctx().receivedAt.toISOString());
      const sd = e.StructuredData as Record<string, Record<string, string>> | undefined;
      expect(field(r, 'log.syslog.structured_data')).toEqual(sd === undefined ? undefined : unescapeSd(sd));
    });

    it.each(cases.map((c) => [label(c), c] as const))('%s never throws in auto-detection', (_l, c) => {
      const raw = Buffer.from(c.input_base64, 'base64');
      expect(typeof parseSyslog(raw, ctx()).ok).toBe('boolean');
      const r = parseSyslog(raw, ctx(), { decoders: [] });
      if (c.valid) expect(field(r, 'citysoc.parser')).toBe('rfc5424');
    });
  });

  describe('go-syslog RFC 3164 vectors', () => {
    const cases = present ? readJson<{ cases: GoCase[] }>('rfc3164/go-syslog-rfc3164-cases.json').cases : [];

    it.each(cases.map((c) => [label(c), c] as const))('%s parses to go-syslog’s fields', (_l, c) => {
      const r = parseSyslog(Buffer.from(c.input_base64, 'base64'), ctx(), { decoders: [] });
      expect(r.ok).toBe(c.valid);
      const e = c.expected!;
      expect(field(r, 'citysoc.parser')).toBe('rfc3164');
      expect(field(r, 'log.syslog.priority')).toBe(e.Priority);
      expect(field(r, 'log.syslog.facility.code')).toBe(e.Facility);
      expect(field(r, 'log.syslog.severity.code')).toBe(e.Severity);
      expect(field(r, 'host.hostname')).toBe(e.Hostname);
      expect(field(r, 'process.name')).toBe(e.Appname);
      expect(field(r, 'log.syslog.procid')).toBe(e.ProcID);
      expect(field(r, 'message')).toBe(e.Message);
      // time.Stamp layout "Jan _2 15:04:05" in the (UTC) zone of the context.
      const ts = (e.Timestamp as { value: string }).value;
      const d = new Date(field(r, '@timestamp') as string);
      const [mon, day, clock] = ts.split(/\s+/);
      expect(d.toUTCString()).toContain(`${day!.padStart(2, '0')} ${mon} `);
      expect(d.toISOString().slice(11, 19)).toBe(clock);
    });
  });

  describe('rsyslog parser tests (rfc3164-edge)', () => {
    interface RsyslogCase {
      template: string | null;
      inputs: string[];
      expected_output: string[] | null;
      pairwise: boolean;
    }
    const dir = path.join(syslogDir, 'rfc3164-edge');
    const files = present ? fs.readdirSync(dir).filter((f) => f.endsWith('-expected.json')) : [];
    const rows: [string, string, string, string][] = [];
    for (const f of files) {
      const j = readJson<RsyslogCase>(`rfc3164-edge/${f}`);
      if (!j.pairwise || j.expected_output === null || j.template === null) continue;
      j.inputs.forEach((input, k) => rows.push([f, input, j.expected_output![k]!, j.template!]));
    }
    const rsyslogLevel: Record<string, string> = {
      emerg: 'emergency',
      alert: 'alert',
      crit: 'critical',
      err: 'error',
      warning: 'warning',
      notice: 'notice',
      info: 'informational',
      debug: 'debug',
    };

    it('have pairwise expectations', () => {
      expect(rows.length).toBeGreaterThan(25);
    });

    // Deliberate differences from rsyslog, each asserted rather than skipped:
    // - RFC 5424 is strict: rsyslog accepts `eventSource= "x"`, we refuse it with invalid_structured_data;
    // - a first word not followed by `:` or `[pid]` is not a tag (go-syslog's rule), it stays in MSG;
    // - a line with neither PRI nor timestamp is all MSG; rsyslog guesses a hostname from its first word.
    it.each(rows.map(([f, input, exp, tpl]) => [JSON.stringify(input), f, input, exp, tpl] as const))(
      '%s agrees with rsyslog on the header fields',
      (_l, _file, input, exp, tpl) => {
        const r = parseSyslog(Buffer.from(input), ctx({ transport: 'tcp' }));
        if (!r.ok) {
          expect(input).toMatch(/^<\d+>1 /);
          expect(r.code).toBe('invalid_structured_data');
          return;
        }
        const names = tpl.replace(/\\n$/, '').split(',');
        const prog = names.indexOf('%programname%');
        const parts = exp.split(',');
        const want = Object.fromEntries(names.slice(0, prog).map((n, i) => [n, parts[i]!]));
        const rest = parts.slice(prog).join(',');
        expect(field(r, 'log.syslog.priority')).toBe(Number(want['%PRI%']));
        expect(field(r, 'log.syslog.facility.name')).toBe(want['%syslogfacility-text%']);
        expect(field(r, 'log.level')).toBe(rsyslogLevel[want['%syslogseverity-text%']!]);
        const headerless =
          !input.startsWith('<') && field(r, '@timestamp') === ctx().receivedAt.toISOString();
        if (headerless) {
          expect(field(r, 'host.hostname')).toBeUndefined();
          expect(field(r, 'message')).toBe(input);
          return;
        }
        const host = want['%hostname%'];
        expect(field(r, 'host.hostname')).toBe(host === '$RS_HOSTNAME' ? undefined : host);
        const ts = want['%timestamp%'];
        if (ts !== undefined && field(r, 'citysoc.parser') === 'rfc3164') {
          const d = new Date(field(r, '@timestamp') as string);
          const mon = d.toUTCString().slice(8, 11);
          expect(`${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`).toBe(
            ts,
          );
        }
        const name = field(r, 'process.name') as string | undefined;
        const message = (field(r, 'message') as string | undefined) ?? '';
        if (name !== undefined) {
          expect(rest.startsWith(`${name},`)).toBe(true);
          expect(rest.endsWith(message)).toBe(true);
        } else {
          const firstWord = message.search(/ |$/);
          expect(rest.endsWith(message.slice(firstWord))).toBe(true);
        }
      },
    );
  });

  describe('wire captures from real senders', () => {
    const dir = path.join(syslogDir, 'wire');
    const files = present ? fs.readdirSync(dir).filter((f) => f.endsWith('.bin')) : [];
    const headerRe = /<\d{1,3}>(?:\d{1,3} |[A-Z][a-z]{2} |\d{4}-)/g;

    it('cover every sender and transport', () => {
      expect(files.length).toBeGreaterThanOrEqual(20);
    });

    it.each(files)('every frame of %s parses with the fields its bytes carry', (file) => {
      const bytes = fs.readFileSync(path.join(dir, file));
      const transport = file.includes('-udp') ? 'udp' : file.includes('-tls') ? 'tls' : 'tcp';
      let frames: Buffer[];
      if (transport === 'udp') {
        frames = [bytes];
      } else {
        const framer = new SyslogFramer();
        const a = framer.push(bytes);
        const b = framer.end();
        expect([...a.errors, ...b.errors]).toEqual([]);
        frames = [...a.frames, ...b.frames];
      }
      const text = bytes.toString('utf8');
      expect(frames).toHaveLength(text.match(headerRe)?.length ?? 0);
      const wantParser = file.includes('rfc5424') ? 'rfc5424' : 'rfc3164';

      frames.forEach((frame, n) => {
        const r = parseSyslog(frame, ctx({ transport, receivedAt: new Date('2026-11-27T12:30:00Z') }));
        expect(r).toMatchObject({ ok: true });
        expect(field(r, 'citysoc.parser')).toBe(wantParser);
        expect(
          Math.abs(Date.parse(field(r, '@timestamp') as string) - Date.parse('2026-11-27T12:24:00Z')),
        ).toBeLessThan(10 * 60_000);
        if (text.includes('wiretest')) {
          expect(field(r, 'host.hostname')).toBe(file.includes('nohost') ? undefined : 'vm');
          expect(field(r, 'process.name')).toBe('wiretest');
          expect(field(r, 'process.pid')).toBe(4242);
          expect((field(r, 'message') as string).trim()).toBe(
            'wire test: user=alice src=192.0.2.10 action="deny" ünïcode',
          );
        } else {
          expect(field(r, 'host.hostname')).toBe('localhost');
          expect(field(r, 'process.name')).toBe('prg00000');
          expect(field(r, 'process.pid')).toBe(1234);
          expect(field(r, 'message')).toMatch(
            new RegExp(`^seq: ${String(n).padStart(10, '0')}, thread: 0000, `),
          );
        }
      });
    });
  });

  describe('fuzz seeds', () => {
    const dir = path.join(syslogDir, 'malformed');
    const files = present ? fs.readdirSync(dir).filter((f) => f.endsWith('.bin')) : [];

    it.each(files)('%s never throws and yields an event or a coded error', (file) => {
      const bytes = fs.readFileSync(path.join(dir, file));
      const direct = parseSyslog(bytes, ctx());
      if (direct.ok) expect(direct.event.event.original!.length).toBeGreaterThan(0);
      else expect(direct.code).toMatch(/^[a-z_]+$/);
      const framer = new SyslogFramer({ maxFrameBytes: 64 });
      const out = [framer.push(bytes), framer.end()];
      for (const o of out) {
        for (const f of o.frames) expect(typeof parseSyslog(f, ctx()).ok).toBe('boolean');
        for (const e of o.errors) expect(e.raw.length).toBeGreaterThan(0);
      }
    });
  });
});
