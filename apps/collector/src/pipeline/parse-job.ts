import { DRILL_LABEL, DRILL_TAG, payloadMarker } from '@citysoc/drills';
import { type EcsEvent } from '@citysoc/ecs';
import { attachUnits, type UnitRegistry } from '@citysoc/enrich';
import { type FormatPin, parseFormat } from '../sources/syslog/policy';
import { parseWith } from './parse-with';

/**
 * What a parse thread needs to turn one read's frames into events: the parse context of `SyslogIngest`
 * in plain data (it crosses a thread boundary by structured clone, so no Dates, no decoder objects).
 */
export interface GroupContext {
  senderIp: string;
  senderPort: number;
  receivedAtMs: number;
  inputName: string;
  transport: 'udp' | 'tcp' | 'tls';
  timezone: string;
  /** `formatName` of the effective pin; absent = auto-detect. */
  format?: string;
  /** The registered source's name (`citysoc.source_name`). */
  sourceName?: string;
  /** The sender belongs to a drill run: every event goes back whole for the main thread's DrillMarker. */
  markOnMain: boolean;
}

/** Frames of several reads in one buffer: frame i is `buf[offsets[2i] .. offsets[2i+1])`. */
export interface ParseJob {
  buf: Uint8Array;
  offsets: Int32Array;
  /**
   * Event ids, computed on the main thread (the occurrence counter is its state), joined by "\n": one
   * string clones across the thread boundary far cheaper than a thousand.
   */
  ids: string;
  groups: Array<{ count: number; ctx: GroupContext }>;
  /** A run of events is cut at this many events or JSON bytes (the batch limits). */
  runEvents: number;
  runBytes: number;
}

export interface GroupResult {
  /**
   * Consecutive parsed frames (indexes within the group) whose JSON, joined by commas, is `bytes[start ..
   * end)` of the job's `JobResult.utf8`.
   */
  runs: Array<{ first: number; count: number; start: number; end: number }>;
  /** Frames that did not parse (or that the parser/enrichment threw on). */
  dead: Array<{ index: number; code: string; reason: string }>;
  /** Events the main thread must finish itself: drill marking needs its registry. */
  own: Array<{ index: number; json: string }>;
  /** `@timestamp` of each frame in ms (NaN when unparsed), for the per-source clock-skew metric. */
  ts: Float64Array;
}

/** A group's result as the pool hands it out: with the job's run bytes the `runs` point into. */
export interface PooledResult extends GroupResult {
  utf8: Buffer;
}

/** What a thread sends back for a job: each group's result, and every run's JSON in one UTF-8 buffer. */
export interface JobResult {
  results: GroupResult[];
  utf8: Uint8Array;
}

/** The pin's name as the config spells it; parseFormat(formatName(p)) gives the same pin back. */
export function formatName(pin: FormatPin | undefined): string | undefined {
  if (!pin || pin.kind === 'auto') return undefined;
  return pin.kind === 'envelope' ? pin.strict : pin.decoder.name;
}

/** Whether the event claims a drill marker (a payload SD element, a label or the bare tag). */
function claimsDrill(event: EcsEvent): boolean {
  if (payloadMarker(event) !== undefined) return true;
  if (typeof event.labels?.[DRILL_LABEL] === 'string') return true;
  return event.tags?.includes(DRILL_TAG) === true;
}

/**
 * Parse → ECS → units → JSON for every frame of a job, the same steps (and dead-letter reasons) as the
 * in-process path of `SyslogIngest`. Pure apart from `units`: it runs in the parse threads.
 */
export function runParseJob(job: ParseJob, units: UnitRegistry): JobResult {
  const out: GroupResult[] = [];
  // Every run's JSON, in order; encoded once at the end into the buffer that is transferred back.
  const texts: string[] = [];
  let at = 0;
  const ids = job.ids.split('\n');
  const pins = new Map<string | undefined, FormatPin | undefined>();
  let frame = 0;
  for (const { count, ctx } of job.groups) {
    let pin = pins.get(ctx.format);
    if (pin === undefined && ctx.format !== undefined) {
      pin = parseFormat(ctx.format);
      pins.set(ctx.format, pin);
    }
    const receivedAt = new Date(ctx.receivedAtMs);
    const result: GroupResult = { runs: [], dead: [], own: [], ts: new Float64Array(count).fill(NaN) };
    let parts: string[] = [];
    let first = 0;
    let bytes = 0;
    const cut = () => {
      if (parts.length > 0) {
        const text = parts.join(',');
        const size = Buffer.byteLength(text);
        texts.push(text);
        result.runs.push({ first, count: parts.length, start: at, end: at + size });
        at += size;
      }
      parts = [];
      bytes = 0;
    };
    for (let i = 0; i < count; i++, frame++) {
      const start = job.offsets[2 * frame]!;
      const end = job.offsets[2 * frame + 1]!;
      const raw = Buffer.from(job.buf.buffer, job.buf.byteOffset + start, end - start);
      let json: string;
      try {
        const r = parseWith(pin, raw, {
          senderIp: ctx.senderIp,
          senderPort: ctx.senderPort,
          receivedAt,
          eventId: ids[frame]!,
          inputName: ctx.inputName,
          transport: ctx.transport,
          timezone: ctx.timezone,
        });
        if (!r.ok) {
          cut();
          result.dead.push({ index: i, code: r.code, reason: r.reason });
          continue;
        }
        const event = r.event;
        if (ctx.sourceName !== undefined) (event.citysoc ??= {}).source_name = ctx.sourceName;
        attachUnits(event, units, ctx.senderIp);
        result.ts[i] = Date.parse(event['@timestamp']);
        json = JSON.stringify(event);
        if (ctx.markOnMain || claimsDrill(event)) {
          cut();
          result.own.push({ index: i, json });
          continue;
        }
      } catch (err) {
        // A parser or enrichment bug must not lose the frame: it is kept with its raw bytes for a replay.
        cut();
        result.dead.push({
          index: i,
          code: 'internal_error',
          reason: `collector failed on this frame: ${err instanceof Error ? err.message : String(err)}`,
        });
        continue;
      }
      if (parts.length === 0) first = i;
      else if (parts.length >= job.runEvents || bytes + json.length + 1 > job.runBytes) {
        cut();
        first = i;
      }
      parts.push(json);
      bytes += json.length + 1;
    }
    cut();
    out.push(result);
  }
  const utf8 = new Uint8Array(new ArrayBuffer(at));
  let off = 0;
  for (const t of texts) off += Buffer.from(utf8.buffer, off).write(t, 'utf8');
  return { results: out, utf8 };
}
