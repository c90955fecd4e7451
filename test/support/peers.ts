import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './root';

/**
 * Real syslog peers (rsyslog from apt, syslog-ng unpacked by scripts/ensure-peers.sh) run as child processes
 * with their own config, pid and state files in a temporary directory: no root daemon, nothing shared.
 */

export function rsyslogdPath(): string | undefined {
  for (const p of ['/usr/sbin/rsyslogd', '/usr/bin/rsyslogd']) if (existsSync(p)) return p;
  return undefined;
}

/** rsyslog's TLS netstream driver module, which Debian ships in a separate package. */
export function rsyslogHasDriver(driver: 'ossl' | 'gtls'): boolean {
  for (const dir of [
    '/usr/lib/x86_64-linux-gnu/rsyslog',
    '/usr/lib/aarch64-linux-gnu/rsyslog',
    '/usr/lib/rsyslog',
  ])
    if (existsSync(path.join(dir, `lmnsd_${driver}.so`))) return true;
  return false;
}

export interface SyslogNgInstall {
  bin: string;
  libDir: string;
  moduleDir: string;
}

export function syslogNgInstall(): SyslogNgInstall | undefined {
  const dir = process.env.CITYSOC_PEERS_DIR ?? path.join(repoRoot(), '.cache', 'peers');
  const root = path.join(dir, 'syslog-ng');
  const bin = path.join(root, 'usr', 'sbin', 'syslog-ng');
  if (!existsSync(bin)) return undefined;
  const libDir = path.join(root, 'usr', 'lib', 'syslog-ng');
  const versions = existsSync(libDir)
    ? execFileSync('ls', [libDir])
        .toString()
        .split('\n')
        .filter((v) => /^\d+\.\d+$/.test(v))
    : [];
  const version = versions.sort().pop();
  if (!version) return undefined;
  return { bin, libDir, moduleDir: path.join(libDir, version) };
}

export interface TestPki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * A throwaway CA with a server certificate (localhost, 127.0.0.1, ::1) and a client certificate, made with
 * the openssl CLI at test time so no key material lives in the repository.
 */
export function makeTestPki(dir: string): TestPki {
  const f = (name: string) => path.join(dir, name);
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=citysoc test CA', '-days', '1'].concat([
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
    ]),
  );
  issueFromTestCa(
    dir,
    'server',
    'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n',
  );
  const client = issueTestClient(dir, 'client', 'citysoc-sender');
  return {
    dir,
    caFile: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: client.cert,
    clientKey: client.key,
  };
}

/** Another client certificate from a test PKI's CA (a second device presenting its own certificate). */
export function issueTestClient(dir: string, name: string, cn: string): { cert: string; key: string } {
  issueFromTestCa(dir, name, cn, `subjectAltName=DNS:${cn}\nextendedKeyUsage=clientAuth\n`);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function issueFromTestCa(dir: string, name: string, cn: string, ext: string): void {
  const f = (n: string) => path.join(dir, n);
  writeFileSync(f(`${name}.ext`), ext);
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`)].concat([
      '-out',
      f(`${name}.csr`),
    ]),
  );
  openssl(
    ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key')].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      f(`${name}.pem`),
      '-extfile',
      f(`${name}.ext`),
    ]),
  );
}

/** A peer process running from its own temporary directory; stop() kills it and removes the directory. */
export class PeerProcess {
  private readonly output: string[] = [];
  private exited?: number | null;

  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (b: Buffer) => {
      this.output.push(b.toString());
      if (this.output.length > 200) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code) => (this.exited = code));
  }

  static start(dir: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): PeerProcess {
    const child = spawn(cmd, args, {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new PeerProcess(dir, child);
  }

  /** What the peer printed so far, for failure messages. */
  get log(): string {
    return this.output.join('');
  }

  get hasExited(): boolean {
    return this.exited !== undefined;
  }

  async stop(): Promise<void> {
    if (this.exited === undefined && this.child.exitCode === null) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function peerDir(name: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `citysoc-${name}-`));
}

/** Starts rsyslogd in the foreground with `config` (written to <dir>/rsyslog.conf) and its own pid file. */
export function startRsyslog(dir: string, config: string): PeerProcess {
  const bin = rsyslogdPath();
  if (!bin) throw new Error('rsyslogd is not installed (run scripts/ensure-peers.sh)');
  const conf = path.join(dir, 'rsyslog.conf');
  writeFileSync(conf, config);
  return PeerProcess.start(dir, bin, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')]);
}

/** Starts syslog-ng in the foreground from the unpacked package with its own persist/pid/control files. */
export function startSyslogNg(dir: string, config: string): PeerProcess {
  const sng = syslogNgInstall();
  if (!sng) throw new Error('syslog-ng is not unpacked (run scripts/ensure-peers.sh)');
  const conf = path.join(dir, 'syslog-ng.conf');
  writeFileSync(conf, config);
  return PeerProcess.start(
    dir,
    sng.bin,
    [
      '-F',
      '--no-caps',
      '-f',
      conf,
      `--persist-file=${path.join(dir, 'syslog-ng.persist')}`,
      `--pidfile=${path.join(dir, 'syslog-ng.pid')}`,
      `--control=${path.join(dir, 'syslog-ng.ctl')}`,
      `--module-path=${sng.moduleDir}`,
    ],
    { LD_LIBRARY_PATH: sng.libDir },
  );
}

/** The version line syslog-ng reports, e.g. for `@version:` in a config. */
export function syslogNgVersion(): string | undefined {
  const sng = syslogNgInstall();
  return sng ? path.basename(sng.moduleDir) : undefined;
}

export function readText(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}
