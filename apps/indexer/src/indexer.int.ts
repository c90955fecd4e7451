import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Bus, openBus } from '@citysoc/bus';
import { loadConfig } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { ElasticsearchEventStore } from '@citysoc/store';
import { cleanupStreams, readStream, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
import { FakeCluster } from '../../../libs/store/src/elasticsearch/testing/fake-cluster.test';
import { indexerSchema } from './config';
import { IndexerModule } from './indexer.module';

/**
 * The indexer on real JetStream with the Elasticsearch store behind the client's mock: templates are
 * installed at start, a replay is a no-op, and a document Elasticsearch refuses is dead-lettered whole
 * while the rest of its batch is stored and acked.
 */
describe('indexer with the Elasticsearch store', () => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-indexer-'));
  const fake = new FakeCluster();
  let app: INestApplicationContext;
  let bus: Bus;

  beforeAll(async () => {
    fake.itemFault = ({ id }) =>
      id === 'ev-bad'
        ? { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse field [source.port]' }
        : undefined;
    const config = loadConfig(indexerSchema, {
      CITYSOC_STREAM_PREFIX: prefix,
      CITYSOC_DATA_DIR: dir,
      CITYSOC_INDEXER_METRICS_PORT: '-1',
      CITYSOC_STORE: 'elasticsearch',
      CITYSOC_ELASTICSEARCH_URL: 'http://fake-es:9200',
    });
    app = await NestFactory.createApplicationContext(
      IndexerModule.register(
        config,
        () => new ElasticsearchEventStore(fake.client(), { sleep: async () => undefined }),
      ),
      { logger: false },
    );
    await app.init();
    bus = await openBus(testBusSettings(prefix), 'test');
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await bus.close();
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  const ev = (id: string, extra: Partial<EcsEvent> = {}): EcsEvent => ({
    '@timestamp': '2026-11-27T03:00:00.000Z',
    message: `message of ${id}`,
    event: { id, created: '2026-11-27T03:00:00.000Z', module: 'syslog', dataset: 'syslog' },
    ...extra,
  });

  it('installs templates and policies before consuming', () => {
    expect([...fake.indexTemplates.keys()].sort()).toEqual([
      'citysoc-alerts',
      'citysoc-alerts-drill',
      'citysoc-flow',
      'citysoc-flow-drill',
      'citysoc-syslog',
      'citysoc-syslog-drill',
    ]);
    expect(fake.policies.size).toBe(4);
  });

  it('stores the good documents, dead-letters the rejected one with its bytes and reason', async () => {
    const bad = ev('ev-bad', { source: { port: 1 } });
    const publish = (subject: string, doc: object, msgId: string) =>
      bus.publisher.publish({ subject, data: Buffer.from(JSON.stringify(doc)), msgId });
    const events = bus.names.eventsSubject('syslog', 'tcp');
    await publish(events, ev('ev-1'), 'm1');
    await publish(events, bad, 'm2');
    await publish(events, ev('ev-2'), 'm3');
    // The same event again under another message id: Elasticsearch answers 409, the indexer acks it.
    await publish(events, ev('ev-1'), 'm4');
    const alert: Alert = {
      id: 'al-1',
      '@timestamp': '2026-11-27T03:00:00.000Z',
      created_at: '2026-11-27T03:00:01.000Z',
      rule: { id: 'r', title: 'R', level: 'high', version: 'v' },
      entity: 'source.ip:10.0.0.1',
      event_ids: ['ev-1'],
      event: ev('ev-1'),
    };
    await publish(bus.names.alertsSubject('high'), alert, 'm5');

    await waitFor(() => fake.allDocs().length === 3, 'two events and one alert stored', 15_000);
    const dead = await waitFor(
      async () => {
        const msgs = await readStream(bus.names.deadletterStream);
        return msgs.length > 0 ? msgs : undefined;
      },
      'the rejected event in the dead-letter stream',
      15_000,
    );
    expect(
      fake
        .allDocs()
        .map((d) => `${d.stream}/${d.id}`)
        .sort(),
    ).toEqual([
      'logs-citysoc.alerts-default/al-1',
      'logs-citysoc.syslog-default/ev-1',
      'logs-citysoc.syslog-default/ev-2',
    ]);
    expect(dead).toHaveLength(1);
    const [d] = dead;
    expect(d?.subject).toBe(`${prefix}deadletter.indexer.store_rejected`);
    expect(JSON.parse(Buffer.from(d?.data ?? []).toString('utf8'))).toEqual(bad);
    expect(d?.headers?.get('Citysoc-Reason')).toBe('store_rejected');
    expect(d?.headers?.get('Citysoc-Id')).toBe('ev-bad');
    expect(d?.headers?.get('Citysoc-Detail')).toBe(
      '400 mapper_parsing_exception: failed to parse field [source.port]',
    );
  }, 30_000);
});
