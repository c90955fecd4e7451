import { deterministicId } from './ids';
import { type StixObject } from './types';

/**
 * The reporting organisation (Mẫu 03 A/B). `contact` is a role mailbox or duty-desk phone: reports name an
 * office, never a person, so a staff change does not change the report and no personal data leaves.
 */
export interface Reporter {
  /** Stable key for the identity id (e.g. `hanoi-city-soc`); changing it creates a new identity. */
  key: string;
  name: string;
  contact: string;
  address?: string;
  /** When this identity version was defined (config), so every report carries the same identity version. */
  since: string;
}

export function reporterId(r: Reporter): string {
  return deterministicId('identity', `reporter/${r.key}`);
}

export function reporterIdentity(r: Reporter): StixObject {
  const since = new Date(r.since).toISOString();
  return {
    type: 'identity',
    spec_version: '2.1',
    id: reporterId(r),
    created: since,
    modified: since,
    name: r.name,
    identity_class: 'organization',
    sectors: ['government-local'],
    contact_information: r.address ? `${r.contact}; ${r.address}` : r.contact,
  };
}
