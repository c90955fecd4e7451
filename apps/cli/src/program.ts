import { Command } from 'commander';
import { registerAdmin } from './commands/admin';
import { registerDeadletter } from './commands/deadletter';
import { registerDrill } from './commands/drill';
import { registerParse } from './commands/parse';
import { registerReport } from './commands/report';
import { registerRules } from './commands/rules';
import { registerStore } from './commands/store';
import { registerUsers } from './commands/users';

/** Each command group registers itself; adding one touches its own file plus one line here. */
export function buildProgram(
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Command {
  const program = new Command('citysoc').description('citysoc — city SOC event pipeline').version('0.1.0');
  program.configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  registerRules(program, out, err);
  registerParse(program, out, err);
  registerDeadletter(program, out);
  registerAdmin(program, out);
  registerUsers(program, out);
  registerReport(program, out);
  registerDrill(program, out, err);
  registerStore(program, out);
  return program;
}
