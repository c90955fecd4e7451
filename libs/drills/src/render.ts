import { FlowExporter, PROTO_NUMBER, type EncFlow } from './encode';
import { type PlannedFlow, type PlannedItem, type Timeline } from './plan';
import { type FlowSourceDef, type Scenario, type SyslogSourceDef } from './scenario';
import { formatSyslog } from './syslog-format';

/**
 * What a timeline item becomes on the wire, shared by the live runner (real sockets, wall clock) and the
 * offline evaluator (the collector's parsers, virtual clock): both must send exactly the same bytes.
 */

/** The syslog message of a planned line sent at `atMs`, framed later by the transport (UDP: as is). */
export function renderSyslog(
  scenario: Scenario,
  tl: Timeline,
  item: PlannedItem,
  atMs: number,
  runId: string,
): string {
  const s = scenario.sources[item.source] as SyslogSourceDef;
  return formatSyslog(item.line!, atMs, {
    format: s.format,
    timeZone: s.tz ?? 'Asia/Ho_Chi_Minh',
    hostname: tl.hostnames[item.source]!,
    facility: s.facility ?? 1,
    severity: s.severity ?? 6,
    ...(s.app ? { app: s.app } : {}),
    runId,
  });
}

/** The record an exporter reports for a planned flow that ran from startMs to endMs. */
export function flowRecord(f: PlannedFlow, startMs: number, endMs: number): EncFlow {
  return {
    src: f.src,
    dst: f.dst,
    sport: f.sport,
    dport: f.dport,
    proto: PROTO_NUMBER[f.proto],
    packets: f.packets,
    bytes: f.bytes,
    startMs,
    endMs,
    tcpFlags: f.tcpFlags,
  };
}

/** One exporter per flow source, with the source's version and observation domain. */
export function exporterFor(src: FlowSourceDef, bootMs?: number): FlowExporter {
  return new FlowExporter({
    version: src.version,
    domain: src.observation_domain ?? 0,
    ...(bootMs !== undefined ? { bootMs } : {}),
  });
}
