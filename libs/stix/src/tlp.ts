import { type StixObject, type TlpLevel } from './types';

/** OASIS TLP 2.0 marking extension (cti-stix-common-objects, extension-definition-specifications/tlp-2.0). */
export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** The fixed ids of the TLP 2.0 markings: every producer uses these, so consumers recognise them by id. */
export const TLP_MARKING_IDS: Readonly<Record<TlpLevel, string>> = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

export const TLP_LEVELS: readonly TlpLevel[] = ['clear', 'green', 'amber', 'amber+strict', 'red'];

/** The standard TLP 2.0 marking-definition object, byte-identical for every sender. */
export function tlpMarking(level: TlpLevel): StixObject {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP_MARKING_IDS[level],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${level.toUpperCase()}`,
    extensions: {
      [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: level },
    },
  };
}

/** Order of restrictiveness, so that a policy can only tighten, never loosen, a report's marking. */
export function stricterTlp(a: TlpLevel, b: TlpLevel): TlpLevel {
  return TLP_LEVELS.indexOf(a) >= TLP_LEVELS.indexOf(b) ? a : b;
}
