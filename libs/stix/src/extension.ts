import { deterministicId } from './ids';
import { type StixObject } from './types';

/** OASIS Incident Core extension (cti-stix-common-objects, extension-definition-specifications/incident-core). */
export const INCIDENT_CORE_EXTENSION_ID = 'extension-definition--ef765651-680c-498d-9894-99799f2fa126';

/**
 * Our one property extension: Mẫu 03/04 fields with no STIX home on `incident`, and period counts on summary
 * `report`s. Its id is fixed (not per city) so the centre learns one id; a nationally agreed id replaces it
 * through `BuildOptions.extensionId`.
 */
export const CITYSOC_EXTENSION_ID = deterministicId(
  'extension-definition',
  'citysoc/x-vn-incident-report/v1',
);

export const CITYSOC_EXTENSION_VERSION = '1.0.0';

/** The properties the extension may carry, so a receiver can check them; kept next to the builder. */
export const CITYSOC_EXTENSION_PROPERTIES = {
  incident: [
    'report_kind',
    'report_number',
    'exercise',
    'rsit_category',
    'vn_category',
    'severity',
    'owner_agency',
    'system_name',
    'system_security_level',
    'system_purpose',
    'security_provider',
    'connectivity_provider',
    'detected_at',
    'handled',
    'notified_by',
    'notified_parties',
    'operating_systems',
    'services',
    'security_controls',
    'evidence_available',
    'confidential',
    'support_requested',
    'response_summary',
    'affected_unit_criticality',
    'internal_hosts',
    'network_summary',
  ],
  report: ['period_start', 'period_end', 'taxonomy', 'counts', 'small_cells_suppressed_below'],
} as const;

export function citysocExtensionDefinition(createdByRef: string, id = CITYSOC_EXTENSION_ID): StixObject {
  return {
    type: 'extension-definition',
    spec_version: '2.1',
    id,
    created: '2026-11-27T00:00:00.000Z',
    modified: '2026-11-27T00:00:00.000Z',
    created_by_ref: createdByRef,
    name: 'x-vn-incident-report',
    description:
      'Property extension for incident and report: fields of the Vietnamese initial/final incident report ' +
      'forms (Circular 20/2017/TT-BTTTT, Mau 03/04) and period counts (Mau 05) that have no STIX 2.1 property.',
    schema:
      'Incident properties: ' +
      CITYSOC_EXTENSION_PROPERTIES.incident.join(', ') +
      '. Report (summary) properties: ' +
      CITYSOC_EXTENSION_PROPERTIES.report.join(', ') +
      '. Timestamps are RFC 3339 UTC; categories are ENISA RSIT `predicate:value`; vn_category is a Mau 05 row slug.',
    version: CITYSOC_EXTENSION_VERSION,
    extension_types: ['property-extension'],
  };
}
