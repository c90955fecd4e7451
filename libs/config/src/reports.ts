import { list, oneOf, str, url } from './options';

/**
 * The national reporting channel (issue 7 contract). Recipient, channel and forms changed with the 2025
 * reorganisation, so everything about the centre is configuration. An empty URL turns delivery off: reports
 * are still built and kept pending, and go out once it is set.
 */
export const taxiiOptions = {
  taxiiUrl: url({
    env: 'CITYSOC_TAXII_URL',
    description:
      "TAXII 2.1 API root URL of the national centre (empty = don't deliver, keep reports pending)",
    default: '',
    protocols: ['https', 'http'],
  }),
  taxiiCollection: str({
    env: 'CITYSOC_TAXII_COLLECTION',
    description: 'Id of the TAXII collection reports are written to',
    default: '',
  }),
  taxiiUser: str({
    env: 'CITYSOC_TAXII_USER',
    description: 'HTTP Basic user at the TAXII server',
    default: '',
  }),
  taxiiPassword: str({
    env: 'CITYSOC_TAXII_PASSWORD',
    description: 'HTTP Basic password at the TAXII server',
    default: '',
    secret: true,
  }),
  taxiiClientCert: str({
    env: 'CITYSOC_TAXII_CLIENT_CERT',
    description: 'PEM client certificate file for mutual TLS (optional)',
    default: '',
  }),
  taxiiClientKey: str({
    env: 'CITYSOC_TAXII_CLIENT_KEY',
    description: 'PEM private key file of the client certificate (optional)',
    default: '',
  }),
  taxiiCa: str({
    env: 'CITYSOC_TAXII_CA',
    description: "PEM CA bundle that signed the centre's server certificate (default: system CAs)",
    default: '',
  }),
  taxiiPullCollection: str({
    env: 'CITYSOC_TAXII_PULL_COLLECTION',
    description: 'Id of the national collection whose indicators are loaded as IOCs (empty = no pull)',
    default: '',
  }),
};

export const reportOptions = {
  reportLevels: list({
    env: 'CITYSOC_REPORT_LEVELS',
    description: 'Incident levels reported automatically',
    default: ['high', 'critical'],
  }),
  reportCategories: list({
    env: 'CITYSOC_REPORT_CATEGORIES',
    description: 'RSIT categories (predicate or predicate:value) reported automatically whatever the level',
    default: [],
  }),
  reportUnits: list({
    env: 'CITYSOC_REPORT_UNITS',
    description: 'Unit ids whose incidents are reported automatically whatever the level',
    default: [],
  }),
  reportPseudonymKey: str({
    env: 'CITYSOC_REPORT_PSEUDONYM_KEY',
    description: 'HMAC key (>= 16 bytes) for pseudonyms of internal addresses and units; never commit it',
    default: '',
    secret: true,
  }),
  reportInternalAddresses: oneOf({
    env: 'CITYSOC_REPORT_INTERNAL_ADDRESSES',
    description: 'Internal addresses in reports: drop, or pseudonymise (needs the pseudonym key)',
    default: 'drop',
    values: ['drop', 'pseudonymise'] as const,
  }),
  reportDrills: oneOf({
    env: 'CITYSOC_REPORT_DRILLS',
    description: 'Drill incidents: skip (never reported) or flag-as-exercise',
    default: 'skip',
    values: ['skip', 'flag-as-exercise'] as const,
  }),
  reportTlp: oneOf({
    env: 'CITYSOC_REPORT_TLP',
    description: 'TLP 2.0 marking of incident reports (a confidential incident tightens it)',
    default: 'amber',
    values: ['clear', 'green', 'amber', 'amber+strict', 'red'] as const,
  }),
  reporterKey: str({
    env: 'CITYSOC_REPORTER_KEY',
    description: 'Stable key of the reporting organisation (its STIX identity id derives from it)',
    default: 'city-soc',
  }),
  reporterName: str({
    env: 'CITYSOC_REPORTER_NAME',
    description: 'Reporting organisation (Mẫu 03 A1)',
    default: 'City SOC',
  }),
  reporterContact: str({
    env: 'CITYSOC_REPORTER_CONTACT',
    description: "Duty-desk mailbox/phone (a role, never a person's name)",
    default: 'soc-duty@example.invalid',
  }),
  reporterAddress: str({
    env: 'CITYSOC_REPORTER_ADDRESS',
    description: 'Postal address (Mẫu 03 A2)',
    default: '',
  }),
  reportNumberPrefix: str({
    env: 'CITYSOC_REPORT_NUMBER_PREFIX',
    description: 'Prefix of report numbers (e.g. HN-SOC)',
    default: 'CITYSOC',
  }),
  reportTimeZone: str({
    env: 'CITYSOC_REPORT_TIMEZONE',
    description: 'Time zone of dates on the Vietnamese form',
    default: 'Asia/Ho_Chi_Minh',
  }),
};
