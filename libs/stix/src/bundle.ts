import { type Severity } from '@citysoc/ecs';
import { type IncidentStatus } from '@citysoc/incidents';
import { CITYSOC_EXTENSION_ID, INCIDENT_CORE_EXTENSION_ID, citysocExtensionDefinition } from './extension';
import { deterministicId, incidentObjectId, scoId } from './ids';
import { type IncidentReportInput, type MinimisedIncident, minimise } from './minimise';
import { type PrivacyPolicy } from './policy';
import { type Reporter, reporterId, reporterIdentity } from './reporter';
import { rsitLabel } from './taxonomy';
import { TLP_MARKING_IDS, tlpMarking } from './tlp';
import { type StixBundle, type StixObject } from './types';

export interface BuildOptions {
  reporter: Reporter;
  /** Prefix of generated report numbers when the form gives none (e.g. `HN-SOC`). */
  reportNumberPrefix?: string;
  /** A nationally agreed extension id replacing ours. */
  extensionId?: string;
  /** `external_references[].source_name` naming our numbering. */
  sourceName?: string;
}

export type BuildResult =
  { report: true; bundle: StixBundle; incident: MinimisedIncident } | { report: false; reason: 'drill' };

/** Incident Core `criticality` (0–100) from our severity; coarse on purpose, the label carries the level. */
export const CRITICALITY: Readonly<Record<Severity, number>> = {
  informational: 10,
  low: 25,
  medium: 50,
  high: 75,
  critical: 95,
};

/** STIX Incident Core's investigation_status for a citysoc lifecycle state. */
export function investigationStatus(s: IncidentStatus): string {
  switch (s) {
    case 'new':
      return 'new';
    case 'acknowledged':
    case 'in_progress':
      return 'open';
    case 'resolved':
      return 'contained';
    case 'false_positive':
    case 'duplicate':
      return 'closed';
  }
}

function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function strip<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

/** Minimise by policy, then build; a drill under the default policy yields no bundle at all. */
export function buildIncidentBundle(
  input: IncidentReportInput,
  policy: Partial<PrivacyPolicy>,
  opts: BuildOptions,
): BuildResult {
  const r = minimise(input, policy);
  if (!r.report) return r;
  return { report: true, bundle: buildFromMinimised(r.incident, opts), incident: r.incident };
}

/**
 * The bundle of one incident version. Ids come from the incident id and each object's role, timestamps from
 * the incident, so the same version always yields the same bytes and a later version the same ids with a
 * later `modified`.
 */
export function buildFromMinimised(mi: MinimisedIncident, opts: BuildOptions): StixBundle {
  const soc = reporterIdentity(opts.reporter);
  const socId = reporterId(opts.reporter);
  const extId = opts.extensionId ?? CITYSOC_EXTENSION_ID;
  const marking = TLP_MARKING_IDS[mi.tlp];
  const created = mi.createdAt;
  const modified = mi.updatedAt;
  const reportNumber =
    mi.form03.reportNumber ??
    `${opts.reportNumberPrefix ?? 'CITYSOC'}-${mi.incidentId.slice(0, 12).toUpperCase()}`;
  const sourceName = opts.sourceName ?? 'citysoc';
  const id = (type: string, role: string): string => incidentObjectId(type, mi.incidentId, role);
  const common = (type: string, role: string): StixObject => ({
    type,
    spec_version: '2.1',
    id: id(type, role),
    created,
    modified,
    created_by_ref: socId,
  });
  const marked = { object_marking_refs: [marking] };

  // Identities of affected units are shared by all incidents of the unit; their version is the reporter's.
  const unitObjs: StixObject[] = mi.units.map((u) => ({
    type: 'identity',
    spec_version: '2.1',
    id: deterministicId('identity', `unit/${opts.reporter.key}/${u.key}`),
    created: soc['created'],
    modified: soc['modified'],
    created_by_ref: socId,
    name: u.label,
    identity_class: 'organization',
    sectors: ['government-local'],
    ...marked,
  }));
  const whereSighted = unitObjs.length > 0 ? unitObjs.map((u) => u.id) : [socId];

  const scos: StixObject[] = [];
  const scoIds = new Map<string, string>();
  for (const o of [...mi.external, ...mi.cityPublic]) {
    const k = `${o.kind}|${o.value}`;
    if (scoIds.has(k)) continue;
    const sid = scoId(o.kind, { value: o.value });
    scoIds.set(k, sid);
    scos.push({ type: o.kind, spec_version: '2.1', id: sid, value: o.value });
  }

  // Account names only reach here when the policy allows them.
  for (const login of mi.userNames) {
    const sid = scoId('user-account', { account_login: login });
    scos.push({ type: 'user-account', spec_version: '2.1', id: sid, account_login: login });
  }

  const indicators: StixObject[] = [];
  for (const o of mi.external) {
    indicators.push(
      strip({
        ...common('indicator', `indicator/${o.kind}/${o.value}`),
        name: `${o.kind === 'domain-name' ? 'Domain' : 'Address'} ${o.value} in incident ${reportNumber}`,
        description: `Seen in ${o.count} alert(s) of incident ${reportNumber}: ${mi.rules.map((r) => r.title).join('; ')}`,
        indicator_types: ['malicious-activity'],
        pattern_type: 'stix',
        pattern: `[${o.kind}:value = ${quote(o.value)}]`,
        valid_from: o.firstSeen,
        labels: mi.exercise ? ['exercise'] : undefined,
        ...marked,
      }),
    );
  }
  for (const rule of mi.rules) {
    if (rule.yaml === undefined) continue;
    indicators.push(
      strip({
        ...common('indicator', `indicator/sigma/${rule.id}`),
        name: `Sigma: ${rule.title}`,
        description: rule.description,
        indicator_types: ['malicious-activity'],
        pattern_type: 'sigma',
        pattern: rule.yaml,
        valid_from: mi.firstSeen,
        labels: mi.exercise ? ['exercise'] : undefined,
        external_references: [
          { source_name: 'sigma', external_id: rule.id, description: `rule version ${rule.version}` },
          ...(rule.references ?? []).map((url) => ({ source_name: 'sigma-reference', url })),
        ],
        ...marked,
      }),
    );
  }

  const observed: StixObject[] =
    scos.length === 0
      ? []
      : [
          {
            ...common('observed-data', 'observed-data'),
            first_observed: mi.firstSeen,
            last_observed: mi.lastSeen,
            number_observed: Math.min(Math.max(mi.alertCount, 1), 999_999_999),
            object_refs: scos.map((s) => s.id),
            ...marked,
          },
        ];

  const incidentObj: StixObject = {
    ...common('incident', 'incident'),
    name: `${reportNumber}: ${mi.title}`,
    description: mi.description,
    labels: [
      rsitLabel(mi.category),
      `vn-tt20:${mi.vnCategory}`,
      `severity:${mi.severity}`,
      ...(mi.exercise ? ['exercise'] : []),
    ],
    external_references: [{ source_name: sourceName, external_id: reportNumber }],
    extensions: {
      [INCIDENT_CORE_EXTENSION_ID]: strip({
        extension_type: 'property-extension',
        determination: mi.status === 'false_positive' ? 'false-positive' : 'suspected',
        investigation_status: investigationStatus(mi.status),
        incident_types: [mi.category],
        detection_methods: [
          ...mi.rules.map((r) => `sigma-rule:${r.id}`),
          ...(mi.form03.detectionMethods ?? []).map((d) =>
            d === 'log-review'
              ? 'log-review'
              : d === 'notified'
                ? `notified-by:${mi.form03.notifiedBy ?? 'other'}`
                : d,
          ),
        ],
        criticality: CRITICALITY[mi.severity],
      }),
      [extId]: citysocProperties(mi, reportNumber),
    },
    ...marked,
  };

  const sightings: StixObject[] = indicators.map((ind) => {
    const ext = mi.external.find((o) => ind.id === id('indicator', `indicator/${o.kind}/${o.value}`));
    return strip({
      ...common('sighting', `sighting/${ind.id}`),
      first_seen: ext?.firstSeen ?? mi.firstSeen,
      last_seen: ext?.lastSeen ?? mi.lastSeen,
      count: Math.min(ext?.count ?? mi.alertCount, 999_999_999),
      sighting_of_ref: ind.id,
      observed_data_refs: observed.map((o) => o.id),
      where_sighted_refs: whereSighted,
      ...marked,
    });
  });

  const relationships: StixObject[] = indicators.map((ind) => ({
    ...common('relationship', `relationship/${ind.id}`),
    relationship_type: 'related-to',
    source_ref: incidentObj.id,
    target_ref: ind.id,
    ...marked,
  }));

  const content = [
    ...unitObjs,
    ...scos,
    ...indicators,
    ...observed,
    incidentObj,
    ...sightings,
    ...relationships,
  ];
  const report: StixObject = {
    ...common('report', `report/${mi.kind}`),
    name: `${mi.kind === 'final' ? 'Final' : mi.kind === 'update' ? 'Updated' : 'Initial'} incident report ${reportNumber}`,
    description: mi.description,
    report_types: ['threat-report'],
    published: modified,
    labels: mi.exercise ? ['exercise'] : undefined,
    object_refs: content.map((o) => o.id),
    external_references: [{ source_name: sourceName, external_id: reportNumber }],
    ...marked,
  };
  strip(report);

  return {
    type: 'bundle',
    id: deterministicId('bundle', `incident/${mi.incidentId}/bundle/${modified}/${mi.kind}`),
    objects: [tlpMarking(mi.tlp), soc, citysocExtensionDefinition(socId, extId), ...content, report],
  };
}

function citysocProperties(mi: MinimisedIncident, reportNumber: string): Record<string, unknown> {
  const f = mi.form03;
  const crit = mi.units.map((u) => u.criticality);
  const order = ['low', 'medium', 'high', 'critical'];
  const topCrit = crit.sort((a, b) => order.indexOf(b) - order.indexOf(a))[0];
  return strip({
    extension_type: 'property-extension',
    report_kind: mi.kind,
    report_number: reportNumber,
    exercise: mi.exercise,
    rsit_category: mi.category,
    vn_category: mi.vnCategory,
    severity: mi.severity,
    owner_agency: f.ownerAgency,
    system_name: f.systemName,
    system_security_level: f.systemSecurityLevel,
    system_purpose: f.systemPurpose,
    security_provider: f.securityProvider,
    connectivity_provider: f.connectivityProvider,
    detected_at: f.detectedAt ?? mi.firstSeen,
    handled: f.handled ?? mi.status === 'resolved',
    notified_by: f.notifiedBy,
    notified_parties: f.notifiedParties,
    operating_systems: f.operatingSystems,
    services: f.services,
    security_controls: f.securityControls,
    evidence_available: f.evidenceAvailable,
    confidential: f.confidential ?? false,
    support_requested: f.supportRequested,
    response_summary: f.responseSummary,
    affected_unit_criticality: topCrit,
    internal_hosts: mi.internalHosts,
    network_summary:
      mi.network.transports.length + mi.network.protocols.length + mi.network.destinationPorts.length > 0
        ? strip({
            transports: mi.network.transports,
            protocols: mi.network.protocols,
            destination_ports: mi.network.destinationPorts,
          })
        : undefined,
  });
}
