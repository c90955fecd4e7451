import { uuidv5 } from './uuid';

/** Namespace of the ids this library derives; fixed forever, or every re-sent object would become new. */
export const CITYSOC_STIX_NAMESPACE = 'a3d1f0c2-6b7e-5c4d-9e8f-0a1b2c3d4e5f';

/** STIX 2.1 §2.9: the namespace for deterministic cyber-observable ids. */
export const STIX_SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

/**
 * An SDO/SRO id from a stable name (incident id and the object's role in the report), so that a later
 * build of the same incident yields the same ids and only `modified` moves.
 */
export function deterministicId(type: string, name: string): string {
  return `${type}--${uuidv5(name, CITYSOC_STIX_NAMESPACE)}`;
}

/** Per-incident role id: `incidentId` + role, the contract of issue 7 (same incident → same objects). */
export function incidentObjectId(type: string, incidentId: string, role: string): string {
  return deterministicId(type, `incident/${incidentId}/${role}`);
}

/**
 * SCO id per STIX 2.1 §2.9: UUIDv5 over the canonical JSON (RFC 8785) of the id-contributing properties.
 * For the SCOs built here those are flat string properties, for which sorted keys + JSON.stringify is JCS.
 */
export function scoId(type: string, contributing: Record<string, string>): string {
  const keys = Object.keys(contributing).sort();
  const canon = `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(contributing[k])}`).join(',')}}`;
  return `${type}--${uuidv5(canon, STIX_SCO_NAMESPACE)}`;
}
