/**
 * What the Elasticsearch store installs before its first write: ILM policies per data class, component
 * templates (settings, ECS mappings) and one index template per data stream pattern. Pure functions of the
 * settings, so the bodies are golden-tested and an upgrade is a re-run (PUT replaces; existing backing
 * indices keep their mappings until the next rollover, which is how templates change without downtime).
 */

export const DATA_CLASSES = ['syslog', 'flow', 'alerts'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export interface RetentionSettings {
  /** Days after rollover before the backing index is deleted, per data class. */
  syslogDays: number;
  flowDays: number;
  alertsDays: number;
  /** Drill data is deleted sooner: it only has to outlive the drill's review. */
  drillDays: number;
  /** Days in hot before moving to warm (forcemerged, read-mostly). */
  warmAfterDays: number;
}

export interface LayoutSettings {
  /** Data stream namespace of live data (`logs-citysoc.syslog-<namespace>`). */
  namespace: string;
  /** Namespace drills are written to, so they never mix with live data and expire on their own. */
  drillNamespace: string;
  /** Namespaces searched; undefined = all. */
  readNamespaces?: string[];
  retention: RetentionSettings;
}

export const DEFAULT_LAYOUT: LayoutSettings = {
  namespace: 'default',
  drillNamespace: 'drill',
  retention: { syslogDays: 90, flowDays: 30, alertsDays: 365, drillDays: 14, warmAfterDays: 2 },
};

const NAME_RE = /^[a-z0-9][a-z0-9_]{0,63}$/;

/** Namespaces become part of index names: lowercase, no `-` (the data stream naming scheme's separator). */
export function validateLayout(l: LayoutSettings): void {
  for (const [k, v] of [
    ['namespace', l.namespace],
    ['drillNamespace', l.drillNamespace],
  ] as const) {
    if (!NAME_RE.test(v)) throw new Error(`Elasticsearch ${k} "${v}" must match ${NAME_RE.source}`);
  }
  for (const n of l.readNamespaces ?? [])
    if (!NAME_RE.test(n)) throw new Error(`Elasticsearch read namespace "${n}" must match ${NAME_RE.source}`);
  if (l.namespace === l.drillNamespace)
    throw new Error('drill namespace must differ from the live namespace');
}

export function dataStreamName(cls: DataClass, namespace: string): string {
  return `logs-citysoc.${cls}-${namespace}`;
}

/** Every namespace of a class (live and drill), for reads. */
export function dataStreamPattern(cls: DataClass): string {
  return `logs-citysoc.${cls}-*`;
}

/**
 * What reads cover: every namespace by default (live and drill history), or only the listed ones — a
 * shared test cluster, or a deployment that keeps drills out of the analysts' searches.
 */
export function readTarget(classes: readonly DataClass[], namespaces?: readonly string[]): string {
  return classes
    .flatMap((c) => (namespaces ? namespaces.map((n) => dataStreamName(c, n)) : [dataStreamPattern(c)]))
    .join(',');
}

export function policyName(cls: DataClass | 'drill'): string {
  return `citysoc-${cls}`;
}

export function ilmPolicy(
  deleteAfterDays: number,
  warmAfterDays: number,
): { policy: { _meta: Record<string, unknown>; phases: Record<string, unknown> } } {
  const warm = Math.min(warmAfterDays, deleteAfterDays);
  return {
    policy: {
      _meta: { managed_by: 'citysoc' },
      phases: {
        hot: {
          min_age: '0ms',
          actions: {
            rollover: { max_primary_shard_size: '50gb', max_age: '1d' },
            set_priority: { priority: 100 },
          },
        },
        warm: {
          min_age: `${warm}d`,
          actions: {
            forcemerge: { max_num_segments: 1 },
            readonly: {},
            set_priority: { priority: 50 },
          },
        },
        delete: { min_age: `${deleteAfterDays}d`, actions: { delete: {} } },
      },
    },
  };
}

export function ilmPolicies(r: RetentionSettings): Record<string, ReturnType<typeof ilmPolicy>> {
  return {
    [policyName('syslog')]: ilmPolicy(r.syslogDays, r.warmAfterDays),
    [policyName('flow')]: ilmPolicy(r.flowDays, r.warmAfterDays),
    [policyName('alerts')]: ilmPolicy(r.alertsDays, r.warmAfterDays),
    [policyName('drill')]: ilmPolicy(r.drillDays, r.warmAfterDays),
  };
}

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
const long = { type: 'long' } as const;
const ip = { type: 'ip' } as const;
const date = { type: 'date' } as const;
/** Exact value for filters and aggregations, plus analysed words for full-text search. */
const keywordWithText = { ...keyword, fields: { text: { type: 'match_only_text' } } } as const;
const obj = (properties: Record<string, unknown>) => ({ properties });

const endpoint = obj({
  ip,
  port: long,
  address: keyword,
  domain: keywordWithText,
  bytes: long,
  packets: long,
  mac: keyword,
  user: obj({ name: keywordWithText }),
});

const unit = obj({ id: keyword, name: keyword, path: keyword, criticality: keyword });

/**
 * ECS 8.x types for the fields the pipeline produces. `message` is analysed text (folded like the SQLite
 * store, so "dang nhap" finds "Đăng nhập") with a `wildcard` sub-field that holds the whole value for
 * Sigma's contains/startswith/endswith/re; `process.command_line` is `wildcard` as ECS prescribes.
 */
export const ECS_EVENT_PROPERTIES = {
  '@timestamp': { type: 'date_nanos' },
  message: {
    type: 'text',
    analyzer: 'citysoc_folding',
    fields: { wildcard: { type: 'wildcard', ignore_above: 32766 } },
  },
  event: obj({
    id: keyword,
    created: date,
    ingested: date,
    original: { type: 'keyword', index: false, doc_values: false },
    kind: keyword,
    category: keyword,
    type: keyword,
    action: keyword,
    outcome: keyword,
    dataset: keyword,
    module: keyword,
    provider: keyword,
    code: keyword,
    severity: long,
    timezone: keyword,
  }),
  host: obj({ hostname: keyword, name: keyword, ip }),
  log: obj({
    level: keyword,
    logger: keyword,
    source: obj({ address: keyword }),
    syslog: obj({
      facility: obj({ code: long, name: keyword }),
      severity: obj({ code: long, name: keyword }),
      priority: long,
      hostname: keyword,
      appname: keyword,
      procid: keyword,
      msgid: keyword,
      version: keyword,
      // Sender-defined keys: flattened keeps them searchable without one mapping entry per key.
      structured_data: { type: 'flattened' },
    }),
  }),
  source: endpoint,
  destination: endpoint,
  network: obj({
    transport: keyword,
    protocol: keyword,
    direction: keyword,
    community_id: keyword,
    bytes: long,
    packets: long,
    iana_number: keyword,
  }),
  process: obj({
    name: keyword,
    pid: long,
    executable: keyword,
    command_line: { type: 'wildcard', fields: { text: { type: 'match_only_text' } } },
  }),
  user: obj({ name: keywordWithText, id: keyword, domain: keyword }),
  observer: obj({ hostname: keyword, ip, vendor: keyword, product: keyword, type: keyword }),
  related: obj({ ip, user: keyword, hosts: keyword }),
  tags: keyword,
  labels: { type: 'flattened' },
  citysoc: obj({
    input: obj({ name: keyword, transport: keyword }),
    parser: keyword,
    unit,
    source_unit: unit,
    destination_unit: unit,
  }),
} as const;

export const ALERT_PROPERTIES = {
  '@timestamp': { type: 'date_nanos' },
  id: keyword,
  created_at: date,
  rule: obj({
    id: keyword,
    title: keywordWithText,
    level: keyword,
    version: keyword,
    description: { type: 'match_only_text' },
    author: keyword,
    license: keyword,
    references: keyword,
    tags: keyword,
    path: keyword,
  }),
  entity: keyword,
  event_ids: keyword,
  // The matched event travels whole with the alert; the events streams index it, here it is only stored —
  // except its unit paths, which the caller's unit scope filters alerts on (as SQLite does).
  event: {
    type: 'object',
    dynamic: false,
    properties: {
      citysoc: obj({
        unit: obj({ path: keyword }),
        source_unit: obj({ path: keyword }),
        destination_unit: obj({ path: keyword }),
      }),
    },
  },
  matched_fields: { type: 'flattened' },
} as const;

/** Unknown string fields (raw vendor payloads) become keywords instead of text + keyword pairs. */
const DYNAMIC_TEMPLATES = [{ strings_as_keyword: { match_mapping_type: 'string', mapping: keyword } }];

export function componentTemplates(): Record<string, { template: Record<string, unknown>; _meta: object }> {
  const meta = { managed_by: 'citysoc' };
  return {
    'citysoc@settings': {
      _meta: meta,
      template: {
        settings: {
          index: {
            // A malformed ip or number keeps its document (listed in `_ignored`) instead of losing it.
            mapping: { ignore_malformed: true, total_fields: { limit: 2000 } },
            codec: 'best_compression',
          },
          analysis: {
            analyzer: {
              citysoc_folding: {
                type: 'custom',
                tokenizer: 'standard',
                filter: ['lowercase', 'asciifolding'],
              },
            },
          },
        },
      },
    },
    'citysoc-events@mappings': {
      _meta: meta,
      template: {
        mappings: { dynamic_templates: DYNAMIC_TEMPLATES, properties: ECS_EVENT_PROPERTIES },
      },
    },
    'citysoc-alerts@mappings': {
      _meta: meta,
      template: {
        mappings: { dynamic_templates: DYNAMIC_TEMPLATES, properties: ALERT_PROPERTIES },
      },
    },
  };
}

export interface IndexTemplateBody {
  index_patterns: string[];
  data_stream: Record<string, never>;
  priority: number;
  composed_of: string[];
  template: { settings: { index: { lifecycle: { name: string } } } };
  _meta: Record<string, unknown>;
}

/**
 * One template per class for every namespace, and a more specific one for the drill namespace so drills
 * get their own lifecycle. Priorities sit above Elasticsearch's built-in `logs-*-*` template (100).
 */
export function indexTemplates(l: LayoutSettings): Record<string, IndexTemplateBody> {
  const out: Record<string, IndexTemplateBody> = {};
  for (const cls of DATA_CLASSES) {
    const mappings = cls === 'alerts' ? 'citysoc-alerts@mappings' : 'citysoc-events@mappings';
    const base = (pattern: string, policy: string, priority: number): IndexTemplateBody => ({
      index_patterns: [pattern],
      data_stream: {},
      priority,
      composed_of: ['citysoc@settings', mappings],
      template: { settings: { index: { lifecycle: { name: policy } } } },
      _meta: { managed_by: 'citysoc', data_class: cls },
    });
    out[`citysoc-${cls}`] = base(dataStreamPattern(cls), policyName(cls), 200);
    out[`citysoc-${cls}-drill`] = base(dataStreamName(cls, l.drillNamespace), policyName('drill'), 210);
  }
  return out;
}

/** Mapping type of an event path under the installed ECS mappings (sub-fields included), if mapped. */
export function ecsFieldType(path: string): string | undefined {
  return lookupType(ECS_EVENT_PROPERTIES, path.split('.'));
}

function lookupType(props: Record<string, unknown>, parts: string[]): string | undefined {
  // `@timestamp` and other keys may themselves hold dots only at the top level; try the longest key first.
  for (let n = parts.length; n >= 1; n--) {
    const def = props[parts.slice(0, n).join('.')] as Record<string, unknown> | undefined;
    if (!def) continue;
    const rest = parts.slice(n);
    if (rest.length === 0) return typeof def['type'] === 'string' ? def['type'] : 'object';
    if (def['type'] === 'flattened') return 'flattened';
    const inner = (def['properties'] ?? def['fields']) as Record<string, unknown> | undefined;
    return inner ? lookupType(inner, rest) : undefined;
  }
  return undefined;
}
