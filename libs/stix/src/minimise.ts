import { createHmac } from 'node:crypto';
import { type Alert, type EcsEvent, type Severity, getField } from '@citysoc/ecs';
import { type Incident } from '@citysoc/store';
import { FORM03_FREE_TEXT_FIELDS, FORM03_TEXT_LIST_FIELDS, type Form03Fields } from './form03';
import {
  DOCUMENTATION_RANGES,
  NON_PUBLIC_RANGES,
  RangeSet,
  hasSuffix,
  normaliseDomain,
  normaliseIp,
} from './net';
import { type PrivacyPolicy, resolvePolicy } from './policy';
import { type RsitCategory, UNDETERMINED, type VnCategory, vnCategoryOf } from './taxonomy';
import { type TlpLevel } from './types';
import { stricterTlp } from './tlp';
import { isNode, isScalar, parseDocument, visit } from 'yaml';

export type ReportKind = 'initial' | 'update' | 'final';

/**
 * The incident fields a report reads. A Pick, so fields added to the store's Incident (which may hold
 * personal data, like notes) stay out of reports until someone decides they belong.
 */
export type ReportableIncident = Pick<
  Incident,
  | 'id'
  | 'title'
  | 'severity'
  | 'status'
  | 'entity'
  | 'alert_count'
  | 'first_seen'
  | 'last_seen'
  | 'created_at'
  | 'updated_at'
  | 'assignee'
>;

/** Everything the report builder may know about an incident. Raw events never go past `minimise`. */
export interface IncidentReportInput {
  incident: ReportableIncident;
  /** The incident's alerts (or a sample); their events are read field by field, never as a whole. */
  alerts: readonly Alert[];
  /** Exercise incident: never reported unless the policy says to flag it. */
  drill?: boolean;
  category?: RsitCategory;
  /** Sigma rule YAML by rule id, for `pattern_type: sigma` indicators. */
  sigmaRules?: Readonly<Record<string, string>>;
  form03?: Form03Fields;
  kind?: ReportKind;
}

export type ObservableKind = 'ipv4-addr' | 'ipv6-addr' | 'domain-name';

export interface ExternalObservable {
  kind: ObservableKind;
  value: string;
  /** Alerts in which it appeared. */
  count: number;
  firstSeen: string;
  lastSeen: string;
}

export interface MinimisedUnit {
  /** Stable key for ids: the unit id, or its pseudonym when names must not leave. */
  key: string;
  label: string;
  criticality: 'low' | 'medium' | 'high' | 'critical';
}

export interface MinimisedRule {
  id: string;
  title: string;
  level: Severity;
  version: string;
  description?: string;
  references?: string[];
  /** Scrubbed YAML (author removed unless allowed), when the policy includes rule text. */
  yaml?: string;
}

export interface MinimisedIncident {
  incidentId: string;
  kind: ReportKind;
  exercise: boolean;
  title: string;
  description: string;
  severity: Severity;
  status: Incident['status'];
  category: RsitCategory;
  vnCategory: VnCategory;
  firstSeen: string;
  lastSeen: string;
  createdAt: string;
  updatedAt: string;
  alertCount: number;
  rules: MinimisedRule[];
  /** Public addresses/domains not owned by the city: these become indicators. */
  external: ExternalObservable[];
  /** Public addresses/domains of the city's affected systems (Mẫu 03 E4/E5): observed, never indicators. */
  cityPublic: Array<{ kind: ObservableKind; value: string }>;
  /** Internal hosts, present only as keyed pseudonyms and only if the policy pseudonymises. */
  internalHosts: string[];
  units: MinimisedUnit[];
  network: { transports: string[]; protocols: string[]; destinationPorts: number[] };
  /** Account names, only when the policy allows them. */
  userNames: string[];
  form03: Form03Fields;
  tlp: TlpLevel;
}

export type MinimiseResult =
  { report: true; incident: MinimisedIncident } | { report: false; reason: 'drill' };

const SEVERITY_ORDER: readonly Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** The ECS fields read from an event, and nothing else: payload fields (`event.original`, `message`) are absent. */
const IP_FIELDS = ['source.ip', 'destination.ip', 'host.ip', 'related.ip', 'client.ip', 'server.ip'] as const;
const DOMAIN_FIELDS = [
  'source.domain',
  'destination.domain',
  'url.domain',
  'dns.question.name',
  'client.domain',
  'server.domain',
] as const;
const HOST_FIELDS = [
  'host.hostname',
  'host.name',
  'observer.hostname',
  'log.syslog.hostname',
  'related.hosts',
  'source.address',
  'destination.address',
] as const;
const USER_FIELDS = [
  'user.name',
  'user.id',
  'source.user.name',
  'destination.user.name',
  'related.user',
  'user.email',
] as const;

function strings(v: unknown): string[] {
  if (typeof v === 'string') return v.length > 0 ? [v] : [];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.length > 0);
  return [];
}

function iso(t: string): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`not a timestamp: ${t}`);
  return d.toISOString();
}

/** Keyed pseudonyms: stable per key, so the centre can correlate reports without learning the address. */
export class Pseudonymiser {
  constructor(private readonly key: string | Buffer | undefined) {}

  of(kind: string, value: string, prefix: string, hexChars = 12): string {
    if (this.key === undefined) throw new Error('no pseudonym key configured');
    const mac = createHmac('sha256', this.key).update(`${kind}\u0000${value}`).digest('hex');
    return `${prefix}-${mac.slice(0, hexChars)}`;
  }
}

/** Decides what each address, name and host becomes, and scrubs free text accordingly. */
export class Minimiser {
  readonly policy: PrivacyPolicy;
  private readonly nonPublic: RangeSet;
  private readonly pseudo: Pseudonymiser;
  /** Sensitive tokens seen in the input → their replacement in free text. */
  private readonly replacements = new Map<string, string>();

  constructor(policy: Partial<PrivacyPolicy> = {}) {
    this.policy = resolvePolicy(policy);
    this.nonPublic = new RangeSet([
      ...NON_PUBLIC_RANGES,
      ...(this.policy.documentationRangesInternal ? DOCUMENTATION_RANGES : []),
      ...this.policy.extraInternalRanges,
    ]);
    this.pseudo = new Pseudonymiser(this.policy.pseudonymKey);
  }

  isPublicIp(ip: string): boolean {
    return normaliseIp(ip) !== undefined && !this.nonPublic.has(ip);
  }

  /** What an internal address or host turns into, or undefined when the policy drops it. */
  internalToken(kind: 'ip' | 'host', value: string): string | undefined {
    if (this.policy.internalAddresses !== 'pseudonymise') return undefined;
    return this.pseudo.of(kind, value.toLowerCase(), kind === 'ip' ? 'int' : 'host');
  }

  unitLabel(id: string, name: string): { key: string; label: string } {
    if (this.policy.unitLabels === 'name') return { key: id, label: name };
    const p = this.pseudo.of('unit', id, 'unit', 8);
    return { key: p, label: p };
  }

  remember(token: string, replacement: string): void {
    if (token.length >= 2 && !this.replacements.has(token)) this.replacements.set(token, replacement);
  }

  /**
   * Free text (titles, analyst summaries, rule descriptions) with every known sensitive token replaced, and
   * any address-looking token that is not public replaced too, including ones we never saw in a field.
   */
  scrub(text: string): string {
    let out = text;
    const tokens = [...this.replacements.keys()].sort((a, b) => b.length - a.length);
    for (const t of tokens) {
      const re = new RegExp(`(?<![\\w.@-])${escapeRe(t)}(?![\\w@-]|\\.[\\w])`, 'gi');
      out = out.replace(re, this.replacements.get(t)!);
    }
    out = out.replace(/(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])/g, (m) => this.addressInText(m));
    out = out.replace(/(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi, (m) =>
      normaliseIp(m) ? this.addressInText(m) : m,
    );
    if (!this.policy.allowPersonalNames) out = out.replace(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, '[email]');
    return out;
  }

  private addressInText(ip: string): string {
    if (this.isPublicIp(ip)) return ip;
    return this.internalToken('ip', normaliseIp(ip)?.value ?? ip) ?? '[internal address]';
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Acc {
  count: number;
  first: string;
  last: string;
  kind: ObservableKind;
}

/**
 * The policy applied to one incident: the only place that reads alerts and events. What it returns is all
 * a report may contain; the builders never see the input.
 */
export function minimise(input: IncidentReportInput, policy: Partial<PrivacyPolicy> = {}): MinimiseResult {
  const m = new Minimiser(policy);
  const p = m.policy;
  if (input.drill === true && p.drills === 'skip') return { report: false, reason: 'drill' };

  const { incident } = input;
  const external = new Map<string, Acc>();
  const cityPublic = new Map<string, ObservableKind>();
  const internalHosts = new Set<string>();
  const units = new Map<string, MinimisedUnit>();
  const users = new Set<string>();
  const transports = new Set<string>();
  const protocols = new Set<string>();
  const ports = new Set<number>();

  const note = (value: string, kind: ObservableKind, at: string): void => {
    const k = `${kind}|${value}`;
    const a = external.get(k);
    if (!a) external.set(k, { count: 1, first: at, last: at, kind });
    else {
      a.count += 1;
      if (at < a.first) a.first = at;
      if (at > a.last) a.last = at;
    }
  };

  for (const alert of input.alerts) {
    const ev: EcsEvent = alert.event;
    const at = iso(alert['@timestamp'] || ev['@timestamp']);
    const seenInAlert = new Set<string>();
    // Addresses the enrichment attributed to a city unit are the city's own, even when public.
    const owned = new Set<string>();
    for (const [side, unit] of [
      ['source', ev.citysoc?.source_unit],
      ['destination', ev.citysoc?.destination_unit],
      ['host', ev.citysoc?.unit],
    ] as const) {
      if (!unit) continue;
      const { key, label } = m.unitLabel(unit.id, unit.name);
      units.set(key, { key, label, criticality: unit.criticality });
      if (p.unitLabels === 'pseudonym') {
        m.remember(unit.name, label);
        m.remember(unit.id, label);
      }
      if (side !== 'host') for (const ip of strings(getField(ev, `${side}.ip`))) owned.add(ip);
    }

    for (const field of IP_FIELDS) {
      for (const raw of strings(getField(ev, field))) {
        const n = normaliseIp(raw);
        if (!n) continue;
        if (!m.isPublicIp(n.value)) {
          const tok = m.internalToken('ip', n.value);
          if (tok) internalHosts.add(tok);
          m.remember(raw, tok ?? '[internal address]');
          m.remember(n.value, tok ?? '[internal address]');
          continue;
        }
        const kind: ObservableKind = n.family === 4 ? 'ipv4-addr' : 'ipv6-addr';
        if (owned.has(raw) || owned.has(n.value)) cityPublic.set(`${kind}|${n.value}`, kind);
        else if (!seenInAlert.has(n.value)) {
          seenInAlert.add(n.value);
          note(n.value, kind, at);
        }
      }
    }
    for (const field of DOMAIN_FIELDS) {
      for (const raw of strings(getField(ev, field))) {
        const d = normaliseDomain(raw);
        if (!d || hasSuffix(d, p.internalDomainSuffixes)) {
          const tok = m.internalToken('host', raw);
          if (tok) internalHosts.add(tok);
          m.remember(raw, tok ?? '[internal host]');
          continue;
        }
        if (hasSuffix(d, p.ownDomainSuffixes)) cityPublic.set(`domain-name|${d}`, 'domain-name');
        else if (!seenInAlert.has(d)) {
          seenInAlert.add(d);
          note(d, 'domain-name', at);
        }
      }
    }
    // Device names are internal topology whatever their form.
    for (const field of HOST_FIELDS) {
      for (const raw of strings(getField(ev, field))) {
        if (normaliseIp(raw) && m.isPublicIp(raw)) continue;
        const tok = m.internalToken('host', raw);
        if (tok) internalHosts.add(tok);
        m.remember(raw, tok ?? '[internal host]');
      }
    }
    for (const field of USER_FIELDS) {
      for (const raw of strings(getField(ev, field))) {
        if (p.allowUserNames) users.add(raw);
        else m.remember(raw, '[user]');
      }
    }
    const t = getField(ev, 'network.transport');
    if (typeof t === 'string') transports.add(t.toLowerCase());
    const pr = getField(ev, 'network.protocol');
    if (typeof pr === 'string') protocols.add(pr.toLowerCase());
    const port = getField(ev, 'destination.port');
    if (typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535) ports.add(port);
  }

  // The entity is a typed value (`source.ip:10.1.2.3`, `user.name:alice`): classify it like a field.
  const entityValue = incident.entity.replace(/^[^:]+:/, '');
  const entityField = incident.entity.slice(0, incident.entity.length - entityValue.length - 1);
  if (entityValue && entityValue !== 'unknown') {
    if (/user/.test(entityField) && !p.allowUserNames) m.remember(entityValue, '[user]');
    else if (/host/.test(entityField))
      m.remember(entityValue, m.internalToken('host', entityValue) ?? '[internal host]');
    else if (normaliseIp(entityValue) && !m.isPublicIp(entityValue))
      m.remember(entityValue, m.internalToken('ip', entityValue) ?? '[internal address]');
  }
  if (incident.assignee) m.remember(incident.assignee, '[analyst]');

  const rules = new Map<string, MinimisedRule>();
  for (const a of input.alerts) {
    if (rules.has(a.rule.id)) continue;
    if (a.rule.author && !p.allowPersonalNames)
      for (const n of splitAuthors(a.rule.author)) m.remember(n, '[author]');
  }
  for (const a of input.alerts) {
    if (rules.has(a.rule.id)) continue;
    const r: MinimisedRule = {
      id: a.rule.id,
      title: m.scrub(a.rule.title),
      level: a.rule.level,
      version: a.rule.version,
    };
    if (a.rule.description) r.description = m.scrub(a.rule.description);
    const refs = (a.rule.references ?? []).filter(isShareableUrl);
    if (refs.length > 0) r.references = refs;
    const yamlText = input.sigmaRules?.[a.rule.id];
    if (yamlText !== undefined && p.sigmaRuleText === 'include') r.yaml = scrubSigma(yamlText, m);
    rules.set(r.id, r);
  }

  const form03 = scrubForm03(input.form03 ?? {}, m);
  const category = input.category ?? UNDETERMINED;
  const severity = input.alerts.reduce<Severity>(
    (acc, a) => (SEVERITY_ORDER.indexOf(a.rule.level) > SEVERITY_ORDER.indexOf(acc) ? a.rule.level : acc),
    incident.severity,
  );
  const createdAt = iso(incident.created_at);
  const updatedAt = iso(incident.updated_at);
  const exercise = input.drill === true;
  const title = m.scrub(incident.title);
  const description =
    form03.summary ??
    `${incident.alert_count} alert(s) of ${[...rules.values()].map((r) => `"${r.title}"`).join(', ') || 'detection rules'} ` +
      `between ${iso(incident.first_seen)} and ${iso(incident.last_seen)}.`;

  return {
    report: true,
    incident: {
      incidentId: incident.id,
      kind: input.kind ?? (incident.status === 'resolved' ? 'final' : 'initial'),
      exercise,
      title: exercise ? `[EXERCISE] ${title}` : title,
      description: exercise ? `Exercise (drill), not a real incident. ${description}` : description,
      severity,
      status: incident.status,
      category,
      vnCategory: vnCategoryOf(category),
      firstSeen: iso(incident.first_seen),
      lastSeen: iso(incident.last_seen),
      createdAt,
      updatedAt: updatedAt < createdAt ? createdAt : updatedAt,
      alertCount: incident.alert_count,
      rules: [...rules.values()],
      external: [...external.entries()]
        .map(([k, a]) => ({
          kind: a.kind,
          value: k.slice(k.indexOf('|') + 1),
          count: a.count,
          firstSeen: a.first,
          lastSeen: a.last,
        }))
        .sort((x, y) => (x.kind + x.value < y.kind + y.value ? -1 : 1)),
      cityPublic: [...cityPublic.entries()]
        .map(([k, kind]) => ({ kind, value: k.slice(k.indexOf('|') + 1) }))
        .sort((x, y) => (x.kind + x.value < y.kind + y.value ? -1 : 1)),
      internalHosts: [...internalHosts].sort(),
      units: [...units.values()].sort((a, b) => (a.key < b.key ? -1 : 1)),
      network: {
        transports: [...transports].sort(),
        protocols: [...protocols].sort(),
        destinationPorts: [...ports].sort((a, b) => a - b),
      },
      userNames: [...users].sort(),
      form03,
      tlp: form03.confidential === true ? stricterTlp(p.tlp, 'amber+strict') : p.tlp,
    },
  };
}

function splitAuthors(author: string): string[] {
  return author
    .split(/[,;&]|\band\b|\(|\)/)
    .map((s) => s.replace(/@[\w-]+/g, '').trim())
    .filter((s) => s.length >= 2);
}

/** Public documentation links only: a query string can carry tokens or personal data. */
function isShareableUrl(u: string): boolean {
  try {
    const url = new URL(u);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.username === ''
    );
  } catch {
    return false;
  }
}

function scrubSigma(text: string, m: Minimiser): string {
  const doc = parseDocument(text);
  if (!m.policy.allowPersonalNames) doc.delete('author');
  // Comments are free text nobody reviewed for sharing (names, internal notes): they never leave.
  doc.commentBefore = null;
  doc.comment = null;
  visit(doc, (_key, node) => {
    if (isNode(node)) {
      node.commentBefore = null;
      node.comment = null;
    }
    if (isScalar(node) && typeof node.value === 'string') node.value = m.scrub(node.value);
  });
  return doc.toString();
}

function scrubForm03(f: Form03Fields, m: Minimiser): Form03Fields {
  const out: Form03Fields = { ...f };
  for (const k of FORM03_FREE_TEXT_FIELDS) {
    const v = f[k];
    if (v !== undefined) out[k] = m.scrub(v);
  }
  for (const k of FORM03_TEXT_LIST_FIELDS) {
    const v = f[k];
    if (v !== undefined) out[k] = v.map((s) => m.scrub(s));
  }
  if (f.detectedAt !== undefined) out.detectedAt = iso(f.detectedAt);
  return out;
}
