import { readFileSync } from 'node:fs';
import { type ConnectionOptions as TlsOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { type ConfigOf, loadConfig, redisConnectionOptions } from '@citysoc/config';

export type RedisConnectionSettings = ConfigOf<ReturnType<typeof redisConnectionOptions>>;

/** The connection settings from the environment (the same variables every app's config schema declares). */
export function redisSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RedisConnectionSettings {
  return loadConfig(redisConnectionOptions(), env);
}

const readSecret = (file: string) => readFileSync(file, 'utf8').replace(/\r?\n$/, '');

/**
 * ioredis options for a URL plus the settings: a plain connection, or the master the Sentinels name (the
 * client asks the Sentinels again after a failover, and BullMQ's blocking commands resume on the new
 * master). Passwords come from the URL, the environment or a file, in that order of precedence: file, env,
 * URL.
 */
export function redisOptionsFor(url: string, s: RedisConnectionSettings): RedisOptions {
  const u = new URL(url);
  const password = s.redisPasswordFile
    ? readSecret(s.redisPasswordFile)
    : s.redisPassword || decodeURIComponent(u.password) || undefined;
  const username = s.redisUsername || decodeURIComponent(u.username) || undefined;
  const useTls = u.protocol === 'rediss:' || s.redisTlsCaFile !== '';
  const tls: TlsOptions | undefined = useTls
    ? {
        ...(s.redisTlsCaFile ? { ca: readFileSync(s.redisTlsCaFile) } : {}),
        ...(s.redisTlsCertFile ? { cert: readFileSync(s.redisTlsCertFile) } : {}),
        ...(s.redisTlsKeyFile ? { key: readFileSync(s.redisTlsKeyFile) } : {}),
      }
    : undefined;
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  const common: RedisOptions = {
    // BullMQ workers block on Redis; a finite retry count would turn a Redis restart into a crash.
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(tls ? { tls } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
  };
  if (s.redisSentinels.length === 0)
    return { ...common, host: u.hostname, port: u.port ? Number(u.port) : 6379 };
  return {
    ...common,
    sentinels: s.redisSentinels.map(parseHostPort),
    name: s.redisSentinelName,
    ...(s.redisSentinelPasswordFile ? { sentinelPassword: readSecret(s.redisSentinelPasswordFile) } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    // After a failover the old master may answer as a replica for a moment: reconnect to the new one.
    reconnectOnError: (err) => /READONLY/.test(err.message),
    sentinelRetryStrategy: (times) => Math.min(times * 200, 2000),
  };
}

export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s.trim());
  if (!m?.[1]) throw new Error(`not host:port: ${s}`);
  return { host: m[1], port: m[2] ? Number(m[2]) : 26379 };
}

/** A connection for BullMQ; without settings, the CITYSOC_REDIS_* variables decide Sentinel/TLS/ACL. */
export function redisConnection(url: string, settings?: RedisConnectionSettings): Redis {
  return new Redis(redisOptionsFor(url, settings ?? redisSettingsFromEnv()));
}

export interface RedisPersistence {
  /** AOF is on: an acknowledged job survives a Redis crash (up to the last fsync with everysec). */
  aof: boolean;
  /** appendfsync when readable (CONFIG may be forbidden by the ACL). */
  fsync?: string;
  /** Whether an AOF rewrite or load is running; informative only. */
  loading: boolean;
}

export async function redisPersistence(redis: Redis): Promise<RedisPersistence> {
  // INFO is allowed to most ACL users where CONFIG is not; it says whether AOF is on.
  const info = await redis.info('persistence');
  const field = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  let fsync: string | undefined;
  try {
    const r = (await redis.config('GET', 'appendfsync')) as string[];
    fsync = r[1];
  } catch {
    fsync = undefined;
  }
  return {
    aof: field('aof_enabled') === '1',
    ...(fsync ? { fsync } : {}),
    loading: field('loading') === '1',
  };
}

/**
 * Readiness: throws unless Redis persists every write to its append-only file. A Redis without AOF loses
 * every queued incident job on a crash, so a deployment must not report ready on one unless the operator
 * allowed it explicitly (CITYSOC_REDIS_ALLOW_VOLATILE, for development).
 */
export async function assertRedisDurable(
  redis: Redis,
  allowVolatile = redisSettingsFromEnv().redisAllowVolatile,
): Promise<RedisPersistence> {
  const p = await redisPersistence(redis);
  if (allowVolatile) return p;
  if (!p.aof)
    throw new Error(
      'Redis does not persist (appendonly no): queued jobs would be lost on a crash; run it with appendonly yes (or set CITYSOC_REDIS_ALLOW_VOLATILE=true for development)',
    );
  if (p.fsync === 'no')
    throw new Error('Redis appendfsync is "no": set everysec so a crash loses at most one second');
  return p;
}

/**
 * The readiness check of every app that keeps work in Redis (API, responder, reporter): Redis answers and
 * persists (assertRedisDurable). Failing, not throwing: the app stays up and reports not ready (503) until
 * the operator turns AOF on, which an orchestrator then sees.
 */
export function redisReadyCheck(
  redis: Redis,
  allowVolatile = redisSettingsFromEnv().redisAllowVolatile,
): () => Promise<{ ok: boolean; detail?: string }> {
  return async () => {
    try {
      if ((await redis.ping()) !== 'PONG') return { ok: false, detail: 'no PONG' };
      const p = await assertRedisDurable(redis, allowVolatile);
      return {
        ok: true,
        detail: p.aof ? `aof on${p.fsync ? `, appendfsync ${p.fsync}` : ''}` : 'volatile (allowed)',
      };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  };
}
