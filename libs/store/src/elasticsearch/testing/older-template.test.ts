import { type Client } from '@elastic/elasticsearch';
import { groupingAlert } from '../../contract/incident-grouping.contract.test';
import { incidentIndexTemplate } from '../incident-docs';
import { type ElasticsearchIncidentStore } from '../incident-store';

/** The incident template as an earlier release PUT it: without `group.alert_count` and `group.mitre`. */
export function olderIncidentTemplate(index: string): Record<string, unknown> {
  const t = structuredClone(incidentIndexTemplate(index)) as {
    template: { mappings: { properties: { group: { properties: Record<string, unknown> } } } };
  };
  delete t.template.mappings.properties.group.properties['alert_count'];
  delete t.template.mappings.properties.group.properties['mitre'];
  return t;
}

/**
 * An incident index as an earlier release left it: created under `olderIncidentTemplate`, holding one
 * incident of three alerts of rule r-1 in unit hanoi/ward-1 (at `t0`, one second apart).
 */
export async function seedUnderOlderTemplate(
  client: Client,
  store: ElasticsearchIncidentStore,
  t0: number,
): Promise<void> {
  await client.indices.putIndexTemplate({ name: store.index, ...olderIncidentTemplate(store.index) });
  for (let i = 0; i < 3; i++)
    await store.recordAlert(
      groupingAlert(`a${i}`, new Date(t0 + i * 1000).toISOString(), {
        rule: 'r-1',
        ip: '10.0.0.1',
        unit: ['hanoi', 'ward-1'],
      }),
      15 * 60_000,
    );
  await store.refresh();
}
