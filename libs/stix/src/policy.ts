import { type TlpLevel } from './types';

/**
 * What may leave the city in a report. Every field has a conservative default; a deployment loosens it in
 * configuration, never in code, because what the recipient is entitled to changes with agreements.
 */
export interface PrivacyPolicy {
  /** Internal addresses and host names: dropped, or replaced by keyed pseudonyms (HMAC-SHA256). */
  internalAddresses: 'drop' | 'pseudonymise';
  /** HMAC key for pseudonyms; required whenever a pseudonym is produced. From config, never a constant. */
  pseudonymKey?: string | Buffer;
  /** Documentation ranges (RFC 5737/3849) count as non-public unless this is false (tests, examples). */
  documentationRangesInternal: boolean;
  /** Further ranges that are internal to the city (e.g. a provider's private NAT space). */
  extraInternalRanges: readonly string[];
  /** DNS suffixes that are internal (never leave) — `.local`, the city's AD domain… */
  internalDomainSuffixes: readonly string[];
  /** The city's own public DNS suffixes: reported as affected systems, never as indicators. */
  ownDomainSuffixes: readonly string[];
  /** Account names (user.name…) may appear. */
  allowUserNames: boolean;
  /** Personal names (a Sigma rule's author…) may appear. */
  allowPersonalNames: boolean;
  /** Drill incidents: never reported, or reported and flagged as exercises. */
  drills: 'skip' | 'flag-as-exercise';
  /** Affected units by name, or by a stable pseudonym (forced for TLP:CLEAR/GREEN). */
  unitLabels: 'name' | 'pseudonym';
  /** The Sigma rule text travels as a `sigma` indicator, or only its id and title do. */
  sigmaRuleText: 'include' | 'omit';
  /** Marking of incident reports; Mẫu 03 E8 "confidential" tightens it to AMBER+STRICT. */
  tlp: TlpLevel;
}

export const DEFAULT_POLICY: Readonly<PrivacyPolicy> = Object.freeze({
  internalAddresses: 'drop',
  documentationRangesInternal: true,
  extraInternalRanges: [],
  internalDomainSuffixes: [
    'local',
    'localdomain',
    'localhost',
    'internal',
    'intranet',
    'lan',
    'home.arpa',
    'corp',
    'invalid',
  ],
  ownDomainSuffixes: [],
  allowUserNames: false,
  allowPersonalNames: false,
  drills: 'skip',
  unitLabels: 'name',
  sigmaRuleText: 'include',
  tlp: 'amber',
});

export class PolicyError extends Error {
  readonly code = 'invalid_policy';
}

export function resolvePolicy(partial: Partial<PrivacyPolicy> = {}): PrivacyPolicy {
  const p: PrivacyPolicy = { ...DEFAULT_POLICY, ...partial };
  if (p.tlp === 'clear' || p.tlp === 'green') p.unitLabels = 'pseudonym';
  const needsKey = p.internalAddresses === 'pseudonymise' || p.unitLabels === 'pseudonym';
  if (needsKey && (p.pseudonymKey === undefined || p.pseudonymKey.length < 16))
    throw new PolicyError('pseudonyms need a pseudonymKey of at least 16 bytes from configuration');
  return p;
}
