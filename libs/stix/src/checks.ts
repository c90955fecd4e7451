import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { CITYSOC_EXTENSION_ID, CITYSOC_EXTENSION_PROPERTIES, INCIDENT_CORE_EXTENSION_ID } from './extension';
import { scoId } from './ids';
import { type StixBundle, type StixObject } from './types';

/**
 * What the OASIS JSON schemas cannot say (their README lists it): `modified` ≥ `created`, references that
 * resolve, and the content of property extensions. Run next to per-type schema validation before sending.
 */

const TIMESTAMP = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' };
const STRINGS = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } };

/** Incident Core (cti-stix-common-objects, extension-definition--ef765651…), the properties we use strictly. */
const INCIDENT_CORE_SCHEMA = {
  type: 'object',
  required: ['extension_type', 'determination', 'investigation_status'],
  properties: {
    extension_type: { const: 'property-extension' },
    determination: {
      enum: ['blocked', 'failed-attempt', 'false-positive', 'low-value', 'successful-attempt', 'suspected'],
    },
    investigation_status: { type: 'string' },
    incident_types: STRINGS,
    detection_methods: STRINGS,
    criticality: { type: 'integer', minimum: 0, maximum: 100 },
    scores: { type: 'array' },
    recoverability: {},
    availability_impacts: { type: 'array' },
    confidentiality_impacts: { type: 'array' },
    external_impacts: { type: 'array' },
    integrity_impacts: { type: 'array' },
    monetary_impacts: { type: 'array' },
    physical_impacts: { type: 'array' },
    impacted_entity_counts: { type: 'object' },
    impacted_refs: { type: 'array' },
    first_seen: TIMESTAMP,
    last_seen: TIMESTAMP,
  },
  additionalProperties: false,
};

const OUR_INCIDENT_SCHEMA = {
  type: 'object',
  required: ['extension_type', 'report_kind', 'report_number', 'rsit_category', 'vn_category', 'severity'],
  properties: {
    extension_type: { const: 'property-extension' },
    report_kind: { enum: ['initial', 'update', 'final'] },
    report_number: { type: 'string', minLength: 1 },
    exercise: { type: 'boolean' },
    rsit_category: { type: 'string', pattern: '^[a-z-]+:[a-z-]+$' },
    vn_category: { type: 'string' },
    severity: { enum: ['informational', 'low', 'medium', 'high', 'critical'] },
    system_security_level: { type: 'integer', minimum: 1, maximum: 5 },
    detected_at: TIMESTAMP,
    handled: { type: 'boolean' },
    confidential: { type: 'boolean' },
    notified_parties: STRINGS,
    operating_systems: STRINGS,
    services: STRINGS,
    security_controls: STRINGS,
    evidence_available: STRINGS,
    internal_hosts: STRINGS,
    affected_unit_criticality: { enum: ['low', 'medium', 'high', 'critical'] },
    network_summary: { type: 'object' },
  },
  propertyNames: { enum: ['extension_type', ...CITYSOC_EXTENSION_PROPERTIES.incident] },
};

const OUR_REPORT_SCHEMA = {
  type: 'object',
  required: ['extension_type', 'period_start', 'period_end', 'counts'],
  properties: {
    extension_type: { const: 'property-extension' },
    period_start: TIMESTAMP,
    period_end: TIMESTAMP,
    taxonomy: { type: 'string' },
    small_cells_suppressed_below: { type: 'integer', minimum: 1 },
    counts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['category', 'severity', 'unit', 'opened', 'closed'],
        properties: {
          opened: { type: 'integer', minimum: 0 },
          closed: { type: 'integer', minimum: 0 },
          support_requested: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
  propertyNames: { enum: ['extension_type', ...CITYSOC_EXTENSION_PROPERTIES.report] },
};

let compiled: { core: ValidateFunction; incident: ValidateFunction; report: ValidateFunction } | undefined;

function validators(): NonNullable<typeof compiled> {
  if (!compiled) {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    compiled = {
      core: ajv.compile(INCIDENT_CORE_SCHEMA),
      incident: ajv.compile(OUR_INCIDENT_SCHEMA),
      report: ajv.compile(OUR_REPORT_SCHEMA),
    };
  }
  return compiled;
}

const REF_KEYS = ['created_by_ref', 'sighting_of_ref', 'source_ref', 'target_ref'] as const;
const REFS_KEYS = ['object_refs', 'object_marking_refs', 'observed_data_refs', 'where_sighted_refs'] as const;

export interface CheckOptions {
  /** Ids the recipient already holds (incidents sent before, referenced by a summary). */
  knownIds?: Iterable<string>;
  extensionId?: string;
}

/** Problems with a bundle beyond its objects' schemas; empty when none. */
export function checkBundle(bundle: StixBundle, opts: CheckOptions = {}): string[] {
  const ourExtensionId = opts.extensionId ?? CITYSOC_EXTENSION_ID;
  const problems: string[] = [];
  const ids = new Set([...bundle.objects.map((o) => o.id), ...(opts.knownIds ?? [])]);
  const seen = new Set<string>();
  const v = validators();
  for (const o of bundle.objects) {
    if (seen.has(o.id)) problems.push(`${o.id}: twice in one bundle`);
    seen.add(o.id);
    const created = o['created'];
    const modified = o['modified'];
    if (typeof created === 'string' && typeof modified === 'string' && modified < created)
      problems.push(`${o.id}: modified before created`);
    for (const k of REF_KEYS) {
      const r = o[k];
      if (typeof r === 'string' && !ids.has(r)) problems.push(`${o.id}: ${k} ${r} not in bundle`);
    }
    for (const k of REFS_KEYS) {
      const rs = o[k];
      if (Array.isArray(rs))
        for (const r of rs)
          if (typeof r === 'string' && !ids.has(r)) problems.push(`${o.id}: ${k} ${r} not in bundle`);
    }
    problems.push(...checkExtensions(o, ourExtensionId, v));
    // STIX 2.1 §2.9: SCO ids SHOULD be derived from their value, so every producer names one address alike.
    if (['ipv4-addr', 'ipv6-addr', 'domain-name', 'url'].includes(o.type) && typeof o['value'] === 'string') {
      const expected = scoId(o.type, { value: o['value'] });
      if (o.id !== expected) problems.push(`${o.id}: not the deterministic SCO id (${expected})`);
    }
  }
  return problems;
}

function checkExtensions(o: StixObject, ourId: string, v: NonNullable<typeof compiled>): string[] {
  const exts = o['extensions'];
  if (exts === null || typeof exts !== 'object') return [];
  const out: string[] = [];
  const run = (name: string, fn: ValidateFunction, value: unknown): void => {
    if (!fn(value))
      out.push(
        ...(fn.errors ?? []).map((e) => `${o.id}: ${name}${e.instancePath} ${e.message ?? e.keyword}`),
      );
  };
  const e = exts as Record<string, unknown>;
  if (e[INCIDENT_CORE_EXTENSION_ID] !== undefined)
    run('incident-core', v.core, e[INCIDENT_CORE_EXTENSION_ID]);
  if (e[ourId] !== undefined)
    run('x-vn-incident-report', o.type === 'report' ? v.report : v.incident, e[ourId]);
  return out;
}
