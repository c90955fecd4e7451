import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { openControlStore, openEventStore, SqliteIncidentStore } from '@citysoc/store';
import { StixValidator, defaultSchemaDir } from '@citysoc/stix';
import { alert, event } from '../../../../libs/stix/src/testing/fixtures';
import { TaxiiTestServer } from '../../../../test/taxii/server';
import { registerReport } from './report';

const COLL = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';

async function run(args: string[]): Promise<string> {
  let text = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  const program = new Command('citysoc').exitOverride();
  registerReport(program, out);
  await program.parseAsync(args, { from: 'user' });
  return text;
}

describe('citysoc report render|send', () => {
  let dir: string;
  let server: TaxiiTestServer;
  let incidentId: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-cli-report-'));
    server = await TaxiiTestServer.start();
    Object.assign(process.env, {
      CITYSOC_DATA_DIR: dir,
      CITYSOC_TAXII_URL: server.apiRootUrl,
      CITYSOC_TAXII_COLLECTION: COLL,
      CITYSOC_TAXII_USER: 'reporter',
      CITYSOC_TAXII_PASSWORD: 'secret',
    });
    const control = openControlStore(dir);
    const incidents = new SqliteIncidentStore(control.db);
    const events = openEventStore(dir);
    const ev = event({ source: { ip: '185.220.101.4', port: 4000 } });
    const a = alert(ev, 1);
    await events.insertAlerts([a]);
    incidentId = (await incidents.recordAlert(a, 60_000)).incident.id;
    await events.close();
    control.close();
  });

  afterAll(async () => {
    process.env = saved;
    process.exitCode = undefined;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('render --format stix prints a bundle whose objects all validate', async () => {
    const text = await run(['report', 'render', incidentId, '--format', 'stix']);
    const bundle = JSON.parse(text) as { type: string; objects: unknown[] };
    expect(bundle.type).toBe('bundle');
    const v = new StixValidator(defaultSchemaDir()!);
    for (const o of bundle.objects) expect(v.validate(o).errors).toEqual([]);
    expect(text).not.toContain('10.20.1.15');
  });

  it('render --format form-vi prints Mẫu 03 in Vietnamese', async () => {
    const md = await run(['report', 'render', incidentId, '--format', 'form-vi']);
    expect(md).toContain('BÁO CÁO BAN ĐẦU SỰ CỐ MẠNG');
    expect(md).toContain('[TBSC]');
    await expect(run(['report', 'render', incidentId, '--format', 'pdf'])).rejects.toThrow(/stix or form-vi/);
  });

  it('send --now delivers to the TAXII collection and records the delivery', async () => {
    const line = await run(['report', 'send', incidentId, '--now']);
    expect(line).toMatch(/\tdelivered\tsent \d+\/\d+\tstatus /);
    expect(server.stored(COLL).some((o) => o.id.startsWith('incident--'))).toBe(true);
    const control = openControlStore(dir);
    try {
      expect(control.reports.listDeliveries()[0]).toMatchObject({ outcome: 'delivered' });
      expect(control.audit.list(5).map((e) => e.action)).toContain('cli report.send');
    } finally {
      control.close();
    }
  });
});
