import { type StixObject } from '../types';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

export interface Discovery {
  title: string;
  description?: string;
  contact?: string;
  default?: string;
  api_roots?: string[];
}

export interface ApiRoot {
  title: string;
  description?: string;
  versions: string[];
  /** Largest request body the server accepts, in bytes. */
  max_content_length: number;
}

export interface Collection {
  id: string;
  title: string;
  description?: string;
  alias?: string;
  can_read: boolean;
  can_write: boolean;
  media_types?: string[];
}

export interface Envelope {
  more?: boolean;
  next?: string;
  objects?: StixObject[];
}

export interface StatusDetail {
  id: string;
  version: string;
  message?: string;
}

export interface StatusResource {
  id: string;
  status: 'pending' | 'complete';
  request_timestamp?: string;
  total_count: number;
  success_count: number;
  successes?: StatusDetail[];
  failure_count: number;
  failures?: StatusDetail[];
  pending_count: number;
  pendings?: StatusDetail[];
}

export interface ErrorMessage {
  title: string;
  description?: string;
  error_id?: string;
  error_code?: string;
  http_status?: string;
  external_details?: string;
  details?: Record<string, unknown>;
}

/** TAXII's version of an object: `modified`, else `created`, else (SCOs, unversioned) a fixed marker. */
export function objectVersion(o: StixObject): string {
  const m = o['modified'] ?? o['created'];
  return typeof m === 'string' ? m : 'unversioned';
}
