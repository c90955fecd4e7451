import { incidentIndexTemplate } from '../incident-docs';

/** The incident template as an earlier release PUT it: without `group.alert_count` and `group.mitre`. */
export function olderIncidentTemplate(index: string): Record<string, unknown> {
  const t = structuredClone(incidentIndexTemplate(index)) as {
    template: { mappings: { properties: { group: { properties: Record<string, unknown> } } } };
  };
  delete t.template.mappings.properties.group.properties['alert_count'];
  delete t.template.mappings.properties.group.properties['mitre'];
  return t;
}
