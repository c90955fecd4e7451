import { type Command } from 'commander';
import path from 'node:path';
import { eventStoreOptions, incidentStoreOptions, loadConfig, projectRoot } from '@citysoc/config';
import { redisConnection } from '@citysoc/queues';
import {
  Deliverer,
  ReportOutbox,
  ReportPreparer,
  reportSettingsSchema,
  taxiiClientOf,
} from '@citysoc/reports';
import { openConfiguredEventStore, openControlStore, openIncidentStore } from '@citysoc/store';
import { renderFormViHtml, renderFormViMarkdown } from '@citysoc/stix';

const dataDir = () => process.env.CITYSOC_DATA_DIR ?? path.join(projectRoot(), 'data');
const storeSettings = () => loadConfig({ ...incidentStoreOptions, ...eventStoreOptions });

/**
 * `citysoc report render|send`: the national report of one incident, straight from the data folder with the
 * reporter's settings (CITYSOC_TAXII_*, CITYSOC_REPORT_*). `render --format stix` prints the bundle on stdout
 * (the contract of issue 7); `send` stores the version and queues it for the reporter, or with `--now`
 * delivers it from here.
 */
export function registerReport(program: Command, out: NodeJS.WritableStream): void {
  const report = program.command('report').description('Reports to the national cybersecurity centre');
  report
    .command('render')
    .description(
      "Print an incident's report: the STIX 2.1 bundle, or Mẫu 03 in Vietnamese (Markdown or HTML)",
    )
    .argument('<incident-id>')
    .option('--format <format>', 'stix | form-vi', 'stix')
    .option('--html', 'form-vi as HTML instead of Markdown')
    .action(async (id: string, opts: { format: string; html?: boolean }) => {
      if (opts.format !== 'stix' && opts.format !== 'form-vi')
        throw new Error('--format must be stix or form-vi');
      const settings = loadConfig(reportSettingsSchema);
      const control = openControlStore(dataDir());
      const incidents = openIncidentStore(storeSettings(), control);
      const events = openConfiguredEventStore({ ...storeSettings(), dataDir: dataDir() });
      try {
        const p = await new ReportPreparer(control, incidents, events, settings).prepare(id, { force: true });
        if (!p.report) throw new Error(`incident ${id} is not reported: ${p.reason}`);
        if (opts.format === 'stix') out.write(`${JSON.stringify(p.bundle, null, 2)}\n`);
        else
          out.write(
            (opts.html ? renderFormViHtml : renderFormViMarkdown)(p.bundle, {
              timeZone: settings.reportTimeZone,
            }),
          );
      } finally {
        await events.close();
        control.close();
      }
    });
  report
    .command('send')
    .description('Store the current report version of an incident and queue it (or deliver it now)')
    .argument('<incident-id>')
    .option('--now', 'deliver from this process instead of queueing for the reporter')
    .action(async (id: string, opts: { now?: boolean }) => {
      const settings = loadConfig(reportSettingsSchema);
      const redisUrl = process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379';
      const prefix = process.env.CITYSOC_QUEUE_PREFIX ?? 'citysoc';
      const actor = `local:${process.env.USER ?? 'unknown'}`;
      const control = openControlStore(dataDir());
      const incidents = openIncidentStore(storeSettings(), control);
      const events = openConfiguredEventStore({ ...storeSettings(), dataDir: dataDir() });
      try {
        control.reports.annotate(id, { requestedBy: actor });
        const r = await new ReportPreparer(control, incidents, events, settings).prepareAndStore(
          id,
          `cli:${actor}`,
          {
            force: true,
          },
        );
        if (!r.version) throw new Error(`incident ${id} is not reported: drill`);
        control.audit.append({
          actor,
          action: 'cli report.send',
          target: id,
          outcome: 'success',
          detail: { report_id: r.version.id, created: r.created, now: opts.now === true },
        });
        if (opts.now) {
          if (!settings.taxiiUrl || !settings.taxiiCollection)
            throw new Error('--now needs CITYSOC_TAXII_URL and CITYSOC_TAXII_COLLECTION');
          const d = await new Deliverer(control, taxiiClientOf(settings), settings.taxiiCollection).deliver(
            r.version.id,
          );
          out.write(
            `${r.version.id}\t${d.outcome}\tsent ${d.delivery.sent}/${d.delivery.total}\tstatus ${d.delivery.status_ids.join(',') || '-'}${d.outcome === 'delivered' ? '' : `\t${d.delivery.error ?? ''}`}\n`,
          );
          if (d.outcome !== 'delivered') process.exitCode = 1;
          return;
        }
        const redis = redisConnection(redisUrl);
        const outbox = new ReportOutbox(prefix, redis);
        try {
          await outbox.enqueue(r.version.id);
        } finally {
          await outbox.close();
          redis.disconnect();
        }
        out.write(`${r.version.id}\tqueued\t${r.version.report_kind}\t${r.version.object_count} objects\n`);
      } finally {
        await events.close();
        control.close();
      }
    });
}
