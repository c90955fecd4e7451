import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { openControlStore, SqliteIncidentStore } from '@citysoc/store';
import { FakeCluster } from '../../../../libs/store/src/elasticsearch/testing/fake-cluster.test';
import { registerStore } from './store';

const T0 = Date.parse('2026-11-20T08:00:00.000Z');

/** An alert of rule `rule` from `ip`, `min` minutes after T0 (what the detector publishes). */
function alert(id: string, min: number, ip: string, rule = 'rule-ssh') {
  const at = new Date(T0 + min * 60_000).toISOString();
  return {
    id,
    '@timestamp': at,
    created_at: at,
    rule: { id: rule, title: `Rule ${rule}`, level: 'high' as const, version: 'v1', tags: ['attack.t1110'] },
    entity: `source.ip:${ip}`,
    event_ids: [`ev-${id}`],
    event: { '@timestamp': at, event: { id: `ev-${id}`, created: at }, source: { ip } },
  };
}

describe('citysoc store migrate-incidents', () => {
  let dir: string;
  let fake: FakeCluster;
  const env = { ...process.env };

  async function run(args: string[]): Promise<Array<Record<string, unknown>>> {
    let text = '';
    const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
    const program = new Command('citysoc').exitOverride();
    registerStore(program, out, { elasticsearch: () => fake.client() });
    await program.parseAsync(['store', 'migrate-incidents', ...args], { from: 'user' });
    return text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-cli-store-'));
    process.env.CITYSOC_DATA_DIR = dir;
    process.env.CITYSOC_ELASTICSEARCH_URL = 'http://fake-es:9200';
    fake = new FakeCluster();
    const control = openControlStore(dir);
    try {
      const s = new SqliteIncidentStore(control.db, () => T0);
      // Promise.resolve: the store answers synchronously today and a promise once it moves to the port.
      for (const [id, min, ip] of [
        ['a1', 0, '198.51.100.7'],
        ['a2', 1, '198.51.100.7'],
        ['b1', 2, '198.51.100.8'],
      ] as const)
        await Promise.resolve(s.recordAlert(alert(id, min, ip), 15 * 60_000));
      control.audit.append({ actor: 'alice', action: 'incident.comment', target: 'x', outcome: 'success' });
    } finally {
      control.close();
    }
  });
  afterEach(() => {
    process.env = { ...env };
    process.exitCode = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints one JSON line per batch and a result with matching counts; a re-run creates nothing', async () => {
    const lines = await run(['--batch-size', '1']);
    const result = lines[lines.length - 1];
    expect(lines.filter((l) => l['event'] === 'progress' && l['phase'] === 'incidents')).toHaveLength(2);
    expect(result).toMatchObject({
      event: 'result',
      ok: true,
      source: { incidents: 2, alert_links: 3, groups: 2, audit_entries: 1 },
      target: { incidents: 2, alert_links: 3, groups: 2, audit_entries: 1 },
    });
    expect(process.exitCode).toBeUndefined();
    const again = (await run([])).at(-1);
    expect(again).toMatchObject({ ok: true, created: { incidents: 0 }, existing: { incidents: 2 } });
  });

  it('exits 1 when the target does not match the source', async () => {
    await run([]);
    fake.indices.get('citysoc-incidents-alerts')?.set('extra', { doc: {}, seqNo: 999, primaryTerm: 1 });
    expect((await run([])).at(-1)).toMatchObject({ ok: false, target: { alert_links: 4 } });
    expect(process.exitCode).toBe(1);
  });

  it('--dry-run needs no cluster and writes nothing', async () => {
    delete process.env.CITYSOC_ELASTICSEARCH_URL;
    expect((await run(['--dry-run'])).at(-1)).toMatchObject({
      ok: true,
      dry_run: true,
      source: { incidents: 2 },
    });
    expect(fake.requests).toEqual([]);
  });

  it('refuses to run without a cluster address', async () => {
    delete process.env.CITYSOC_ELASTICSEARCH_URL;
    delete process.env.ELASTICSEARCH_URL;
    await expect(run([])).rejects.toThrow(/CITYSOC_ELASTICSEARCH_URL/);
  });
});
