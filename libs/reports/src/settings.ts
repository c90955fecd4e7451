import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { reportOptions, str, taxiiOptions } from '@citysoc/config';
import { type PrivacyPolicy, type Reporter, type TlpLevel } from '@citysoc/stix';

/** What reporting needs from configuration (the reporter app, the API and the CLI share it). */
export interface ReportSettings {
  taxiiUrl: string;
  taxiiCollection: string;
  taxiiUser: string;
  taxiiPassword: string;
  taxiiClientCert: string;
  taxiiClientKey: string;
  taxiiCa: string;
  taxiiPullCollection: string;
  reportLevels: readonly string[];
  reportCategories: readonly string[];
  reportUnits: readonly string[];
  reportPseudonymKey: string;
  reportInternalAddresses: 'drop' | 'pseudonymise';
  reportDrills: 'skip' | 'flag-as-exercise';
  reportTlp: TlpLevel;
  reporterKey: string;
  reporterName: string;
  reporterContact: string;
  reporterAddress: string;
  reportNumberPrefix: string;
  reportTimeZone: string;
  /** Unit registry YAML: its ranges are the city's internal addresses too. */
  unitsFile: string;
}

/** The city's address plan from the unit registry: every range in it is internal for reporting. */
export function unitRegistryRanges(file: string): string[] {
  if (!file) return [];
  const doc = parseDocument(readFileSync(file, 'utf8')).toJS() as { units?: Array<{ cidrs?: unknown }> };
  const out: string[] = [];
  for (const u of doc?.units ?? [])
    if (Array.isArray(u.cidrs)) for (const c of u.cidrs) if (typeof c === 'string') out.push(c);
  return out;
}

export function privacyPolicy(s: ReportSettings): Partial<PrivacyPolicy> {
  return {
    internalAddresses: s.reportInternalAddresses,
    ...(s.reportPseudonymKey ? { pseudonymKey: s.reportPseudonymKey } : {}),
    extraInternalRanges: unitRegistryRanges(s.unitsFile),
    drills: s.reportDrills,
    tlp: s.reportTlp,
  };
}

export function reporterOf(s: ReportSettings): Reporter {
  return {
    key: s.reporterKey,
    name: s.reporterName,
    contact: s.reporterContact,
    ...(s.reporterAddress ? { address: s.reporterAddress } : {}),
    // The identity's version is fixed: a new one would only be needed if the organisation itself changed.
    since: '2026-01-01T00:00:00.000Z',
  };
}

/** Reporting settings as a config schema (the reporter, the API and the CLI read the same variables). */
export const reportSettingsSchema = {
  ...taxiiOptions,
  ...reportOptions,
  unitsFile: str({
    env: 'CITYSOC_UNITS_FILE',
    description:
      'Unit registry YAML (CIDR → city unit); events are attributed to the units owning their addresses',
    default: '',
    example: './deploy/units.example.yml',
  }),
};
