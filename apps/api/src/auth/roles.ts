import { SetMetadata } from '@nestjs/common';
import { type Principal, type Role } from '@citysoc/store';

export const ROLES_KEY = 'citysoc:roles';
export const PUBLIC_KEY = 'citysoc:public';

/** Which roles may call a route; admin may call everything. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export interface AuthedRequest {
  principal?: Principal;
  method: string;
  url: string;
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  body?: unknown;
  /** Set by handlers: the state before and after a change, for the audit record. */
  auditDetail?: Record<string, unknown>;
}

/** The caller's unit scope: undefined = city-wide; a path = that subtree only. */
export function scopeOf(req: AuthedRequest): string | undefined {
  return req.principal?.unit ?? undefined;
}

/**
 * Roles allowed to read SOC data (events, alerts, incidents). The drill `controller` reads (to follow a
 * run) but is not in WORKERS: it manages drills and never works incidents.
 */
export const READERS: Role[] = ['analyst', 'responder', 'lead', 'auditor', 'controller'];
export const WORKERS: Role[] = ['analyst', 'responder', 'lead'];
