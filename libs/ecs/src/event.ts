/**
 * The event shape every stage exchanges: a subset of the Elastic Common Schema (ECS 8.x) plus a small
 * `citysoc.*` extension. Field names follow ECS exactly so documents can go to Elasticsearch unchanged and
 * Sigma field mappings target one vocabulary.
 */
export interface EcsSyslog {
  facility?: { code: number; name: string };
  severity?: { code: number; name: string };
  priority?: number;
  hostname?: string;
  appname?: string;
  procid?: string;
  msgid?: string;
  version?: string;
  structured_data?: Record<string, Record<string, string | string[]>>;
}

export interface EcsEndpoint {
  ip?: string;
  port?: number;
  address?: string;
  domain?: string;
  bytes?: number;
  packets?: number;
  mac?: string;
  user?: { name?: string };
}

export interface UnitAttribution {
  id: string;
  name: string;
  /** Unit ids from the city down to this unit. */
  path: string[];
  criticality: 'low' | 'medium' | 'high' | 'critical';
}

export interface CitysocMeta {
  /** Listener that accepted the bytes, e.g. `syslog-tcp`. */
  input?: { name: string; transport: 'udp' | 'tcp' | 'tls' };
  /** Parser that produced the document (`rfc5424`, `rfc3164`, `cef`…). */
  parser?: string;
  /** City unit that owns the sending device's address (filled by enrichment). */
  unit?: UnitAttribution;
  /** City units that own `source.ip` and `destination.ip`. */
  source_unit?: UnitAttribution;
  destination_unit?: UnitAttribution;
  /** Name of the sending device in the collector's source registry (CITYSOC_SYSLOG_SOURCES_FILE). */
  source_name?: string;
  /** Set by the detector when an address or domain of the event is a national IOC (details in `threat`). */
  ioc?: { matched: true; fields: string[]; indicators: string[] };
}

export interface EcsEvent {
  '@timestamp': string;
  message?: string;
  event: {
    id: string;
    created: string;
    ingested?: string;
    original?: string;
    kind?: 'event' | 'alert' | 'metric' | 'state' | 'signal' | 'pipeline_error';
    category?: string[];
    type?: string[];
    action?: string;
    outcome?: 'success' | 'failure' | 'unknown';
    dataset?: string;
    module?: string;
    provider?: string;
    code?: string;
    severity?: number;
    timezone?: string;
  };
  host?: { hostname?: string; name?: string; ip?: string[] };
  log?: { syslog?: EcsSyslog; level?: string; logger?: string; source?: { address?: string } };
  source?: EcsEndpoint;
  destination?: EcsEndpoint;
  network?: {
    transport?: string;
    protocol?: string;
    direction?: string;
    community_id?: string;
    bytes?: number;
    packets?: number;
    iana_number?: string;
  };
  process?: { name?: string; pid?: number; command_line?: string; executable?: string };
  user?: { name?: string; id?: string; domain?: string };
  observer?: { hostname?: string; ip?: string[]; vendor?: string; product?: string; type?: string };
  related?: { ip?: string[]; user?: string[]; hosts?: string[] };
  tags?: string[];
  labels?: Record<string, string>;
  citysoc?: CitysocMeta;
  [field: string]: unknown;
}

/** Reads a dotted ECS path (`log.syslog.appname`) from a nested document; also accepts flat dotted keys. */
export function getField(doc: unknown, path: string): unknown {
  if (doc === null || typeof doc !== 'object') return undefined;
  const rec = doc as Record<string, unknown>;
  if (path in rec) return rec[path];
  let cur: unknown = doc;
  let rest = path;
  while (rest.length > 0) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const obj = cur as Record<string, unknown>;
    // Try the longest dotted prefix that exists as a key, so `{"a.b": {"c": 1}}` resolves `a.b.c`.
    let dot = rest.length;
    let found = false;
    while (dot > 0) {
      const key = rest.slice(0, dot);
      if (key in obj) {
        cur = obj[key];
        rest = dot < rest.length ? rest.slice(dot + 1) : '';
        found = true;
        break;
      }
      dot = rest.lastIndexOf('.', dot - 1);
    }
    if (!found) return undefined;
  }
  return cur;
}
