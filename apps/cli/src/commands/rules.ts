import { type Command } from 'commander';
import { compileRules, loadRules } from '@citysoc/sigma';

export function registerRules(program: Command, out: NodeJS.WritableStream): void {
  const rules = program.command('rules').description('Work with Sigma rules');
  rules
    .command('check')
    .description('Load and compile rules; print every error with file:line; exit 1 if any rule is broken')
    .argument('<paths...>', 'rule files or folders')
    .option('--include-deprecated', 'also load rules with status deprecated')
    .option('--include-unsupported', 'also load rules with status unsupported')
    .option('--json', 'print the result as JSON')
    .action(
      (
        paths: string[],
        opts: { includeDeprecated?: boolean; includeUnsupported?: boolean; json?: boolean },
      ) => {
        const loaded = loadRules(paths, {
          includeStatuses: {
            deprecated: Boolean(opts.includeDeprecated),
            unsupported: Boolean(opts.includeUnsupported),
          },
        });
        const compiled = compileRules(loaded.rules);
        const errors = [...loaded.errors, ...compiled.errors];
        if (opts.json) {
          out.write(
            JSON.stringify(
              { files: loaded.files, rules: loaded.rules.length, compiled: compiled.size, errors },
              null,
              2,
            ) + '\n',
          );
        } else {
          for (const e of errors)
            out.write(
              `${e.file}:${e.line}${e.column ? `:${e.column}` : ''}: ${e.ruleId ? `[${e.ruleId}] ` : ''}${e.message}\n`,
            );
          out.write(
            `${loaded.files} files, ${loaded.rules.length} rules loaded, ${compiled.size} compiled, ${errors.length} errors\n`,
          );
        }
        if (errors.length > 0) process.exitCode = 1;
      },
    );
}
