/** Any STIX 2.1 object as JSON; builders keep the exact property set, validation checks it. */
export interface StixObject {
  type: string;
  id: string;
  spec_version?: '2.1';
  [property: string]: unknown;
}

export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

export type TlpLevel = 'clear' | 'green' | 'amber' | 'amber+strict' | 'red';
