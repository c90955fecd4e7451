import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './net';

/**
 * Real engine processes for durability tests: a server we can kill -9 and start again with the same
 * arguments and data folder, like a crash and a supervisor restart.
 */
export class ServerProcess {
  private child?: ChildProcess;
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.running) return;
    const child = spawn(this.bin, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      this.log.push(b.toString('utf8'));
      if (this.log.length > 400) this.log.splice(0, 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }

  tail(): string {
    return this.log.join('').slice(-3000);
  }
}

const NATS_BIN = process.env.CITYSOC_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const REDIS_BIN = process.env.CITYSOC_REDIS_SERVER_BIN ?? 'redis-server';

export interface NatsNode {
  name: string;
  clientPort: number;
  clusterPort: number;
  monitorPort: number;
  url: string;
  proc: ServerProcess;
}

/**
 * A JetStream cluster of `size` nodes on loopback, each with its own client/cluster/monitor ports and store
 * folder under `dir` (the Debian nats-server 2.9 binary; flags rather than a config file keep it visible).
 */
export class NatsCluster {
  readonly nodes: NatsNode[] = [];

  private constructor(readonly dir: string) {}

  static async start(dir: string, size = 3): Promise<NatsCluster> {
    const c = new NatsCluster(dir);
    const ports = [];
    for (let i = 0; i < size; i++)
      ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
    const routes = ports.map((p) => `nats://127.0.0.1:${p.cluster}`);
    ports.forEach((p, i) => {
      const name = `n${i + 1}`;
      const store = path.join(dir, name);
      mkdirSync(store, { recursive: true });
      const args = [
        '-js',
        '-sd',
        store,
        '-n',
        name,
        '-a',
        '127.0.0.1',
        '-p',
        String(p.client),
        '-m',
        String(p.monitor),
        '--cluster_name',
        'citysoc-chaos',
        '--cluster',
        `nats://127.0.0.1:${p.cluster}`,
        '--routes',
        routes.filter((_, j) => j !== i).join(','),
      ];
      c.nodes.push({
        name,
        clientPort: p.client,
        clusterPort: p.cluster,
        monitorPort: p.monitor,
        url: `nats://127.0.0.1:${p.client}`,
        proc: new ServerProcess(name, NATS_BIN, args),
      });
    });
    for (const n of c.nodes) n.proc.start();
    await c.waitReady();
    return c;
  }

  get urls(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  node(name: string): NatsNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Ready when JetStream answers account info, which needs a meta leader. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        const nc = await connect({ servers: this.urls.split(','), timeout: 2000 });
        try {
          const jsm = await nc.jetstreamManager({ timeout: 2000 });
          await jsm.getAccountInfo();
          return true;
        } finally {
          await nc.close();
        }
      },
      'the JetStream cluster to elect a meta leader',
      timeoutMs,
    );
  }

  async withConnection<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
    const nc = await connect({ servers: this.urls.split(',') });
    try {
      return await fn(nc);
    } finally {
      await nc.close();
    }
  }

  /** The stream's leader and replicas as the cluster reports them. */
  async placement(stream: string): Promise<{ leader: string; replicas: string[] }> {
    // Right after a node restarts the JetStream API can time out or report no leader while it elects one.
    return waitFor(
      () =>
        this.withConnection(async (nc) => {
          const info = await (await nc.jetstreamManager({ timeout: 3000 })).streams.info(stream);
          const leader = info.cluster?.leader ?? '';
          return leader ? { leader, replicas: (info.cluster?.replicas ?? []).map((r) => r.name) } : undefined;
        }),
      `a leader for ${stream}`,
      60_000,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc.stop()));
  }
}

export interface RedisNode {
  port: number;
  dir: string;
  proc: ServerProcess;
  client(): Redis;
}

/** A redis-server of our own with AOF everysec (the preinstalled one keeps nothing on disk). */
export async function startRedis(
  dir: string,
  opts: { aof?: boolean; replicaOf?: number; port?: number } = {},
): Promise<RedisNode> {
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.aof === false ? 'no' : 'yes',
    '--appendfsync',
    'everysec',
    ...(opts.replicaOf ? ['--replicaof', '127.0.0.1', String(opts.replicaOf)] : []),
  ];
  const proc = new ServerProcess(`redis-${port}`, REDIS_BIN, args);
  proc.start();
  const node: RedisNode = {
    port,
    dir,
    proc,
    client: () => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null }),
  };
  await waitRedis(node);
  return node;
}

export async function waitRedis(node: RedisNode, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const r = new Redis({
        host: '127.0.0.1',
        port: node.port,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      try {
        await r.connect();
        // LOADING while the AOF is replayed: not ready yet.
        return (await r.ping()) === 'PONG';
      } finally {
        r.disconnect();
      }
    },
    `redis on ${node.port}`,
    timeoutMs,
  );
}

/** A Redis Sentinel watching `masterPort` under `name`; quorum 1 (one sentinel is enough on loopback). */
export async function startSentinel(
  dir: string,
  masterPort: number,
  name: string,
  downAfterMs = 2000,
): Promise<{ port: number; proc: ServerProcess; client(): Redis }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, `sentinel-${port}.conf`);
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} 10000`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  const proc = new ServerProcess(`sentinel-${port}`, REDIS_BIN, [conf, '--sentinel']);
  proc.start();
  const client = () => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
  await waitFor(async () => {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
    try {
      await r.connect();
      const m = (await r.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
      return m?.[1] === String(masterPort);
    } finally {
      r.disconnect();
    }
  }, `sentinel on ${port}`);
  return { port, proc, client };
}

/** The replica finished its first full sync (a failover before that loses the data set). */
export async function waitReplicaSynced(replica: RedisNode, timeoutMs = 60_000): Promise<void> {
  const r = replica.client();
  try {
    await waitFor(
      async () => {
        const info = await r.info('replication');
        return /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info);
      },
      `replica ${replica.port} to finish its first sync`,
      timeoutMs,
    );
  } finally {
    r.disconnect();
  }
}
