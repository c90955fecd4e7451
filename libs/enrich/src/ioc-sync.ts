import { createHash } from 'node:crypto';
import { type KV, type KvEntry } from 'nats';
import { type IocEntry, IocSet } from './iocs';

/**
 * IOCs travel from the reporter (which pulls them from the national TAXII collection into SQLite) to every
 * detector replica through one NATS KV bucket: a key per IOC, so a pull changes only what changed and a
 * replica on another host needs no access to the reporter's database.
 */
export const IOC_BUCKET = 'iocs';

/** KV keys allow a narrow alphabet: the value goes in hashed, the type stays readable. */
export function iocKey(e: Pick<IocEntry, 'type' | 'value'>): string {
  const digest = createHash('sha256').update(e.value.trim().toLowerCase()).digest('hex').slice(0, 40);
  return `${e.type}.${digest}`;
}

/** Makes the bucket hold exactly `entries`: puts new or changed ones, deletes the rest. */
export async function syncIocBucket(
  kv: KV,
  entries: readonly IocEntry[],
): Promise<{ put: number; deleted: number }> {
  return new IocBucketWriter(kv).sync(entries);
}

/**
 * The reporter is the bucket's only writer, so after one full read it knows what the bucket holds and a pull
 * costs only the changes: reading every key back on each pull grew with the national list, not with its
 * changes. Any failed write forgets that knowledge, and the next sync reads the bucket again.
 */
export class IocBucketWriter {
  private known?: Map<string, string>;

  constructor(private readonly kv: KV) {}

  async sync(entries: readonly IocEntry[]): Promise<{ put: number; deleted: number }> {
    const wanted = new Map(entries.map((e) => [iocKey(e), JSON.stringify(e)]));
    const known = this.known ?? (await this.read());
    this.known = undefined;
    let put = 0;
    let deleted = 0;
    for (const k of known.keys()) {
      if (wanted.has(k)) continue;
      await this.kv.delete(k);
      known.delete(k);
      deleted++;
    }
    for (const [k, v] of wanted) {
      if (known.get(k) === v) continue;
      await this.kv.put(k, Buffer.from(v));
      known.set(k, v);
      put++;
    }
    this.known = known;
    return { put, deleted };
  }

  private async read(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    for (const k of keys) {
      const cur = await this.kv.get(k);
      if (cur && cur.operation === 'PUT') out.set(k, Buffer.from(cur.value).toString('utf8'));
    }
    return out;
  }
}

/**
 * The current IOC set of a bucket, kept up to date by a watch; readers always see a whole set.
 */
export class IocWatch {
  private readonly entries = new Map<string, IocEntry>();
  private set = new IocSet([]);
  private dirty = false;
  private stopped = false;
  private iter?: Awaited<ReturnType<KV['watch']>>;

  private constructor(private readonly onError: (err: Error) => void) {}

  /** Rebuilt lazily: a pull that changes thousands of keys costs one rebuild, at the next lookup. */
  get current(): IocSet {
    if (this.dirty) {
      this.set = new IocSet(this.entries.values());
      this.dirty = false;
    }
    return this.set;
  }

  /** Resolves once the bucket's present content is loaded. */
  static async start(kv: KV, onError: (err: Error) => void): Promise<IocWatch> {
    const w = new IocWatch(onError);
    let ready!: () => void;
    const loaded = new Promise<void>((resolve) => (ready = resolve));
    w.iter = await kv.watch({ initializedFn: () => ready() });
    void w.run();
    await loaded;
    // The watch announces the end of the initial content before its queued entries are consumed; they are
    // consumed in microtasks, so one macrotask later the set is complete.
    await new Promise((resolve) => setImmediate(resolve));
    return w;
  }

  private async run(): Promise<void> {
    try {
      for await (const e of this.iter!) this.apply(e);
    } catch (err) {
      if (!this.stopped) this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private apply(e: KvEntry): void {
    if (e.operation === 'PUT') {
      try {
        this.entries.set(e.key, JSON.parse(Buffer.from(e.value).toString('utf8')) as IocEntry);
      } catch {
        this.onError(new Error(`IOC bucket: key ${e.key} holds no JSON; ignored`));
        return;
      }
    } else this.entries.delete(e.key);
    this.dirty = true;
  }

  stop(): void {
    this.stopped = true;
    this.iter?.stop();
  }
}
