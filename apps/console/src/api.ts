/**
 * The session token lives in sessionStorage (this tab only, gone when it closes) and travels as a bearer
 * header. Browsers never attach it on their own, so a cross-site request cannot act as the analyst (no
 * CSRF); the console holds no other secret.
 */
const KEY = 'citysoc.session';

export interface Session {
  token: string;
  username: string;
  expires_at: string;
}

export function getSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    return Date.parse(s.expires_at) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function setSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  const s = getSession();
  const res = await fetch(route, {
    method,
    headers: {
      ...(s ? { authorization: `Bearer ${s.token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401 && s) {
    setSession(null);
    window.dispatchEvent(new Event('citysoc:logout'));
  }
  const text = await res.text();
  const data: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const msg = (data as { message?: unknown } | undefined)?.message;
    throw new ApiError(
      res.status,
      Array.isArray(msg) ? msg.join('; ') : typeof msg === 'string' ? msg : res.statusText,
    );
  }
  return data as T;
}

/** Query string from an object, skipping empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * Server-sent events over fetch (EventSource cannot send the bearer header). Calls onEvent per event until
 * the signal aborts.
 */
export async function stream(
  route: string,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const s = getSession();
  const res = await fetch(route, { headers: s ? { authorization: `Bearer ${s.token}` } : {}, signal });
  if (!res.ok || !res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of chunk.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(event, JSON.parse(data));
    }
  }
}

export interface Incident {
  id: string;
  title: string;
  severity: string;
  status: string;
  rule_ids: string[];
  entity: string;
  alert_count: number;
  first_seen: string;
  last_seen: string;
  created_at: string;
  assignee: string | null;
  grouping_reason: string;
  priority: number;
  reason: string | null;
  duplicate_of?: string | null;
  split_from?: string | null;
  tags: string[];
  mitre: { tactics: string[]; techniques: string[] };
  unit: { id: string; name: string; path: string; criticality: string } | null;
  closed_at: string | null;
  sla: {
    acknowledge_due: string | null;
    resolve_due: string | null;
    breaches: Array<{ kind: string; at: string }>;
  };
}

export interface EcsEvent {
  id?: string;
  '@timestamp': string;
  message?: string;
  source?: { ip?: string; port?: number };
  destination?: { ip?: string; port?: number };
  host?: { hostname?: string; name?: string };
  user?: { name?: string };
  event?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface Alert {
  id: string;
  '@timestamp': string;
  rule: { id: string; title: string; level: string; tags?: string[]; description?: string };
  entity: string;
  event_ids: string[];
  event: EcsEvent;
  matched_fields?: Record<string, unknown>;
}

export interface IncidentDetail extends Incident {
  alert_ids: string[];
  alerts: Alert[];
  events: EcsEvent[];
  history: Array<{ at: string; actor: string; from_status: string | null; to_status: string; note: string }>;
  comments: Array<{ at: string; actor: string; text: string }>;
  evidence: EvidencePin[];
}

export interface EvidencePin {
  kind: 'alert' | 'event';
  ref_id: string;
  note: string;
  actor: string;
  at: string;
}

export interface QueuePage {
  items: Incident[];
  total: number;
  page: number;
  size: number;
  groups?: Array<{ key: string; count: number; max_severity: string }>;
  now: string;
}
