import { readFile } from 'node:fs/promises';
import { type Command } from 'commander';
import { decodeDatagram, flowToEcs, flowToRaw, MemoryTemplateCache, type TemplateScope } from '@citysoc/flow';

export interface ParseFlowOptions {
  raw?: boolean;
  exporter: string;
  receivedAt?: string;
}

/**
 * `citysoc parse flow [--raw] FILE...`: the files are decoded in the order given as if one exporter had
 * sent them (templates and options facts carry over), one JSON line per data record in order. Problems go
 * to stderr with the file name; the exit code is 1 if any file had one, or if data still waited for a
 * template at the end.
 */
export async function parseFlowFiles(
  files: string[],
  opts: ParseFlowOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const receivedAt = opts.receivedAt ? new Date(opts.receivedAt) : new Date();
  if (Number.isNaN(receivedAt.getTime())) throw new Error(`--received-at is not a time: ${opts.receivedAt}`);
  // Files are read long after capture: held data never expires here, it waits for a later file's template.
  const cache = new MemoryTemplateCache({
    pendingTtlMs: Number.MAX_SAFE_INTEGER,
    maxPendingSets: 1 << 20,
    maxPendingBytes: 1 << 30,
  });
  let problems = 0;
  for (const file of files) {
    const buf = await readFile(file);
    const { records, errors } = decodeDatagram(buf, { exporter: opts.exporter, receivedAt }, cache);
    let text = '';
    for (const r of records) {
      if (opts.raw) text += JSON.stringify(flowToRaw(r)) + '\n';
      else {
        const scope: TemplateScope | undefined =
          r.version === 5 ? undefined : { exporter: r.exporter, version: r.version, domain: r.domain };
        text +=
          JSON.stringify(flowToEcs(r, { receivedAt, ...(scope ? { facts: cache.facts(scope) } : {}) })) +
          '\n';
      }
    }
    out.write(text);
    for (const e of errors) {
      problems++;
      err.write(`${file}: ${e.code} at byte ${e.offset}: ${e.message}\n`);
    }
  }
  const waiting = cache.stats.pendingSets;
  if (waiting > 0) {
    problems++;
    err.write(`${waiting} data set(s) never got their template; nothing decoded from them\n`);
  }
  return problems > 0 ? 1 : 0;
}

export function registerParseFlow(
  parse: Command,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): void {
  parse
    .command('flow')
    .description(
      'Decode NetFlow v5/v9/IPFIX files (UDP payloads, or several messages glued) in the order given, as from one exporter; one JSON line per data record',
    )
    .argument('<files...>', 'files to decode, in order (templates carry over)')
    .option('--raw', 'decoded elements instead of ECS: {"version","template_id","fields"}')
    .option(
      '--exporter <ip>',
      'exporter address the files came from (template scope, observer.ip)',
      '127.0.0.1',
    )
    .option('--received-at <iso>', 'receive time to assume (default: now); sets event.created')
    .action(async (files: string[], opts: ParseFlowOptions) => {
      const code = await parseFlowFiles(files, opts, out, err);
      if (code !== 0) process.exitCode = code;
    });
}
