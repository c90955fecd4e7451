import { type Client, errors } from '@elastic/elasticsearch';

/** What `upgradeIndexMappings` did to one existing index. */
export interface MappingUpgrade {
  index: string;
  /** Dotted paths the template maps and the index did not (now mapped). */
  added: string[];
  /** The `_update_by_query` task that re-indexes the documents written before (in place, `_source` as is). */
  task?: string;
}

type Properties = Record<string, Record<string, unknown>>;

/** Leaf paths of a `properties` tree (sub-fields under `fields` included), each with its definition. */
export function mappedPaths(props: Properties | undefined, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, def] of Object.entries(props ?? {})) {
    const p = prefix ? `${prefix}.${name}` : name;
    const children = def['properties'] as Properties | undefined;
    if (children) for (const [k, v] of mappedPaths(children, p)) out.set(k, v);
    else out.set(p, typeof def['type'] === 'string' ? def['type'] : 'object');
    const fields = def['fields'] as Properties | undefined;
    if (fields) for (const [k, v] of mappedPaths(fields, p)) out.set(k, v);
  }
  return out;
}

/**
 * Brings existing regular indices up to the template's mapping. A re-PUT index template only reaches indices
 * created after it, so an incident index from an earlier release keeps its old mapping and every view over a
 * field added since reads zeros. Adding fields is safe online: the template's properties are PUT on the index
 * (existing fields are unchanged), then an `_update_by_query` (conflicts proceed, not
 * awaited) indexes the documents written before with their stored `_source`. A concurrent incident write that
 * meets the new `_seq_no` gets the 409 it already handles. Idempotent: an index that maps every field is left
 * alone, so only the first start after an upgrade starts a task. A field whose type changed cannot be fixed
 * in place: that throws before anything is written, naming the fields.
 */
export async function upgradeIndexMappings(
  client: Client,
  indices: string[],
  properties: Properties,
): Promise<MappingUpgrade[]> {
  const wanted = mappedPaths(properties);
  const done: MappingUpgrade[] = [];
  for (const index of indices) {
    let live: Properties | undefined;
    try {
      const r = (await client.indices.getMapping({ index })) as Record<
        string,
        { mappings?: { properties?: Properties } }
      >;
      // The answer is keyed by the concrete index (an alias resolves to its index).
      live = Object.values(r)[0]?.mappings?.properties ?? {};
    } catch (e) {
      if (e instanceof errors.ResponseError && e.statusCode === 404) continue; // created later, from the template
      throw e;
    }
    const have = mappedPaths(live);
    const changed = [...wanted].filter(([p, type]) => have.has(p) && have.get(p) !== type);
    if (changed.length > 0)
      throw new Error(
        `index ${index} maps ${changed.map(([p, type]) => `${p} as ${have.get(p)} (this release: ${type})`).join(', ')}: a changed type needs a new index (reindex into it, then point the store at it); nothing was changed`,
      );
    const added = [...wanted.keys()].filter((p) => !have.has(p));
    if (added.length === 0) continue;
    await client.indices.putMapping({ index, properties });
    const r = await client.updateByQuery({ index, conflicts: 'proceed', wait_for_completion: false });
    done.push({ index, added, ...(r.task !== undefined ? { task: String(r.task) } : {}) });
  }
  return done;
}
