import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Command } from 'commander';
import { openControlStore } from '@citysoc/store';
import { registerUsers } from './users';

async function run(args: string[], stdin = ''): Promise<string> {
  let text = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  const program = new Command('citysoc').exitOverride();
  registerUsers(program, out, Readable.from([Buffer.from(stdin)]));
  await program.parseAsync(args, { from: 'user' });
  return text;
}

describe('citysoc user', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-cli-users-'));
    process.env.CITYSOC_DATA_DIR = dir;
  });
  afterEach(() => {
    delete process.env.CITYSOC_DATA_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a unit-bound user from a password on stdin who can then log in, and audits it', async () => {
    const text = await run(
      [
        'user',
        'create',
        '--username',
        'lan',
        '--role',
        'responder',
        '--unit',
        'hanoi/ba-dinh',
        '--password-stdin',
      ],
      'a long enough password\n',
    );
    expect(text).toMatch(/^created responder lan bound to hanoi\/ba-dinh id /);
    const control = openControlStore(dir);
    try {
      const r = await control.auth.login('lan', 'a long enough password', {
        maxFailures: 5,
        lockoutMs: 60_000,
        sessionMs: 60_000,
      });
      expect(r.ok).toBe(true);
      expect(control.audit.list(10).map((e) => e.action)).toEqual(['cli user.create']);
    } finally {
      control.close();
    }
    expect(await run(['user', 'list'])).toContain('responder\tlan\thanoi/ba-dinh\tactive');
  }, 20_000);

  it.each([
    [['--username', 'x', '--role', 'root', '--password-stdin'], 'pw long enough!', /--role must be one of/],
    [['--username', 'x', '--role', 'analyst'], '', /no password/],
    [['--username', 'x', '--role', 'analyst', '--password-stdin'], 'short', /at least 12/],
    [
      ['--username', 'x', '--role', 'analyst', '--unit', '../etc', '--password-stdin'],
      'pw long enough!',
      /invalid unit/,
    ],
  ])('refuses %j', async (args, stdin, msg) => {
    await expect(run(['user', 'create', ...args], stdin)).rejects.toThrow(msg);
  });
});
