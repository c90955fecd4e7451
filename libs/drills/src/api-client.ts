import { type DrillRunOutcome, type DrillRunRecord, type DrillRunStatus } from './registry';
import { type ObservedAlert, type ObservedIncident } from './score';
import { drillRunOf } from './tagging';

export interface ApiTarget {
  url: string;
  token: string;
}

interface AlertJson {
  id: string;
  created_at: string;
  rule: { id: string; title: string; tags?: string[] };
  event: { labels?: Record<string, string> };
}
interface IncidentJson {
  id: string;
  rule_ids: string[];
  severity: string;
  unit: { path: string } | null;
  created_at: string;
  acknowledged_at: string | null;
  closed_at: string | null;
  reason: string | null;
  status: string;
  tags: string[];
  sla?: { breaches?: Array<{ kind: 'acknowledge' | 'resolve' }> };
}

export function tagsToAttack(tags: string[] | undefined): { techniques: string[]; tactics: string[] } {
  const techniques: string[] = [];
  const tactics: string[] = [];
  for (const t of tags ?? []) {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    if (m) techniques.push(m[1]!.toUpperCase());
    else if (t.startsWith('attack.')) tactics.push(t.slice(7));
  }
  return { techniques, tactics };
}

async function getPage<T>(api: ApiTarget, path: string, query: Record<string, string>): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  // Page until the API has no `next`; a hard stop guards against a server that never ends.
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ ...query, limit: '500', ...(after ? { after } : {}) });
    const res = await fetch(`${api.url.replace(/\/$/, '')}${path}?${q.toString()}`, {
      headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as { items: T[]; next?: string };
    out.push(...body.items);
    if (!body.next) break;
    after = body.next;
  }
  return out;
}

export interface Observation {
  alerts: ObservedAlert[];
  incidents: ObservedIncident[];
}

/**
 * What the pipeline produced since `fromIso`. With `runId`, only alerts the collectors marked as this
 * run's (labels.drill) count; without, every alert of the window does (labs without marking).
 */
export async function observe(api: ApiTarget, fromIso: string, runId?: string): Promise<Observation> {
  const alerts = await getPage<AlertJson>(api, '/api/v1/alerts', { from: fromIso });
  const mine = alerts.filter((a) => runId === undefined || drillRunOf(a as never) === runId);
  const incidents = await getPage<IncidentJson>(api, '/api/v1/incidents', { from: fromIso });
  const ruleIds = new Set(mine.map((a) => a.rule.id));
  return {
    alerts: mine.map((a) => ({
      id: a.id,
      ruleId: a.rule.id,
      ruleTitle: a.rule.title,
      createdMs: Date.parse(a.created_at),
      ...tagsToAttack(a.rule.tags),
    })),
    incidents: incidents
      .filter((i) => i.rule_ids.some((r) => ruleIds.has(r)))
      .map((i) => ({
        id: i.id,
        ruleIds: i.rule_ids,
        severity: i.severity,
        unit: i.unit?.path ?? null,
        createdMs: Date.parse(i.created_at),
        acknowledgedMs: i.acknowledged_at ? Date.parse(i.acknowledged_at) : null,
        closedMs: i.closed_at ? Date.parse(i.closed_at) : null,
        disposition: i.closed_at ? (i.reason ?? i.status) : null,
        slaBreaches: (i.sla?.breaches ?? []).map((b) => b.kind),
      })),
  };
}

/** What the runner needs of a run registry: the NATS bucket itself or the API in front of it. */
export interface RunRegistry {
  register(rec: DrillRunRecord): Promise<void>;
  finish(
    runId: string,
    status: Exclude<DrillRunStatus, 'running'>,
    extra?: DrillRunOutcome,
  ): Promise<unknown>;
}

/**
 * Registration through the API (`POST /api/v1/drills/runs`, a drill controller's token): audited, and the API's abort
 * also closes the run's incidents. Same records as DrillRunRegistry, so both paths stay interchangeable.
 */
export class ApiRunRegistry implements RunRegistry {
  constructor(private readonly api: ApiTarget) {}

  private async post(path: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${this.api.url.replace(/\/$/, '')}/api/v1/drills/runs${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /api/v1/drills/runs${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  async register(rec: DrillRunRecord): Promise<void> {
    await this.post('', {
      runId: rec.runId,
      scenario: rec.scenario,
      scenarioSha256: rec.scenarioSha256,
      syslog: rec.syslog,
      exporters: rec.exporters,
      ...(rec.clientCerts?.length ? { clientCerts: rec.clientCerts } : {}),
      window: rec.window,
      seed: rec.seed,
      speed: rec.speed,
      ...(rec.notify ? { notify: rec.notify } : {}),
    });
  }

  finish(
    runId: string,
    status: Exclude<DrillRunStatus, 'running'>,
    extra: DrillRunOutcome = {},
  ): Promise<unknown> {
    return status === 'aborted'
      ? this.post(`/${encodeURIComponent(runId)}/abort`, {})
      : this.post(`/${encodeURIComponent(runId)}/finish`, extra);
  }
}
