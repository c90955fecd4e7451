import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { openControlStore } from '@citysoc/store';
import { registerAdmin } from './admin';

function run(args: string[]): string {
  let text = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  const program = new Command('citysoc').exitOverride();
  registerAdmin(program, out);
  program.parse(args, { from: 'user' });
  return text;
}

describe('citysoc token and audit', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-cli-'));
    process.env.CITYSOC_DATA_DIR = dir;
  });
  afterEach(() => {
    delete process.env.CITYSOC_DATA_DIR;
    process.exitCode = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues a working token, lists it without the secret, and audits the action', () => {
    const secret = run(['token', 'create', '--name', 'nguyen.van.a', '--role', 'admin']).trim();
    expect(secret).toMatch(/^csk_[A-Za-z0-9_-]{43}$/);
    const control = openControlStore(dir);
    try {
      expect(control.auth.verify(secret)?.name).toBe('nguyen.van.a');
      expect(control.audit.list(10).map((e) => e.action)).toEqual(['cli token.create']);
    } finally {
      control.close();
    }
    const listing = run(['token', 'list']);
    expect(listing).toContain('admin\tnguyen.van.a');
    expect(listing).not.toContain(secret);
    expect(run(['audit', 'verify'])).toBe('audit log intact: 1 entries\n');
  });

  it('refuses an unknown role', () => {
    expect(() => run(['token', 'create', '--name', 'x', '--role', 'root'])).toThrow(/--role must be one of/);
  });

  it('reports a tampered audit log and sets a failing exit code', () => {
    run(['token', 'create', '--name', 'a', '--role', 'analyst']);
    run(['token', 'create', '--name', 'b', '--role', 'analyst']);
    const control = openControlStore(dir);
    control.db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1").run();
    control.close();
    expect(run(['audit', 'verify'])).toMatch(/BROKEN at entry 1/);
    expect(process.exitCode).toBe(1);
  });
});
