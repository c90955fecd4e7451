import { getField, type EcsEvent } from '@citysoc/ecs';
import {
  parseRfc3164,
  parseRfc5424,
  parseSyslog,
  decoderByName,
  type ParseContext,
  type ParseResult,
  type SyslogDecoder,
} from './index';

const RECEIVED = new Date('2026-11-27T05:00:00.000Z');

function ctx(overrides: Partial<ParseContext> = {}): ParseContext {
  return {
    senderIp: '192.0.2.7',
    senderPort: 51514,
    receivedAt: RECEIVED,
    eventId: 'ev-1',
    inputName: 'syslog-udp',
    transport: 'udp',
    ...overrides,
  };
}

function ok(r: ParseResult): EcsEvent {
  if (!r.ok) throw new Error(`expected an event, got ${r.code}: ${r.reason}`);
  return r.event;
}

/** The envelope alone: these tests pin RFC 5424/3164 behaviour, decoders have their own specs. */
function parse(line: string | Buffer, overrides: Partial<ParseContext> = {}): EcsEvent {
  return ok(
    parseSyslog(typeof line === 'string' ? Buffer.from(line) : line, ctx(overrides), { decoders: [] }),
  );
}

function pick(e: EcsEvent, paths: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of paths) out[p] = getField(e, p);
  return out;
}

describe('parseSyslog', () => {
  describe('when the frame is RFC 5424', () => {
    it('maps every header field to ECS', () => {
      const e = parse(
        '<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] %% Time to make the do-nuts.',
      );
      expect(e).toEqual({
        '@timestamp': '2003-08-24T12:14:15.000Z',
        message: '%% Time to make the do-nuts.',
        event: {
          id: 'ev-1',
          created: '2026-11-27T05:00:00.000Z',
          original:
            '<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] %% Time to make the do-nuts.',
          kind: 'event',
          dataset: 'syslog',
          module: 'syslog',
        },
        host: { hostname: '192.0.2.1' },
        log: {
          level: 'notice',
          source: { address: '192.0.2.7:51514' },
          syslog: {
            priority: 165,
            facility: { code: 20, name: 'local4' },
            severity: { code: 5, name: 'notice' },
            hostname: '192.0.2.1',
            appname: 'myproc',
            procid: '8710',
            msgid: 'ID47',
            version: '1',
            structured_data: { 'exampleSDID@32473': { iut: '3', eventSource: 'Application' } },
          },
        },
        process: { name: 'myproc', pid: 8710 },
        source: { ip: '192.0.2.7', port: 51514 },
        citysoc: { input: { name: 'syslog-udp', transport: 'udp' }, parser: 'rfc5424' },
      });
    });

    it.each([
      [
        'NILVALUE timestamp falls back to the receive time',
        '<13>1 - - - - - - x',
        '@timestamp',
        RECEIVED.toISOString(),
      ],
      ['NILVALUE hostname leaves host unset', '<13>1 - - - - - - x', 'host', undefined],
      [
        'fractional seconds keep milliseconds',
        '<13>1 2026-01-02T03:04:05.678901Z h a - - - x',
        '@timestamp',
        '2026-01-02T03:04:05.678Z',
      ],
      [
        'a positive offset is applied',
        '<13>1 2026-01-02T03:04:05+07:00 h a - - - x',
        '@timestamp',
        '2026-01-01T20:04:05.000Z',
      ],
      ['a BOM before MSG is stripped', '<13>1 - h a - - - \ufeffhello', 'message', 'hello'],
      ['an empty MSG leaves message unset', '<13>1 - h a - - -', 'message', undefined],
      ['a non-numeric PROCID gives no pid', '<13>1 - h a worker-3 - - x', 'process', { name: 'a' }],
      [
        'escaped quote, backslash and bracket in PARAM-VALUE are unescaped',
        '<13>1 - h a - - [x@1 v="a\\"b\\\\c\\]d"] m',
        'log.syslog.structured_data',
        { 'x@1': { v: 'a"b\\c]d' } },
      ],
      [
        'repeated PARAM-NAMEs become an array',
        '<13>1 - h a - - [origin ip="192.0.2.1" ip="192.0.2.2" ip="192.0.2.3"] m',
        'log.syslog.structured_data',
        { origin: { ip: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] } },
      ],
      [
        'an SD-ELEMENT without params is kept',
        '<13>1 - h a - - [sdid] m',
        'log.syslog.structured_data',
        { sdid: {} },
      ],
      [
        'an SD-ID named __proto__ is stored as data, not as a prototype',
        '<13>1 - h a - - [__proto__ polluted="yes"] m',
        'log.syslog.structured_data.__proto__.polluted',
        'yes',
      ],
    ])('%s', (_name, line, path, expected) => {
      expect(getField(parse(line), path)).toEqual(expected);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it.each([
      ['PRI over 191', '<192>1 - - - - - - x', 'invalid_pri'],
      ['PRI with a leading zero', '<013>1 - - - - - - x', 'invalid_pri'],
      ['PRI with four digits', '<1000>1 - - - - - - x', 'invalid_pri'],
      ['VERSION 0', '<13>0 2026-01-01T00:00:00Z h a - - - x', 'invalid_version'],
      ['month 13', '<13>1 2026-13-01T00:00:00Z h a - - - x', 'invalid_timestamp'],
      ['Feb 29 of a common year', '<13>1 2026-02-29T00:00:00Z h a - - - x', 'invalid_timestamp'],
      ['lower-case t', '<13>1 2026-01-01t00:00:00Z h a - - - x', 'invalid_timestamp'],
      ['seven fraction digits', '<13>1 2026-01-01T00:00:00.1234567Z h a - - - x', 'invalid_timestamp'],
      ['an offset of 24 hours', '<13>1 2026-01-01T00:00:00+24:00 h a - - - x', 'invalid_timestamp'],
      ['a missing zone', '<13>1 2026-01-01T00:00:00 h a - - - x', 'invalid_timestamp'],
      ['an APP-NAME of 49 chars', `<13>1 - h ${'a'.repeat(49)} - - - x`, 'invalid_appname'],
      ['a duplicate SD-ID', '<13>1 - h a - - [a][a] x', 'invalid_structured_data'],
      ['an unescaped ] in PARAM-VALUE', '<13>1 - h a - - [a b="]"] x', 'invalid_structured_data'],
      ['an unknown escape in PARAM-VALUE', '<13>1 - h a - - [a b="\\n"] x', 'invalid_structured_data'],
      ['an unterminated SD-ELEMENT', '<13>1 - h a - - [a b="c"', 'invalid_structured_data'],
      ['no SP before MSG', '<13>1 - h a - - [a]x', 'invalid_header'],
    ])('%s is refused with a precise code', (_name, line, code) => {
      const r = parseSyslog(Buffer.from(line), ctx());
      expect(r).toEqual({ ok: false, code, reason: expect.stringMatching(/\S/) });
    });

    it('parseRfc5424 refuses a BSD line that auto-detection accepts', () => {
      const line = Buffer.from('<13>Oct 11 22:14:15 host app: x');
      expect(parseRfc5424(line, ctx())).toMatchObject({ ok: false, code: 'invalid_version' });
      expect(parseSyslog(line, ctx()).ok).toBe(true);
    });

    it('parseRfc3164 reads an RFC 5424 line tolerantly instead of refusing it', () => {
      const e = ok(parseRfc3164(Buffer.from('<13>1 - h a - - [bad x'), ctx()));
      expect(e.citysoc?.parser).toBe('rfc3164');
      expect(e.message).toBe('1 - h a - - [bad x');
    });
  });

  describe('when the frame is RFC 3164 / BSD', () => {
    const fields = [
      '@timestamp',
      'event.timezone',
      'host.hostname',
      'process.name',
      'process.pid',
      'message',
      'log.syslog.priority',
    ];
    it.each([
      [
        'the classic form',
        '<34>Oct 11 22:14:15 mymachine su: failed for lonvick',
        [
          '2026-10-11T15:14:15.000Z',
          'Asia/Ho_Chi_Minh',
          'mymachine',
          'su',
          undefined,
          'failed for lonvick',
          34,
        ],
      ],
      [
        'a tag with a pid',
        '<85>Jan 24 15:50:41 ip-172-31-30-110 sudo[6040]: ec2-user : TTY=pts/0',
        [
          '2027-01-24T08:50:41.000Z',
          'Asia/Ho_Chi_Minh',
          'ip-172-31-30-110',
          'sudo',
          6040,
          'ec2-user : TTY=pts/0',
          85,
        ],
      ],
      [
        'a single-digit day padded with a space',
        '<13>Aug  7 06:30:00 xxx aaa: m',
        ['2026-08-06T23:30:00.000Z', 'Asia/Ho_Chi_Minh', 'xxx', 'aaa', undefined, 'm', 13],
      ],
      [
        'a single-digit day without padding',
        '<13>Aug 7 06:30:00 xxx aaa: m',
        ['2026-08-06T23:30:00.000Z', 'Asia/Ho_Chi_Minh', 'xxx', 'aaa', undefined, 'm', 13],
      ],
      [
        'an upper-case month',
        '<13>AUG 10 22:18:24 host app: m',
        ['2026-08-10T15:18:24.000Z', 'Asia/Ho_Chi_Minh', 'host', 'app', undefined, 'm', 13],
      ],
      [
        'no PRI (user.notice assumed)',
        'Oct 11 22:14:15 host.example app[123]: legacy',
        ['2026-10-11T15:14:15.000Z', 'Asia/Ho_Chi_Minh', 'host.example', 'app', 123, 'legacy', 13],
      ],
      [
        'no hostname',
        '<13>Oct 11 22:14:15 sshd[99]: Accepted publickey',
        ['2026-10-11T15:14:15.000Z', 'Asia/Ho_Chi_Minh', undefined, 'sshd', 99, 'Accepted publickey', 13],
      ],
      [
        'an RFC 3339 timestamp with offset',
        '<13>2026-07-23T09:30:45.123+02:00 host daemon: timestamp variant',
        ['2026-07-23T07:30:45.123Z', undefined, 'host', 'daemon', undefined, 'timestamp variant', 13],
      ],
      [
        'an ISO timestamp without zone uses the context zone',
        '<13>2026-07-23 09:30:45 host daemon: m',
        ['2026-07-23T02:30:45.000Z', 'Asia/Ho_Chi_Minh', 'host', 'daemon', undefined, 'm', 13],
      ],
      [
        'a year before the clock',
        '<167>Mar 7 2008 19:06:53: example tag: testmessage',
        ['2008-03-07T12:06:53.000Z', 'Asia/Ho_Chi_Minh', 'example', 'tag', undefined, 'testmessage', 167],
      ],
      [
        'a Cisco sequence number, unsynced-clock star, milliseconds and UTC',
        '<189>000123: *Mar  1 18:46:11.045 UTC: %SYS-5-CONFIG_I: Configured from console',
        [
          '2027-03-01T18:46:11.045Z',
          undefined,
          undefined,
          '%SYS-5-CONFIG_I',
          undefined,
          'Configured from console',
          189,
        ],
      ],
      [
        'a tag ending in a colon with no space after it',
        '<129>Mar 10 01:00:00 Hostname5 tag5:msgnum:5',
        ['2027-03-09T18:00:00.000Z', 'Asia/Ho_Chi_Minh', 'Hostname5', 'tag5', undefined, 'msgnum:5', 129],
      ],
      [
        'a first word without colon stays in the message',
        '<166>Jul  6 20:33:28 ABC-1-234567 Some message here',
        [
          '2026-07-06T13:33:28.000Z',
          'Asia/Ho_Chi_Minh',
          'ABC-1-234567',
          undefined,
          undefined,
          'Some message here',
          166,
        ],
      ],
      [
        'a PRI without a timestamp still yields the tag',
        '<27>xapi: [error|xen3] Connection to master died',
        [
          RECEIVED.toISOString(),
          undefined,
          undefined,
          'xapi',
          undefined,
          '[error|xen3] Connection to master died',
          27,
        ],
      ],
      [
        'a header with nothing after the hostname',
        '<14>Aug 30 23:00:05 X4711',
        ['2026-08-30T16:00:05.000Z', 'Asia/Ho_Chi_Minh', 'X4711', undefined, undefined, undefined, 14],
      ],
    ])('%s', (_name, line, expected) => {
      expect(pick(parse(line), fields)).toEqual(Object.fromEntries(fields.map((f, i) => [f, expected[i]])));
    });

    it.each([
      [
        'a Dec 31 line received on Jan 1 gets the previous year',
        'Dec 31 23:59:58',
        '2027-01-01T00:00:05Z',
        '2026-12-31T23:59:58.000Z',
      ],
      [
        'a Jan 1 line received on Dec 31 gets the next year',
        'Jan  1 00:00:02',
        '2026-12-31T23:59:59Z',
        '2027-01-01T00:00:02.000Z',
      ],
      [
        'a line from yesterday keeps the current year',
        'Jun 14 10:00:00',
        '2026-06-15T10:00:00Z',
        '2026-06-14T10:00:00.000Z',
      ],
      [
        'Feb 29 received in a common year picks the nearest leap year',
        'Feb 29 12:00:00',
        '2029-01-10T00:00:00Z',
        '2028-02-29T12:00:00.000Z',
      ],
    ])('%s', (_name, stamp, received, expected) => {
      const e = parse(`<13>${stamp} host app: m`, { receivedAt: new Date(received), timezone: 'UTC' });
      expect(e['@timestamp']).toBe(expected);
      expect(e.event.timezone).toBe('UTC');
    });

    it.each([
      ['summer time', 'Jul  4 12:00:00', '2026-07-04T16:00:00.000Z'],
      ['winter time', 'Jan  4 12:00:00', '2026-01-04T17:00:00.000Z'],
    ])('a zone with daylight saving applies its %s offset', (_name, stamp, expected) => {
      const e = parse(`<13>${stamp} host app: m`, {
        timezone: 'America/New_York',
        receivedAt: new Date('2026-04-01T00:00:00Z'),
      });
      expect(e['@timestamp']).toBe(expected);
      expect(e.event.timezone).toBe('America/New_York');
    });

    it('an unknown context zone is refused rather than guessed', () => {
      expect(
        parseSyslog(Buffer.from('<13>Oct 11 22:14:15 h a: m'), ctx({ timezone: 'Mars/Olympus' })),
      ).toMatchObject({
        ok: false,
        code: 'invalid_timezone',
      });
    });
  });

  describe('when the frame has no recognizable header', () => {
    it.each([
      ['plain text', 'this is not syslog'],
      ['a broken PRI', '<87]123 - x'],
      ['an empty PRI', '<>hello'],
      ['a number then text', '12 packets dropped'],
      ['CEF without a syslog header', 'CEF:0|Vendor|Product|1.0|100|name|5|src=10.0.0.1'],
    ])('%s is still an event with the whole text as message', (_name, line) => {
      const e = parse(line);
      expect(
        pick(e, ['message', '@timestamp', 'log.syslog.priority', 'log.level', 'host', 'process']),
      ).toEqual({
        message: line,
        '@timestamp': RECEIVED.toISOString(),
        'log.syslog.priority': 13,
        'log.level': 'notice',
        host: undefined,
        process: undefined,
      });
    });
  });

  describe('when preparing the frame text', () => {
    it.each([
      ['LF', '<13>Oct 11 22:14:15 h a: m\n'],
      ['CRLF', '<13>Oct 11 22:14:15 h a: m\r\n'],
      ['NUL', '<13>Oct 11 22:14:15 h a: m\0'],
      ['several', '<13>Oct 11 22:14:15 h a: m\r\n\0\n'],
    ])('a trailing %s is stripped', (_name, line) => {
      const e = parse(line);
      expect(e.event.original).toBe('<13>Oct 11 22:14:15 h a: m');
      expect(e.message).toBe('m');
    });

    it('a UTF-8 BOM before the PRI is dropped', () => {
      const e = parse(
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<13>Oct 11 22:14:15 h a: m')]),
      );
      expect(pick(e, ['event.original', 'log.syslog.priority', 'host.hostname'])).toEqual({
        'event.original': '<13>Oct 11 22:14:15 h a: m',
        'log.syslog.priority': 13,
        'host.hostname': 'h',
      });
    });

    it('leading and trailing spaces are kept in event.original', () => {
      expect(parse('  hello  ').event.original).toBe('  hello  ');
    });

    it('invalid UTF-8 is replaced, not refused', () => {
      const e = parse(
        Buffer.concat([Buffer.from('<13>Oct 11 22:14:15 h a: caf'), Buffer.from([0xe9]), Buffer.from(' ok')]),
      );
      expect(e.message).toBe('caf\ufffd ok');
    });

    it('UTF-8 text is decoded', () => {
      expect(parse('<13>Oct 11 22:14:15 h a: Tiếng Việt').message).toBe('Tiếng Việt');
    });

    it('an RFC 6587 count left in a datagram is framing, not content', () => {
      const msg = '<38>1 2026-11-27T12:24:11+00:00 localhost prg 1234 - - hello\n';
      const e = parse(`${Buffer.byteLength(msg)} ${msg}`);
      expect(pick(e, ['event.original', 'host.hostname', 'message'])).toEqual({
        'event.original': msg.trimEnd(),
        'host.hostname': 'localhost',
        message: 'hello',
      });
    });

    it.each([
      ['an empty frame', Buffer.alloc(0), 'empty'],
      ['only terminators', Buffer.from('\r\n\0'), 'empty'],
      ['only whitespace', Buffer.from('  \t '), 'empty'],
      ['a NUL inside the frame', Buffer.from('<13>a\0b'), 'not_text'],
      ['mostly control bytes', Buffer.from([0x3c, 0x31, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8, 0x41]), 'not_text'],
      [
        'mostly invalid UTF-8',
        Buffer.from([0x3c, 0x31, 0x3e, 0xff, 0xfe, 0xfd, 0xc0, 0xc1, 0x41]),
        'not_text',
      ],
    ])('%s is refused as %s', (_name, raw, code) => {
      expect(parseSyslog(raw, ctx())).toEqual({ ok: false, code, reason: expect.stringMatching(/\S/) });
    });
  });

  describe('when recording the sender', () => {
    it.each([
      ['IPv4', '10.1.2.3', 514, '10.1.2.3', '10.1.2.3:514'],
      ['an IPv4-mapped IPv6 address', '::ffff:10.1.2.3', 514, '10.1.2.3', '10.1.2.3:514'],
      ['an upper-case mapped address', '::FFFF:10.1.2.3', 514, '10.1.2.3', '10.1.2.3:514'],
      ['IPv6', '2001:db8::7', 6514, '2001:db8::7', '[2001:db8::7]:6514'],
      ['no port', '2001:db8::7', undefined, '2001:db8::7', '2001:db8::7'],
    ])('%s gives source.ip and log.source.address', (_name, ip, port, wantIp, wantAddress) => {
      const e = parse('<13>Oct 11 22:14:15 h a: m', { senderIp: ip, senderPort: port, transport: 'tcp' });
      expect(e.source).toEqual(port === undefined ? { ip: wantIp } : { ip: wantIp, port });
      expect(e.log?.source?.address).toBe(wantAddress);
      expect(e.citysoc?.input).toEqual({ name: 'syslog-udp', transport: 'tcp' });
      expect(e.observer).toBeUndefined();
    });
  });

  describe('when payload decoders are given', () => {
    const cef: SyslogDecoder = {
      name: 'cef',
      decode(fields, event) {
        if (!fields.msgPart.startsWith('CEF:')) return false;
        event.observer = { vendor: fields.msgPart.split('|')[1] };
        return true;
      },
    };

    it('the first decoder that accepts the message enriches the event and names the parser', () => {
      const e = ok(
        parseSyslog(Buffer.from('<134>Oct 11 22:14:15 fw CEF:0|Acme|FW|1|1|x|5|'), ctx(), {
          decoders: [cef],
        }),
      );
      expect(e.observer).toEqual({ vendor: 'Acme' });
      expect(e.citysoc?.parser).toBe('cef');
    });

    it('auto-detects the built-in formats when no decoders are given', () => {
      const e = ok(
        parseSyslog(Buffer.from('<134>Oct 11 22:14:15 fw CEF:0|Acme|FW|1|1|x|5|src=10.0.0.1'), ctx()),
      );
      expect(e.citysoc?.parser).toBe('cef');
      expect(e.observer).toEqual({ vendor: 'Acme', product: 'FW', version: '1' });
      expect(e.source?.ip).toBe('10.0.0.1');
    });

    it('a pinned decoder list replaces auto-detection', () => {
      const e = ok(
        parseSyslog(Buffer.from('<134>Oct 11 22:14:15 fw CEF:0|Acme|FW|1|1|x|5|'), ctx(), {
          decoders: [decoderByName('leef')!],
        }),
      );
      expect(e.citysoc?.parser).toBe('rfc3164');
    });

    it('a message no decoder accepts keeps the envelope parser', () => {
      const e = ok(parseSyslog(Buffer.from('<134>Oct 11 22:14:15 fw app: x'), ctx(), { decoders: [cef] }));
      expect(e.citysoc?.parser).toBe('rfc3164');
      expect(e.observer).toBeUndefined();
    });
  });

  it('random bytes never throw', () => {
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const prefixes = ['', '<13>', '<13>1 ', '<13>1 - - - - - [', '<13>Oct 11 ', '<13>2026-01-01T'];
    for (let k = 0; k < 3000; k++) {
      const body = Buffer.alloc(rnd() % 80);
      for (let i = 0; i < body.length; i++) body[i] = rnd() % 4 === 0 ? rnd() % 256 : 0x20 + (rnd() % 95);
      const raw = Buffer.concat([Buffer.from(prefixes[k % prefixes.length]!), body]);
      const r = parseSyslog(raw, ctx());
      if (r.ok) expect(typeof r.event['@timestamp']).toBe('string');
      else expect(r.code).toMatch(/^[a-z_]+$/);
    }
  });
});
