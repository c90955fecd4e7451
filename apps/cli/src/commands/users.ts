import { type Command } from 'commander';
import path from 'node:path';
import { projectRoot } from '@citysoc/config';
import { isRole, openControlStore, ROLES } from '@citysoc/store';

const dataDir = () => process.env.CITYSOC_DATA_DIR ?? path.join(projectRoot(), 'data');

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Local users on the data folder, for the first users of a fresh install (then admins use POST /api/v1/users).
 * The password never goes on the command line (shell history, `ps`): it is read from stdin or from
 * CITYSOC_USER_PASSWORD.
 */
export function registerUsers(
  program: Command,
  out: NodeJS.WritableStream,
  stdin: NodeJS.ReadableStream = process.stdin,
): void {
  const user = program.command('user').description('Local users (on CITYSOC_DATA_DIR)');
  user
    .command('create')
    .description('Create a user; password from stdin (--password-stdin) or CITYSOC_USER_PASSWORD')
    .requiredOption('--username <name>', 'login name')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--unit <path>', 'unit path the user is bound to (e.g. hanoi/ba-dinh); omit for city-wide')
    .option('--password-stdin', 'read the password from standard input (first line)')
    .action(async (opts: { username: string; role: string; unit?: string; passwordStdin?: boolean }) => {
      if (!isRole(opts.role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      const password = opts.passwordStdin
        ? ((await readAll(stdin)).split(/\r?\n/)[0] ?? '')
        : (process.env.CITYSOC_USER_PASSWORD ?? '');
      if (!password) throw new Error('no password: use --password-stdin or set CITYSOC_USER_PASSWORD');
      const control = openControlStore(dataDir());
      try {
        const u = await control.auth.createUser({
          username: opts.username,
          password,
          role: opts.role,
          unit: opts.unit ?? null,
        });
        control.audit.append({
          actor: `local:${process.env.USER ?? 'unknown'}`,
          action: 'cli user.create',
          target: u.id,
          outcome: 'success',
          detail: { username: u.username, role: u.role, unit: u.unit },
        });
        out.write(
          `created ${u.role} ${u.username}${u.unit ? ` bound to ${u.unit}` : ' (city-wide)'} id ${u.id}\n`,
        );
      } finally {
        control.close();
      }
    });
  user
    .command('list')
    .description('List users')
    .action(() => {
      const control = openControlStore(dataDir());
      try {
        for (const u of control.auth.listUsers())
          out.write(
            `${u.id}\t${u.role}\t${u.username}\t${u.unit ?? '(city-wide)'}\t${u.disabled_at ? `disabled ${u.disabled_at}` : 'active'}\n`,
          );
      } finally {
        control.close();
      }
    });
}
