/**
 * Mẫu 03 (Circular 20/2017, initial incident report) and Mẫu 04 (final report) fields that have no STIX
 * 2.1 home. The letters are the form's field numbers (national-center.md §2.3). Written by analysts or
 * taken from the asset inventory; free texts pass through the same scrubber as everything else.
 */
export interface Form03Fields {
  /** Report number on the national side, e.g. `HN-SOC-2026-000123`; defaults to one from the incident id. */
  reportNumber?: string;
  /** C2 */
  ownerAgency?: string;
  /** C3 (a name, not a host name) */
  systemName?: string;
  /** C4, Decree 85/2016 level */
  systemSecurityLevel?: 1 | 2 | 3 | 4 | 5;
  /** C5 */
  securityProvider?: string;
  /** C6 */
  connectivityProvider?: string;
  /** D1, analyst-written; becomes the incident description. */
  summary?: string;
  /** D2 */
  detectedAt?: string;
  /** D3 */
  handled?: boolean;
  /** D4 */
  detectionMethods?: Array<'ids' | 'log-review' | 'notified' | 'other'>;
  /** D4 "notified by …" (an organisation) */
  notifiedBy?: string;
  /** D5 */
  notifiedParties?: Array<'network-member' | 'isp' | 'coordinating-body'>;
  /** E1 */
  operatingSystems?: string[];
  /** E2 */
  services?: string[];
  /** E3 */
  securityControls?: string[];
  /** E6 */
  systemPurpose?: string;
  /** E7: what evidence exists locally; the evidence itself is never pushed. */
  evidenceAvailable?: Array<'system-logs' | 'malware-sample' | 'other'>;
  /** E8: keep confidential → TLP:AMBER+STRICT at least. */
  confidential?: boolean;
  /** F1 */
  supportRequested?: string;
  /** Mẫu 04: result of the response. */
  responseSummary?: string;
}

/** Free-text fields an analyst writes: the minimiser scrubs each before a report leaves the city. */
export const FORM03_FREE_TEXT_FIELDS = [
  'ownerAgency',
  'systemName',
  'securityProvider',
  'connectivityProvider',
  'summary',
  'notifiedBy',
  'systemPurpose',
  'supportRequested',
  'responseSummary',
] as const satisfies ReadonlyArray<keyof Form03Fields>;

/** Lists of short free texts, scrubbed item by item. */
export const FORM03_TEXT_LIST_FIELDS = [
  'operatingSystems',
  'services',
  'securityControls',
] as const satisfies ReadonlyArray<keyof Form03Fields>;
