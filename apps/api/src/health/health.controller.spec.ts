import { type Redis } from 'ioredis';
import { type NatsConnection } from 'nats';
import { type ComponentMetrics } from '@citysoc/observability';
import { type IncidentQueue, type NotifyQueue } from '@citysoc/queues';
import { type ControlStore, type EventStore, type IncidentStore } from '@citysoc/store';
import { HealthController } from './health.controller';

function scrape(slaBreachCounts: IncidentStore['slaBreachCounts']): Promise<string> {
  const metrics = { text: async () => '# component metrics\n' } as unknown as ComponentMetrics;
  const queue = {
    counts: async () => ({ waiting: 2 }),
    oldestWaitMs: async () => 1500,
  } as unknown as IncidentQueue;
  const notify = { counts: async () => ({ failed: 0 }) } as unknown as NotifyQueue;
  const incidents = { slaBreachCounts } as unknown as IncidentStore;
  return new HealthController(
    metrics,
    {} as NatsConnection,
    {} as Redis,
    {} as EventStore,
    {} as ControlStore,
    incidents,
    queue,
    notify,
  ).prometheus();
}

describe('GET /metrics', () => {
  it('exports the SLA breach gauges and the store as up when the incident store answers', async () => {
    const text = await scrape(async () => ({
      real: [{ kind: 'acknowledge', severity: 'high', n: 3 }],
      drill: [{ kind: 'resolve', severity: 'low', n: 1 }],
    }));
    expect(text).toMatch(/^citysoc_incident_store_up 1$/m);
    expect(text).toMatch(/^citysoc_incident_sla_breaches\{kind="acknowledge",severity="high"\} 3$/m);
    expect(text).toMatch(/^citysoc_drill_incident_sla_breaches\{kind="resolve",severity="low"\} 1$/m);
  });

  it('still answers when the incident store fails, with the store down and the queue gauges kept', async () => {
    const text = await scrape(async () => {
      throw new Error('connect ECONNREFUSED elasticsearch:9200');
    });
    expect(text).toMatch(/^citysoc_incident_store_up 0$/m);
    expect(text).not.toMatch(/^citysoc_incident_sla_breaches\{/m);
    expect(text).toMatch(/^citysoc_incident_queue_jobs\{state="waiting"\} 2$/m);
    expect(text).toMatch(/^citysoc_incident_queue_oldest_wait_seconds 1.5$/m);
    expect(text).toContain('# component metrics');
  });
});
