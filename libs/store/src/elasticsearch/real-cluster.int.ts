import { randomBytes } from 'node:crypto';
import { eventStoreContract } from '../contract/event-store.contract.test';
import { createElasticsearchClient } from './client';
import { ElasticsearchEventStore } from './event-store';
import { DEFAULT_LAYOUT, dataStreamName } from './templates';

/**
 * The contract against a real Elasticsearch (8.x/9.x). Runs only where ELASTICSEARCH_URL is set (plus
 * ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD and ELASTICSEARCH_CA_FILE as needed); otherwise
 * jest lists every test as skipped. Each test writes to its own namespaces and deletes them afterwards;
 * the templates and ILM policies it installs are the production ones (PUT, so re-running is harmless).
 */
const url = process.env['ELASTICSEARCH_URL'];
const suite = url ? describe : describe.skip;

suite(
  `EventStore contract: real Elasticsearch at ${url ?? '(skipped: set ELASTICSEARCH_URL to run)'}`,
  () => {
    eventStoreContract(async () => {
      const tag = randomBytes(4).toString('hex');
      const namespace = `t${tag}`;
      const drillNamespace = `t${tag}drill`;
      const client = createElasticsearchClient({
        url: url as string,
        ...(process.env['ELASTICSEARCH_API_KEY'] ? { apiKey: process.env['ELASTICSEARCH_API_KEY'] } : {}),
        ...(process.env['ELASTICSEARCH_USERNAME'] ? { username: process.env['ELASTICSEARCH_USERNAME'] } : {}),
        ...(process.env['ELASTICSEARCH_PASSWORD'] ? { password: process.env['ELASTICSEARCH_PASSWORD'] } : {}),
        ...(process.env['ELASTICSEARCH_CA_FILE'] ? { caFile: process.env['ELASTICSEARCH_CA_FILE'] } : {}),
      });
      const store = new ElasticsearchEventStore(client, {
        layout: { ...DEFAULT_LAYOUT, namespace, drillNamespace, readNamespaces: [namespace, drillNamespace] },
        // Read-your-writes for the contract; production leaves refresh to the refresh interval.
        bulk: { refresh: 'wait_for' },
      });
      return {
        store,
        cleanup: async () => {
          const names = (['syslog', 'flow', 'alerts'] as const).flatMap((c) => [
            dataStreamName(c, namespace),
            dataStreamName(c, drillNamespace),
          ]);
          await client.indices.deleteDataStream({ name: names.join(',') }, { ignore: [404] });
          await store.close();
        },
      };
    });
  },
);
