import { type Command } from 'commander';
import path from 'node:path';
import { projectRoot } from '@citysoc/config';
import { isRole, openControlStore, ROLES } from '@citysoc/store';

const dataDir = () => process.env.CITYSOC_DATA_DIR ?? path.join(projectRoot(), 'data');

/**
 * Local administration straight on the data folder: for the operator of the machine (who can read the
 * SQLite files anyway), e.g. to recover a lost admin token. Every action is written to the audit log.
 */
export function registerAdmin(program: Command, out: NodeJS.WritableStream): void {
  const token = program.command('token').description('API tokens (local, on CITYSOC_DATA_DIR)');
  token
    .command('create')
    .description('Issue a token; the secret is printed once and only its hash is stored')
    .requiredOption('--name <name>', 'who the token is for')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .action((opts: { name: string; role: string }) => {
      if (!isRole(opts.role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      if (!/^[\p{L}\p{N}._@-]{1,100}$/u.test(opts.name))
        throw new Error('--name may contain letters, digits and . _ @ - only');
      const control = openControlStore(dataDir());
      try {
        const { principal, token: secret } = control.auth.createToken(opts.name, opts.role);
        control.audit.append({
          actor: `local:${process.env.USER ?? 'unknown'}`,
          action: 'cli token.create',
          target: principal.id,
          outcome: 'success',
          detail: { name: opts.name, role: opts.role },
        });
        out.write(`${secret}\n`);
      } finally {
        control.close();
      }
    });
  token
    .command('list')
    .description('List tokens (never their secrets)')
    .action(() => {
      const control = openControlStore(dataDir());
      try {
        for (const t of control.auth.list())
          out.write(
            `${t.id}\t${t.role}\t${t.name}\t${t.created_at}\t${t.revoked_at ? `revoked ${t.revoked_at}` : 'active'}\n`,
          );
      } finally {
        control.close();
      }
    });

  program
    .command('audit')
    .description('The audit log (local)')
    .command('verify')
    .description('Recompute the hash chain; exit 1 and name the first broken entry if it was tampered with')
    .action(() => {
      const control = openControlStore(dataDir());
      try {
        const r = control.audit.verify();
        out.write(
          r.ok
            ? `audit log intact: ${r.entries} entries\n`
            : `audit log BROKEN at entry ${r.brokenAt} (after ${r.entries} good entries)\n`,
        );
        if (!r.ok) process.exitCode = 1;
      } finally {
        control.close();
      }
    });
}
