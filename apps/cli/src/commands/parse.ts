import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Command } from 'commander';
import { eventId } from '@citysoc/ecs';
import { parseSyslog } from '@citysoc/syslog';
import { registerParseFlow } from './parse-flow';

export function registerParse(
  program: Command,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): void {
  const parse = program.command('parse').description('Parse raw input into ECS documents');
  parse
    .command('syslog')
    .description(
      'One ECS JSON document per input line, in order; unparseable lines are reported on stderr with their line number',
    )
    .argument('[file]', 'input file, or - for standard input', '-')
    .option('--sender-ip <ip>', 'address to record as the sender', '127.0.0.1')
    .option('--timezone <zone>', 'IANA zone for timestamps without one', 'Asia/Ho_Chi_Minh')
    .option(
      '--received-at <iso>',
      'receive time to assume (default: now); fixes the year of RFC 3164 timestamps',
    )
    .action(async (file: string, opts: { senderIp: string; timezone: string; receivedAt?: string }) => {
      const receivedAt = opts.receivedAt ? new Date(opts.receivedAt) : new Date();
      if (Number.isNaN(receivedAt.getTime()))
        throw new Error(`--received-at is not a time: ${opts.receivedAt}`);
      const input = file === '-' ? process.stdin : createReadStream(file);
      const lines = createInterface({ input, crlfDelay: Infinity });
      let n = 0;
      let failed = 0;
      for await (const line of lines) {
        n++;
        const raw = Buffer.from(line, 'utf8');
        const r = parseSyslog(raw, {
          senderIp: opts.senderIp,
          receivedAt,
          eventId: eventId(opts.senderIp, raw, n),
          inputName: 'cli',
          transport: 'tcp',
          timezone: opts.timezone,
        });
        if (r.ok) out.write(JSON.stringify(r.event) + '\n');
        else {
          failed++;
          err.write(`line ${n}: ${r.code}: ${r.reason}\n`);
        }
      }
      if (failed > 0) process.exitCode = 1;
    });
  registerParseFlow(parse, out, err);
}
