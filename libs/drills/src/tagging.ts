import { type Alert, type EcsEvent } from '@citysoc/ecs';

/**
 * Drill identity comes from the runner's registration (which sender, which port or exporter+domain, when),
 * never from the payload alone: real devices cannot send a marker and an attacker could forge one. The
 * payload marker (an RFC 5424 SD element) is only a cross-check; a marker from an unallocated sender is an
 * alert of its own.
 */

/** `labels.drill` on events: the run id. `tags: [drill]` makes it visible to tag-based filters too. */
export const DRILL_LABEL = 'drill';
export const DRILL_TAG = 'drill';
/** Incident tags: every alert is a drill → `drill` + `drill-run:<id>`; some are → `drill-mixed` (counts as real). */
export const DRILL_MIXED_TAG = 'drill-mixed';
export const DRILL_RUN_TAG_PREFIX = 'drill-run:';
/** RFC 5424 SD-ID the runner adds (32473 is the documentation PEN, RFC 5612). */
export const DRILL_SD_ID = 'citysoc-drill@32473';

export type Transport = 'udp' | 'tcp' | 'tls' | 'flow';

export interface SyslogAllocation {
  transport: 'udp' | 'tcp' | 'tls';
  /** Sender address as the listener sees it. */
  address: string;
  /** Reserved source port the runner binds. */
  port: number;
}

export interface ExporterAllocation {
  /** Exporter address (the UDP source address of export packets). */
  address: string;
  /** v9 source id / IPFIX observation domain / v5 engine type<<8|id. */
  domain: number;
}

export interface DrillAllocation {
  runId: string;
  scenario: string;
  scenarioSha256: string;
  syslog: SyslogAllocation[];
  exporters: ExporterAllocation[];
  /**
   * SHA-256 fingerprints (64 lowercase hex, of the DER) of drill client certificates: a syslog TLS
   * connection presenting one is the run's, whatever its source port. Optional: older records lack it.
   */
  clientCerts?: string[];
  /** ISO times; records outside the window are never attributed to the run. */
  window: { start: string; end: string };
}

export interface SenderFacts {
  transport: Transport;
  address: string;
  port?: number;
  /** For flows: the record's observation domain. */
  domain?: number;
  /** For TLS: the SHA-256 fingerprint of the client certificate the connection presented. */
  certSha256?: string;
}

const FINGERPRINT = /^[0-9a-f]{64}$/;

/**
 * A certificate fingerprint in the one form allocations and listeners compare: 64 lowercase hex, from
 * `AB:CD:…` (Node's `fingerprint256`, openssl) or plain hex in any case; undefined when it is not one.
 */
export function normalizeFingerprint(f: string): string | undefined {
  const s = f.trim().replace(/:/g, '').toLowerCase();
  return FINGERPRINT.test(s) ? s : undefined;
}

/** `::ffff:127.0.0.1` (dual-stack sockets) and `127.0.0.1` are the same sender. */
export function normalizeAddress(a: string): string {
  const s = a.trim().toLowerCase();
  return s.startsWith('::ffff:') && s.includes('.') ? s.slice(7) : s;
}

/**
 * The run a record belongs to, or undefined for real traffic. Pure, for the listeners' hot path: syslog
 * matches transport + sender address + source port, or (TLS) the client certificate's fingerprint — a
 * drill certificate is the run's from any address and port; flows match exporter address + domain, and the
 * receive time must lie inside the run's window. Ambiguity (two runs claiming one sender) is prevented at
 * registration; here the first match wins.
 */
export function isDrillRecord(
  allocations: readonly DrillAllocation[],
  sender: SenderFacts,
  time: Date | number,
): string | undefined {
  const t = typeof time === 'number' ? time : time.getTime();
  const addr = normalizeAddress(sender.address);
  for (const a of allocations) {
    if (t < Date.parse(a.window.start) || t > Date.parse(a.window.end)) continue;
    if (sender.transport === 'flow') {
      if (a.exporters.some((e) => normalizeAddress(e.address) === addr && e.domain === sender.domain))
        return a.runId;
    } else if (
      sender.transport === 'tls' &&
      sender.certSha256 !== undefined &&
      a.clientCerts?.includes(sender.certSha256)
    ) {
      return a.runId;
    } else if (
      sender.port !== undefined &&
      a.syslog.some(
        (s) =>
          s.transport === sender.transport && s.port === sender.port && normalizeAddress(s.address) === addr,
      )
    ) {
      return a.runId;
    }
  }
  return undefined;
}

/** Two allocations that could claim the same record (same sender key, overlapping windows). */
export function allocationConflicts(a: DrillAllocation, b: DrillAllocation): string[] {
  if (
    Date.parse(a.window.end) < Date.parse(b.window.start) ||
    Date.parse(b.window.end) < Date.parse(a.window.start)
  )
    return [];
  const out: string[] = [];
  for (const s of a.syslog)
    if (
      b.syslog.some(
        (x) =>
          x.transport === s.transport &&
          x.port === s.port &&
          normalizeAddress(x.address) === normalizeAddress(s.address),
      )
    )
      out.push(`${s.transport} ${s.address}:${s.port}`);
  for (const e of a.exporters)
    if (
      b.exporters.some(
        (x) => x.domain === e.domain && normalizeAddress(x.address) === normalizeAddress(e.address),
      )
    )
      out.push(`exporter ${e.address}/${e.domain}`);
  for (const c of a.clientCerts ?? []) if (b.clientCerts?.includes(c)) out.push(`client certificate ${c}`);
  return out;
}

/** Marks an event as drill traffic (a copy; the listener publishes the copy). */
export function markDrillEvent<T extends EcsEvent>(event: T, runId: string): T {
  const tags = event.tags ?? [];
  return {
    ...event,
    labels: { ...(event.labels ?? {}), [DRILL_LABEL]: runId },
    tags: tags.includes(DRILL_TAG) ? tags : [...tags, DRILL_TAG],
  };
}

/** The run id a payload claims through the RFC 5424 SD element, if any. */
export function payloadMarker(event: EcsEvent): string | undefined {
  const sd = (event as { log?: { syslog?: { structured_data?: Record<string, Record<string, unknown>> } } })
    .log?.syslog?.structured_data;
  const id = sd?.[DRILL_SD_ID]?.id;
  return typeof id === 'string' ? id : Array.isArray(id) && typeof id[0] === 'string' ? id[0] : undefined;
}

export type MarkerCheck = 'none' | 'consistent' | 'forged' | 'unmarked';

/**
 * Cross-check of payload marker and allocation: `forged` (a marker from a sender no active run owns, or
 * naming another run) must raise an alert; `unmarked` (an allocated sender without marker) is fine for
 * flows and RFC 3164, where no marker can be carried.
 */
export function checkMarker(event: EcsEvent, allocatedRunId: string | undefined): MarkerCheck {
  const claimed = payloadMarker(event);
  if (claimed === undefined) return allocatedRunId === undefined ? 'none' : 'unmarked';
  return claimed === allocatedRunId ? 'consistent' : 'forged';
}

interface IncidentLike {
  tags?: string[] | null;
}

function eventRun(e: EcsEvent | undefined): string | undefined {
  const v = e?.labels?.[DRILL_LABEL];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function isAlert(x: unknown): x is Alert {
  return typeof x === 'object' && x !== null && 'rule' in x && 'event' in x;
}
function isEvent(x: unknown): x is EcsEvent {
  return typeof x === 'object' && x !== null && '@timestamp' in x && !('rule' in x);
}

/** The drill run an event, alert or incident belongs to; undefined for real data and for mixed incidents. */
export function drillRunOf(x: EcsEvent | Alert | IncidentLike): string | undefined {
  if (isAlert(x)) return eventRun(x.event);
  if (isEvent(x)) return eventRun(x);
  const tags = x.tags ?? [];
  if (tags.includes(DRILL_MIXED_TAG) || !tags.includes(DRILL_TAG)) return undefined;
  return tags.find((t) => t.startsWith(DRILL_RUN_TAG_PREFIX))?.slice(DRILL_RUN_TAG_PREFIX.length) ?? '';
}

/**
 * THE filter for KPI, SLA statistics and national reporting: true only for pure drill data. A mixed
 * incident is real (fail-safe: a drill can hide a real attack, never the other way round).
 */
export function isDrill(x: EcsEvent | Alert | IncidentLike): boolean {
  return drillRunOf(x) !== undefined;
}

/** True if a drill touched it at all (pure or mixed): national reporting refuses these. */
export function drillTouched(x: EcsEvent | Alert | IncidentLike): boolean {
  if (isAlert(x) || isEvent(x)) return isDrill(x);
  const tags = x.tags ?? [];
  return tags.includes(DRILL_TAG) || tags.includes(DRILL_MIXED_TAG);
}

/** Tags an incident gets from its member alerts (the responder adds them on every grouping). */
export function incidentDrillTags(alerts: readonly Alert[]): string[] {
  const runs = alerts.map((a) => eventRun(a.event));
  const drill = runs.filter((r): r is string => r !== undefined);
  if (drill.length === 0) return [];
  if (drill.length < runs.length) return [DRILL_MIXED_TAG];
  return [DRILL_TAG, ...[...new Set(drill)].sort().map((r) => DRILL_RUN_TAG_PREFIX + r)];
}

/** Real items only: `items.filter(excludeDrills)` in every KPI/SLA query. */
export function excludeDrills<T extends EcsEvent | Alert | IncidentLike>(x: T): boolean {
  return !isDrill(x);
}

/**
 * An incident's tags after one more alert, from its current tags alone (the store keeps alert ids, not the
 * alerts): the first alert decides real or drill; a real alert joining a drill incident, or a drill alert
 * joining a real one, makes it `drill-mixed` for good — mixed counts as real. Other tags are kept.
 */
export function nextIncidentTags(current: readonly string[], alert: Alert, first: boolean): string[] {
  const other = current.filter(
    (t) => t !== DRILL_TAG && t !== DRILL_MIXED_TAG && !t.startsWith(DRILL_RUN_TAG_PREFIX),
  );
  const run = eventRun(alert.event);
  let drill: string[];
  if (first) drill = incidentDrillTags([alert]);
  else if (current.includes(DRILL_MIXED_TAG)) drill = [DRILL_MIXED_TAG];
  else if (current.includes(DRILL_TAG))
    drill =
      run === undefined
        ? [DRILL_MIXED_TAG]
        : [
            DRILL_TAG,
            ...new Set([
              ...current.filter((t) => t.startsWith(DRILL_RUN_TAG_PREFIX)),
              DRILL_RUN_TAG_PREFIX + run,
            ]),
          ];
  else drill = run === undefined ? [] : [DRILL_MIXED_TAG];
  return [...new Set([...other, ...drill])].sort();
}

/** Tags only the pipeline sets: a person adding or removing them could hide a real incident from statistics. */
export function isDrillTag(tag: string): boolean {
  return tag === DRILL_TAG || tag === DRILL_MIXED_TAG || tag.startsWith(DRILL_RUN_TAG_PREFIX);
}

/**
 * Tags of an incident that absorbed another (a merge): other tags are united; two pure drill incidents stay
 * drill with both runs, two real ones stay real, anything else is `drill-mixed` (counts as real).
 */
export function mergedIncidentTags(a: readonly string[], b: readonly string[]): string[] {
  const plain = (t: string) => !isDrillTag(t);
  const other = [...a.filter(plain), ...b.filter(plain)];
  const kind = (tags: readonly string[]) =>
    tags.includes(DRILL_MIXED_TAG) ? 'mixed' : tags.includes(DRILL_TAG) ? 'drill' : 'real';
  const ka = kind(a);
  const kb = kind(b);
  let drill: string[];
  if (ka === 'real' && kb === 'real') drill = [];
  else if (ka === 'drill' && kb === 'drill')
    drill = [DRILL_TAG, ...[...a, ...b].filter((t) => t.startsWith(DRILL_RUN_TAG_PREFIX))];
  else drill = [DRILL_MIXED_TAG];
  return [...new Set([...other, ...drill])].sort();
}

/** `[citysoc-drill@32473 id="…"]` inside a raw RFC 5424 line (event.original). */
const SD_IN_ORIGINAL = /\[citysoc-drill@32473(?:\s[^\]]*)?\]/g;

/**
 * An event as a non-controller sees it in blind mode: no `labels.drill`, no `drill` tag, no drill SD
 * element (parsed or in `event.original`, where the lone element becomes the NILVALUE `-`). A copy; the
 * stored event is untouched. Returns the same object when there was nothing to hide.
 */
export function redactDrillEvent<T extends EcsEvent>(event: T): T {
  const e = event as T & {
    log?: { syslog?: { structured_data?: Record<string, unknown> } } & Record<string, unknown>;
    event: { original?: string };
  };
  const label = e.labels !== undefined && DRILL_LABEL in e.labels;
  const tag = e.tags?.includes(DRILL_TAG) === true;
  const sd = e.log?.syslog?.structured_data !== undefined && DRILL_SD_ID in e.log.syslog.structured_data;
  const original = typeof e.event?.original === 'string' && e.event.original.includes(DRILL_SD_ID);
  if (!label && !tag && !sd && !original) return event;
  const out = { ...e };
  if (label) {
    const { [DRILL_LABEL]: _run, ...rest } = e.labels!;
    if (Object.keys(rest).length > 0) out.labels = rest;
    else delete out.labels;
  }
  if (tag) {
    const rest = e.tags!.filter((t) => t !== DRILL_TAG);
    if (rest.length > 0) out.tags = rest;
    else delete out.tags;
  }
  if (sd) {
    const { [DRILL_SD_ID]: _m, ...rest } = e.log!.syslog!.structured_data!;
    const syslog = { ...e.log!.syslog! };
    if (Object.keys(rest).length > 0) syslog.structured_data = rest;
    else delete syslog.structured_data;
    out.log = { ...e.log!, syslog };
  }
  if (original)
    out.event = {
      ...e.event,
      original: e.event.original!.replace(SD_IN_ORIGINAL, (m, offset: number, whole: string) =>
        whole[offset - 1] === ' ' && whole[offset + m.length] === ' ' ? '-' : '',
      ),
    };
  return out;
}

/** An alert with its event (and the alert's own copy of it) redacted for blind mode. */
export function redactDrillAlert(alert: Alert): Alert {
  const event = redactDrillEvent(alert.event);
  return event === alert.event ? alert : { ...alert, event };
}

/**
 * Whether an incident's outbound notifications (SLA breach, escalation) are only recorded: the reason for
 * a pure drill incident whose run did not opt in (`notify: 'deliver'`), undefined when they are sent. A
 * mixed incident is real and always notifies; an unknown run (bucket unreadable, record expired) stays
 * dry-run — paging real people for an exercise is the failure to avoid.
 */
export function drillNotifyDryRun(
  incident: IncidentLike,
  run: { runId: string; notify?: 'dry-run' | 'deliver' } | undefined,
): string | undefined {
  const id = drillRunOf(incident);
  if (id === undefined) return undefined;
  if (run !== undefined && run.runId === id && run.notify === 'deliver') return undefined;
  return `drill ${id || '(run unknown)'} (dry-run)`;
}
