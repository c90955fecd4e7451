import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseHostPort, redisOptionsFor, redisSettingsFromEnv } from './redis';

describe('redisOptionsFor', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-redis-opts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('connects to the URL host with BullMQ-safe retries when no Sentinel is set', () => {
    const o = redisOptionsFor('redis://:urlpw@cache.example:6380/2', redisSettingsFromEnv({}));
    expect(o).toMatchObject({ host: 'cache.example', port: 6380, db: 2, password: 'urlpw' });
    expect(o.maxRetriesPerRequest).toBeNull();
    expect(o.sentinels).toBeUndefined();
    expect(o.tls).toBeUndefined();
  });

  it('resolves the master through Sentinels with secrets from files and TLS from a CA file', () => {
    const pw = path.join(dir, 'pw');
    const spw = path.join(dir, 'spw');
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(pw, 's3cret\n');
    writeFileSync(spw, 'sentinel-secret');
    writeFileSync(ca, 'CA');
    const o = redisOptionsFor(
      'redis://:urlpw@ignored:6379',
      redisSettingsFromEnv({
        CITYSOC_REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381',
        CITYSOC_REDIS_SENTINEL_NAME: 'soc',
        CITYSOC_REDIS_USERNAME: 'citysoc',
        CITYSOC_REDIS_PASSWORD_FILE: pw,
        CITYSOC_REDIS_SENTINEL_PASSWORD_FILE: spw,
        CITYSOC_REDIS_TLS_CA_FILE: ca,
      }),
    );
    expect(o).toMatchObject({
      name: 'soc',
      username: 'citysoc',
      password: 's3cret',
      sentinelPassword: 'sentinel-secret',
      enableTLSForSentinelMode: true,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
    });
    expect(String(o.tls?.ca)).toBe('CA');
    expect(o.host).toBeUndefined();
  });

  it('turns TLS on for rediss:// and takes the password from the environment over the URL', () => {
    const o = redisOptionsFor(
      'rediss://u:urlpw@h',
      redisSettingsFromEnv({ CITYSOC_REDIS_PASSWORD: 'envpw' }),
    );
    expect(o).toMatchObject({ host: 'h', port: 6379, username: 'u', password: 'envpw', tls: {} });
  });

  it.each([
    ['h', { host: 'h', port: 26379 }],
    ['h:1', { host: 'h', port: 1 }],
    ['[fe80::1]:5', { host: 'fe80::1', port: 5 }],
  ])('parseHostPort(%s)', (s, expected) => {
    expect(parseHostPort(s)).toEqual(expected);
  });

  it('rejects an unparsable volatile flag at boot', () => {
    expect(() => redisSettingsFromEnv({ CITYSOC_REDIS_ALLOW_VOLATILE: 'perhaps' })).toThrow(
      /CITYSOC_REDIS_ALLOW_VOLATILE/,
    );
  });
});
