import { type Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { type Client } from '@elastic/elasticsearch';
import { eventStoreOptions, loadConfig, projectRoot } from '@citysoc/config';
import {
  createElasticsearchClient,
  type ElasticsearchConnection,
  ElasticsearchAuditLog,
  ElasticsearchIncidentImporter,
  ElasticsearchIncidentStore,
  migrateIncidents,
  openControlStore,
  SqliteIncidentSource,
} from '@citysoc/store';

const dataDir = () => process.env.CITYSOC_DATA_DIR ?? path.join(projectRoot(), 'data');

export interface StoreCommandDeps {
  /** How the cluster is reached (tests hand in the fake cluster's client). */
  elasticsearch?: (c: ElasticsearchConnection) => Client;
}

function batchSize(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 5000) throw new InvalidArgumentError('1 to 5000');
  return n;
}

/**
 * `citysoc store migrate-incidents`: copies the incidents and the audit log of the SQLite control database
 * (CITYSOC_DATA_DIR/citysoc.sqlite) into Elasticsearch (CITYSOC_ELASTICSEARCH_*), for the switch to the
 * city-scale incident store. One JSON line per batch (`progress`) and a last one (`result`, with the source
 * and target counts); exit 1 when the counts differ or anything was refused, differing or unreadable.
 * Re-running is safe: what is there is skipped and compared (docs/elasticsearch.md).
 */
export function registerStore(
  program: Command,
  out: NodeJS.WritableStream,
  deps: StoreCommandDeps = {},
): void {
  const store = program.command('store').description('Moving data between the stores');
  store
    .command('migrate-incidents')
    .description(
      'Copy every incident (alerts, history, comments, tags, evidence, SLA) and the audit log from SQLite into Elasticsearch; idempotent',
    )
    .option('--dry-run', 'read and convert everything, write nothing, print the source counts')
    .option('--batch-size <n>', 'incidents (alert links, entries) per read and bulk request', batchSize, 500)
    .option('--no-audit', 'leave the audit log out (e.g. a broken SQLite chain you keep as evidence)')
    .action(async (opts: { dryRun?: boolean; batchSize: number; audit: boolean }) => {
      const line = (o: Record<string, unknown>) => out.write(`${JSON.stringify(o)}\n`);
      const control = openControlStore(dataDir());
      let client: Client | undefined;
      try {
        const source = new SqliteIncidentSource(control.db);
        let target: Parameters<typeof migrateIncidents>[1];
        if (!opts.dryRun) {
          const c = loadConfig(eventStoreOptions);
          const url = c.elasticsearchUrl || process.env['ELASTICSEARCH_URL'] || '';
          if (!url)
            throw new Error('store migrate-incidents needs CITYSOC_ELASTICSEARCH_URL (or ELASTICSEARCH_URL)');
          const conn: ElasticsearchConnection = {
            url,
            ...(c.elasticsearchApiKey ? { apiKey: c.elasticsearchApiKey } : {}),
            ...(c.elasticsearchUsername
              ? { username: c.elasticsearchUsername, password: c.elasticsearchPassword }
              : {}),
            ...(c.elasticsearchCaFile ? { caFile: c.elasticsearchCaFile } : {}),
          };
          client = (deps.elasticsearch ?? createElasticsearchClient)(conn);
          const audit = new ElasticsearchAuditLog(client);
          const incidents = new ElasticsearchIncidentStore(client, { audit });
          // Templates first: the documents must land with the store's mappings, not dynamic ones.
          await incidents.install();
          await audit.install();
          target = { importer: new ElasticsearchIncidentImporter(client, incidents), audit };
        }
        const report = await migrateIncidents(source, target, {
          dryRun: opts.dryRun === true,
          batchSize: opts.batchSize,
          audit: opts.audit,
          progress: (p) => line({ event: 'progress', ...p }),
        });
        line({ event: 'result', ...report });
        if (!report.ok) process.exitCode = 1;
      } finally {
        control.close();
        await client?.close();
      }
    });
}
