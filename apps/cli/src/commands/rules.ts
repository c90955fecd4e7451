import { type Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { compileRules, loadPipelineFile, loadRules, PIPELINES_DIR, type RuleError } from '@citysoc/sigma';
import {
  chunkedWriter,
  formatProblem,
  loadSet,
  profileTable,
  readPlaceholders,
  runEvents,
  splitEventsArg,
  statsLine,
} from './rules-match';

/** Every pipeline file in the `pipelines/` folder of a rule folder given to `rules check`. */
function checkPipelines(paths: string[]): RuleError[] {
  const errors: RuleError[] = [];
  for (const p of paths) {
    const dir = path.join(p, PIPELINES_DIR);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const n of readdirSync(dir).sort()) {
      if (/\.ya?ml$/i.test(n)) errors.push(...loadPipelineFile(path.join(dir, n)).errors);
    }
  }
  return errors;
}

export function registerRules(
  program: Command,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = process.stderr,
): void {
  const rules = program.command('rules').description('Work with Sigma rules');
  rules
    .command('check')
    .description(
      'Load and compile rules; print one line per problem as file:line: message; exit 1 if any rule is broken',
    )
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
        const errors = [...loaded.errors, ...compiled.errors, ...checkPipelines(paths)];
        if (opts.json) {
          out.write(
            JSON.stringify(
              { files: loaded.files, rules: loaded.rules.length, compiled: compiled.size, errors },
              null,
              2,
            ) + '\n',
          );
        } else {
          // stdout carries only the problems, so scripts can read it line by line; the tally is for people.
          for (const e of errors) out.write(formatProblem(e) + '\n');
          err.write(
            `${loaded.files} files, ${loaded.rules.length} rules loaded, ${compiled.size} compiled, ${errors.length} errors\n`,
          );
        }
        if (errors.length > 0) process.exitCode = 1;
      },
    );

  rules
    .command('match')
    .description(
      'Match JSON-lines events against rules; one output line per input event, in order: ' +
        '{"line":N,"matches":["<rule id>",...]}; a correlation that fires adds ' +
        '{"correlation":"<rule id>","group":{...},"lines":[N,...]} after the line that completed it.',
    )
    .argument('[events]', 'JSON-lines file, or - for standard input (default)')
    .requiredOption('--rules <paths...>', 'rule files or folders (repeatable)')
    .option(
      '--pipeline <name>',
      'processing pipeline: a name (rules/pipelines/NAME.yml), a file, or "none" = rule field names ' +
        'verbatim (dotted names also address nested objects) and every rule on every event',
      'none',
    )
    .option(
      '--all-logsources',
      "evaluate every rule on every event whatever its logsource (the pipeline's field mappings still apply)",
    )
    .option('--placeholders <file>', 'YAML map: placeholder name -> list of values, for |expand')
    .option(
      '--stats',
      'write {"events","rules","seconds","events_per_second"} to stderr (matching time only)',
    )
    .action(
      async (
        eventsArg: string | undefined,
        opts: {
          rules: string[];
          pipeline: string;
          allLogsources?: boolean;
          placeholders?: string;
          stats?: boolean;
        },
      ) => {
        const [paths, events] = splitEventsArg(opts.rules, eventsArg);
        const loaded = loadSet(paths, {
          pipeline: opts.pipeline,
          allLogsources: Boolean(opts.allLogsources),
          ...(opts.placeholders ? { placeholders: readPlaceholders(opts.placeholders) } : {}),
        });
        const { set, problems } = loaded;
        for (const p of problems) err.write(formatProblem(p) + '\n');
        const w = chunkedWriter(out);
        const r = await runEvents(loaded, events, w.emit, err);
        w.flush();
        if (opts.stats) err.write(statsLine(set, r) + '\n');
        if (r.badLines > 0) process.exitCode = 1;
      },
    );

  rules
    .command('profile')
    .description('Match events against rules and print the costliest rules: evaluations, matches and time')
    .argument('[events]', 'JSON-lines file, or - for standard input')
    .requiredOption('--rules <paths...>', 'rule files or folders (repeatable)')
    .option('--pipeline <name>', 'processing pipeline (as for rules match), or none', 'none')
    .option('--all-logsources', 'evaluate every rule on every event whatever its logsource')
    .option('--placeholders <file>', 'YAML map: placeholder name -> list of values, for |expand')
    .option('--top <n>', 'how many rules to list', '20')
    .action(
      async (
        eventsArg: string | undefined,
        opts: {
          rules: string[];
          pipeline: string;
          allLogsources?: boolean;
          placeholders?: string;
          top: string;
        },
      ) => {
        const top = Number(opts.top);
        if (!Number.isInteger(top) || top < 1)
          throw new Error(`--top must be a positive integer, got ${opts.top}`);
        const [paths, events] = splitEventsArg(opts.rules, eventsArg);
        const loaded = loadSet(paths, {
          pipeline: opts.pipeline,
          allLogsources: Boolean(opts.allLogsources),
          ...(opts.placeholders ? { placeholders: readPlaceholders(opts.placeholders) } : {}),
        });
        const { set, problems } = loaded;
        for (const p of problems) err.write(formatProblem(p) + '\n');
        const r = await runEvents(loaded, events, () => undefined, err);
        out.write(profileTable(set, r, top));
        if (r.badLines > 0) process.exitCode = 1;
      },
    );
}
