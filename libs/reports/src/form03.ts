import { FORM03_FREE_TEXT_FIELDS, FORM03_TEXT_LIST_FIELDS, type Form03Fields } from '@citysoc/stix';

export class Form03Error extends Error {
  readonly code = 'invalid_query';
}

// The report number is the city's own reference, not analyst prose, so it is checked but not scrubbed.
const TEXT = ['reportNumber', ...FORM03_FREE_TEXT_FIELDS] as const;
const TEXTS = FORM03_TEXT_LIST_FIELDS;
const ENUMS = {
  detectionMethods: ['ids', 'log-review', 'notified', 'other'],
  notifiedParties: ['network-member', 'isp', 'coordinating-body'],
  evidenceAvailable: ['system-logs', 'malware-sample', 'other'],
} as const;

/**
 * Analyst-entered Mẫu 03 fields from the API, checked field by field (unknown keys refused) before they are
 * stored; the report builder scrubs the free texts again when it builds.
 */
export function parseForm03(input: unknown): Form03Fields {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new Form03Error('form03 must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if ((TEXT as readonly string[]).includes(k)) {
      if (typeof v !== 'string' || v.length > 4000)
        throw new Form03Error(`form03.${k} must be text (≤ 4000)`);
      out[k] = v;
    } else if ((TEXTS as readonly string[]).includes(k)) {
      if (!Array.isArray(v) || v.length > 50 || !v.every((x) => typeof x === 'string' && x.length <= 200))
        throw new Form03Error(`form03.${k} must be a list of short texts`);
      out[k] = v;
    } else if (k in ENUMS) {
      const allowed = ENUMS[k as keyof typeof ENUMS] as readonly string[];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && allowed.includes(x)))
        throw new Form03Error(`form03.${k} must be a list of ${allowed.join(', ')}`);
      out[k] = [...new Set(v)];
    } else if (k === 'systemSecurityLevel') {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 5)
        throw new Form03Error('form03.systemSecurityLevel must be 1..5');
      out[k] = v;
    } else if (k === 'handled' || k === 'confidential') {
      if (typeof v !== 'boolean') throw new Form03Error(`form03.${k} must be true or false`);
      out[k] = v;
    } else if (k === 'detectedAt') {
      if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
        throw new Form03Error('form03.detectedAt must be an ISO 8601 time');
      out[k] = new Date(v).toISOString();
    } else throw new Form03Error(`form03.${k} is not a field of the form`);
  }
  return out;
}
