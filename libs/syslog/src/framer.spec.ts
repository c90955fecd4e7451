import { DEFAULT_MAX_FRAME_BYTES, SyslogFramer, type FrameError, type FramerOptions } from './index';

interface Collected {
  frames: string[];
  errors: FrameError[];
}

/** Feeds `chunks` in order, then closes the connection; frames are returned as latin1 text. */
function frame(chunks: (string | Buffer)[], opts: Partial<FramerOptions> = {}): Collected {
  const framer = new SyslogFramer(opts);
  const frames: string[] = [];
  const errors: FrameError[] = [];
  for (const c of chunks) {
    const out = framer.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    frames.push(...out.frames.map((f) => f.toString('latin1')));
    errors.push(...out.errors);
  }
  const last = framer.end();
  frames.push(...last.frames.map((f) => f.toString('latin1')));
  errors.push(...last.errors);
  return { frames, errors };
}

function bytewise(s: string): string[] {
  return s.split('');
}

function octet(msg: string): string {
  return `${Buffer.byteLength(msg, 'latin1')} ${msg}`;
}

describe('SyslogFramer', () => {
  describe('when the sender uses non-transparent framing', () => {
    it.each([
      ['LF', '<13>a\n<13>b\n', ['<13>a', '<13>b']],
      ['CRLF', '<13>a\r\n<13>b\r\n', ['<13>a', '<13>b']],
      ['NUL', '<13>a\0<13>b\0', ['<13>a', '<13>b']],
      ['a mix of LF, CRLF and NUL', '<13>a\n<13>b\r\n<13>c\0', ['<13>a', '<13>b', '<13>c']],
      ['blank lines between frames', '\n\n<13>a\n\r\n\n<13>b\n', ['<13>a', '<13>b']],
      ['leading whitespace kept', '  <13>a\n', ['  <13>a']],
      [
        'a line that starts with a number',
        '12 packets dropped\n2024-01-01 x\n',
        ['12 packets dropped', '2024-01-01 x'],
      ],
    ])('%s splits frames', (_name, input, expected) => {
      expect(frame([input])).toEqual({ frames: expected, errors: [] });
    });

    it('an unterminated last line is flushed as a frame when the connection closes', () => {
      expect(frame(['<13>a\n<13>tail'])).toEqual({ frames: ['<13>a', '<13>tail'], errors: [] });
    });

    it('frames split across reads are reassembled, whatever the chunk boundaries', () => {
      const input = '<13>first line\r\n<14>second\n<15>third\0';
      expect(frame(bytewise(input)).frames).toEqual(['<13>first line', '<14>second', '<15>third']);
      for (let cut = 1; cut < input.length; cut++) {
        expect(frame([input.slice(0, cut), input.slice(cut)]).frames).toEqual([
          '<13>first line',
          '<14>second',
          '<15>third',
        ]);
      }
    });

    it('messages concatenated without a trailer are split at the next syslog header', () => {
      const input =
        '<38>2026-11-27T12:24:07 localhost prg[1]: seq: 1 ' +
        '<38>Nov 27 12:24:07 localhost prg[1]: seq: 2 <not a header> ' +
        '<13>1 2026-11-27T12:24:07Z h a - - - seq: 3';
      const expected = [
        '<38>2026-11-27T12:24:07 localhost prg[1]: seq: 1 ',
        '<38>Nov 27 12:24:07 localhost prg[1]: seq: 2 <not a header> ',
        '<13>1 2026-11-27T12:24:07Z h a - - - seq: 3',
      ];
      expect(frame([input]).frames).toEqual(expected);
      expect(frame(bytewise(input)).frames).toEqual(expected);
      expect(frame([input], { splitOnHeader: false }).frames).toEqual([input]);
    });

    it('a line over the limit is reported with its first bytes and the next line still arrives', () => {
      const big = `<13>${'x'.repeat(200)}`;
      const r = frame([`${big}\n<13>ok\n`], { maxFrameBytes: 100 });
      expect(r.frames).toEqual(['<13>ok']);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.code).toBe('frame_too_large');
      expect(r.errors[0]!.raw.toString('latin1')).toBe(big.slice(0, 100));
    });

    it('a line over the limit arriving byte by byte is reported once, without buffering it whole', () => {
      const big = `<13>${'y'.repeat(5000)}`;
      const r = frame([...bytewise(big), '\n<13>after\n'], { maxFrameBytes: 1000 });
      expect(r.frames).toEqual(['<13>after']);
      expect(r.errors.map((e) => [e.code, e.raw.length])).toEqual([['frame_too_large', 1000]]);
    });

    it('a frame of exactly the limit is accepted', () => {
      const msg = `<13>${'z'.repeat(96)}`;
      expect(frame([`${msg}\n`], { maxFrameBytes: 100 })).toEqual({ frames: [msg], errors: [] });
    });
  });

  describe('when the sender uses octet counting', () => {
    const m1 = '<13>1 2026-11-27T12:00:00Z host app - - - one\n';
    const m2 = '<13>1 2026-11-27T12:00:00Z host app - - - two with\nan embedded newline';

    it('counted frames are cut at the count, keeping embedded newlines', () => {
      expect(frame([octet(m1) + octet(m2)])).toEqual({ frames: [m1, m2], errors: [] });
    });

    it('octet-counted frames split across TCP reads are reassembled', () => {
      const input = octet(m1) + octet(m2) + octet(m1);
      expect(frame(bytewise(input))).toEqual({ frames: [m1, m2, m1], errors: [] });
      for (let cut = 1; cut < input.length; cut++) {
        expect(frame([input.slice(0, cut), input.slice(cut)]).frames).toEqual([m1, m2, m1]);
      }
    });

    it('a newline between counted frames is tolerated', () => {
      expect(frame([`${octet('<13>a')}\n${octet('<13>b')}\r\n`]).frames).toEqual(['<13>a', '<13>b']);
    });

    it('a count over the limit is frame_too_large and exactly that many bytes are skipped', () => {
      const big = `<13>${'q'.repeat(150)}`;
      const input = `${octet('<13>a')}${octet(big)}${octet('<13>b')}`;
      for (const chunks of [[input], bytewise(input)]) {
        const r = frame(chunks, { maxFrameBytes: 100 });
        expect(r.frames).toEqual(['<13>a', '<13>b']);
        expect(r.errors.map((e) => e.code)).toEqual(['frame_too_large']);
        expect(r.errors[0]!.raw.toString('latin1').startsWith('154 <13>qqq')).toBe(true);
      }
    });

    it.each([
      ['letters after the digits', '12ab <13>lost\n'],
      ['a count with leading zero', '012 <13>lost\n'],
      ['an absurd count', '99999999999999999999 <13>lost\n'],
    ])('%s is invalid_octet_count and the framer resyncs at the next LF', (_name, bad) => {
      const input = `${octet('<13>a')}${bad}${octet('<13>b')}`;
      for (const chunks of [[input], bytewise(input)]) {
        const r = frame(chunks);
        expect(r.frames).toEqual(['<13>a', '<13>b']);
        expect(r.errors.map((e) => e.code)).toEqual(['invalid_octet_count']);
        expect(r.errors[0]!.raw.toString('latin1')).toBe(bad.slice(0, -1));
      }
    });

    it('a connection closed inside a counted frame reports it as truncated with its bytes', () => {
      const r = frame([`${octet('<13>a')}40 <13>partial`]);
      expect(r.frames).toEqual(['<13>a']);
      expect(r.errors).toEqual([
        { code: 'truncated', reason: expect.any(String), raw: Buffer.from('40 <13>partial') },
      ]);
    });

    it('a connection closed inside a count header reports it as truncated', () => {
      const r = frame([`${octet('<13>a')}12`]);
      expect(r.errors.map((e) => [e.code, e.raw.toString()])).toEqual([['truncated', '12']]);
    });
  });

  describe('when the input is hostile', () => {
    it('binary garbage never throws and output stays bounded', () => {
      let seed = 42;
      const rnd = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed;
      };
      for (let round = 0; round < 200; round++) {
        const framer = new SyslogFramer({ maxFrameBytes: 256 });
        let emitted = 0;
        let input = 0;
        for (let k = 0; k < 20; k++) {
          const chunk = Buffer.alloc(rnd() % 300);
          for (let i = 0; i < chunk.length; i++) {
            // Bias towards framing-relevant bytes so every state is reached.
            const r = rnd() % 16;
            chunk[i] =
              r === 0 ? 0x0a : r === 1 ? 0x3c : r < 5 ? 0x30 + (rnd() % 10) : r === 5 ? 0x20 : rnd() % 256;
          }
          input += chunk.length;
          const out = framer.push(chunk);
          for (const f of out.frames) {
            expect(f.length).toBeLessThanOrEqual(256);
            emitted += f.length;
          }
          for (const e of out.errors) expect(e.raw.length).toBeLessThanOrEqual(256 + 16);
        }
        const last = framer.end();
        for (const f of last.frames) emitted += f.length;
        expect(emitted).toBeLessThanOrEqual(input);
      }
    });

    it('rejects a non-positive limit at construction', () => {
      expect(() => new SyslogFramer({ maxFrameBytes: 0 })).toThrow(RangeError);
    });

    it('defaults to a 64 KiB limit', () => {
      expect(DEFAULT_MAX_FRAME_BYTES).toBe(65536);
      const msg = `<13>${'a'.repeat(65532)}`;
      expect(frame([`${msg}\n`]).frames).toEqual([msg]);
      expect(frame([`${msg}b\n`]).errors.map((e) => e.code)).toEqual(['frame_too_large']);
    });
  });

  it('frames returned from one read are not disturbed by later reads', () => {
    const framer = new SyslogFramer();
    const first = framer.push(Buffer.from('<13>par'));
    const second = framer.push(Buffer.from('tial\n<13>x'));
    const third = framer.push(Buffer.from('yz\n'));
    expect(first.frames).toEqual([]);
    expect(second.frames.map(String)).toEqual(['<13>partial']);
    expect(third.frames.map(String)).toEqual(['<13>xyz']);
    expect(second.frames.map(String)).toEqual(['<13>partial']);
  });
});
