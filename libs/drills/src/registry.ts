import { type KV } from 'nats';
import { type Bus, openKv } from '@citysoc/bus';
import { allocationConflicts, type DrillAllocation } from './tagging';

export const DRILL_RUNS_BUCKET = 'drill-runs';

export type DrillRunStatus = 'running' | 'finished' | 'aborted';

export interface DrillRunRecord extends DrillAllocation {
  status: DrillRunStatus;
  registeredAt: string;
  registeredBy: string;
  seed: number;
  speed: number;
  updatedAt: string;
  /** Set when finished: the run's result and where its scorecard was written. */
  result?: 'pass' | 'fail' | 'error';
  scorecard?: string;
  /** ATT&CK techniques the run's expectations covered, passed or failed (scorecard coverage.by_technique). */
  techniques?: Record<string, 'pass' | 'fail'>;
  attack_version?: string | null;
  /**
   * SLA/escalation notifications of the run's incidents: `dry-run` (the default, also when absent) records
   * them without sending; `deliver` sends them to the real recipients (the scenario opts in with
   * `human.notifications: deliver`).
   */
  notify?: 'dry-run' | 'deliver';
}

export type DrillRunOutcome = Pick<DrillRunRecord, 'result' | 'scorecard' | 'techniques' | 'attack_version'>;

export class DrillRegistryError extends Error {}

const RUN_ID = /^d-[A-Za-z0-9]{4,32}$/;

/**
 * The registry of drill runs, as a JetStream KV bucket `<prefix>drill-runs` (one key per run). Listeners
 * watch it and feed the active allocations to isDrillRecord(); the CLI registers, finishes and aborts.
 * Registration refuses a run whose sender keys overlap another active run in time, so that attribution is
 * never ambiguous.
 */
export class DrillRunRegistry {
  private constructor(private readonly kv: KV) {}

  static async open(bus: Bus): Promise<DrillRunRegistry> {
    return new DrillRunRegistry(await openKv(bus, DRILL_RUNS_BUCKET));
  }

  /** For processes that hold a bare NATS connection (the API): the bucket opened by the caller. */
  static fromKv(kv: KV): DrillRunRegistry {
    return new DrillRunRegistry(kv);
  }

  async register(rec: DrillRunRecord): Promise<void> {
    if (!RUN_ID.test(rec.runId)) throw new DrillRegistryError(`bad run id ${rec.runId}`);
    for (const other of await this.list()) {
      if (other.status !== 'running') continue;
      const c = allocationConflicts(rec, other);
      if (c.length > 0)
        throw new DrillRegistryError(
          `run ${rec.runId} overlaps active run ${other.runId} on ${c.join(', ')}`,
        );
    }
    try {
      // create() fails if the key exists: a run id is used once.
      await this.kv.create(rec.runId, Buffer.from(JSON.stringify(rec)));
    } catch (e) {
      throw new DrillRegistryError(
        `run ${rec.runId} already registered: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  async get(runId: string): Promise<DrillRunRecord | undefined> {
    const e = await this.kv.get(runId);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
    return JSON.parse(Buffer.from(e.value).toString('utf8')) as DrillRunRecord;
  }

  async list(): Promise<DrillRunRecord[]> {
    const out: DrillRunRecord[] = [];
    // Collect the keys first: awaiting inside the keys() iteration ends it early (nats.js 2.x).
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    for (const k of keys) {
      const r = await this.get(k);
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.registeredAt.localeCompare(b.registeredAt));
  }

  /** Allocations the listeners must honour now: running runs (their windows bound them in time). */
  async active(): Promise<DrillAllocation[]> {
    return (await this.list()).filter((r) => r.status === 'running');
  }

  /**
   * Ends a run. The window end is moved to now so records arriving later are real again; an abort keeps
   * the record (the audit trail of what was injected when).
   */
  async finish(
    runId: string,
    status: Exclude<DrillRunStatus, 'running'>,
    extra: DrillRunOutcome = {},
  ): Promise<DrillRunRecord> {
    const e = await this.kv.get(runId);
    if (!e || e.operation !== 'PUT') throw new DrillRegistryError(`no drill run ${runId}`);
    const cur = JSON.parse(Buffer.from(e.value).toString('utf8')) as DrillRunRecord;
    const now = new Date().toISOString();
    const next: DrillRunRecord = {
      ...cur,
      ...extra,
      status,
      updatedAt: now,
      window: {
        start: cur.window.start,
        end: cur.status === 'running' && now < cur.window.end ? now : cur.window.end,
      },
    };
    // Compare-and-set on the revision: a concurrent finish/abort loses instead of overwriting.
    await this.kv.update(runId, Buffer.from(JSON.stringify(next)), e.revision);
    return next;
  }
}
