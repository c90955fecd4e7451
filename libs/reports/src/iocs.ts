import { type ControlStore } from '@citysoc/store';
import { type TaxiiClient, iocsFromIndicator } from '@citysoc/stix';

export interface PullResult {
  indicators: number;
  iocs: number;
  added: number;
  skipped: number;
}

/**
 * Pull side of the exchange: indicators of the national collection added since the last pull become IOCs
 * (public addresses, domains, file hashes) in the `iocs` table, which enrichment loads into an IocSet. The
 * watermark is the server's X-TAXII-Date-Added-Last, stored only after the page's IOCs are, so a crash
 * re-reads a page rather than skipping it.
 */
export async function pullIocs(
  control: ControlStore,
  client: TaxiiClient,
  collection: string,
): Promise<PullResult> {
  const key = `ioc-pull/${collection}`;
  const out: PullResult = { indicators: 0, iocs: 0, added: 0, skipped: 0 };
  let next: string | undefined;
  const addedAfter = control.reports.getMeta(key);
  for (;;) {
    const page = await client.getObjects(collection, {
      types: ['indicator'],
      ...(addedAfter ? { addedAfter } : {}),
      ...(next ? { next } : {}),
      limit: 500,
    });
    const rows = [];
    for (const o of page.objects ?? []) {
      out.indicators++;
      const r = iocsFromIndicator(o);
      out.skipped += r.skipped;
      for (const i of r.iocs)
        rows.push({
          type: i.type,
          value: i.value,
          source: `national:${collection}`,
          indicator_id: i.indicatorId,
          valid_until: i.validUntil,
        });
    }
    out.iocs += rows.length;
    out.added += control.reports.upsertIocs(rows);
    if (!page.more || !page.next) {
      if (page.dateAddedLast) control.reports.setMeta(key, page.dateAddedLast);
      return out;
    }
    next = page.next;
  }
}
