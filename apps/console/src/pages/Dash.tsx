import { BarChart } from 'echarts/charts';
import { AriaComponent, GridComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import { formatNumber } from '../format';
import { ErrorText, Time } from '../ui';

echarts.use([BarChart, GridComponent, TooltipComponent, AriaComponent, CanvasRenderer]);

interface Row {
  key: string;
  incidents: number;
  alerts: number;
}
interface Dash {
  now: string;
  since: string;
  queue: { by_status: Array<{ key: string; count: number }>; breaching_soon: number };
  sla: { incidents: number; breached: number; compliance: number | null };
  detection_latency_ms: {
    alerts: number;
    ingest_to_alert: { p50: number; p95: number } | null;
    event_to_alert: { p50: number; p95: number } | null;
  };
  by_severity: Row[];
  by_unit: Row[];
  by_rule: Row[];
}

function Chart({ rows, label, names }: { rows: Row[]; label: string; names: (k: string) => string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chart.setOption({
      aria: { enabled: true, decal: { show: true } },
      animation: false,
      tooltip: {},
      xAxis: { type: 'category', data: rows.map((r) => names(r.key)) },
      yAxis: { type: 'value' },
      series: [{ type: 'bar', name: label, data: rows.map((r) => r.alerts) }],
    });
    return () => chart.dispose();
  }, [rows, label, names]);
  return <div className="chart" ref={ref} role="img" aria-label={label} />;
}

function RowsTable({
  caption,
  rows,
  link,
  label = (k) => k,
}: {
  caption: string;
  rows: Row[];
  link: (k: string) => string;
  label?: (k: string) => string;
}) {
  const { t } = useTranslation();
  return (
    <table className="table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t('dash.key')}</th>
          <th scope="col">{t('col.alerts')}</th>
          <th scope="col">{t('dash.incidents')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>
              <Link to={link(r.key)}>{r.key ? label(r.key) : t('common.noUnit')}</Link>
            </td>
            <td>{formatNumber(r.alerts)}</td>
            <td>{formatNumber(r.incidents)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Queue health, SLA compliance and the alert landscape of the last 24 h; every chart has a table. */
export function DashPage() {
  const { t } = useTranslation();
  const [d, setD] = useState<Dash | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<Dash>('GET', '/api/v1/console/dashboard').then(setD).catch(setError);
  }, []);
  if (error) return <ErrorText error={error} />;
  if (!d) return <p>{t('common.loading')}</p>;
  const sevName = (k: string) => t(`severity.${k}`);
  const latency = (l: { p50: number; p95: number } | null) =>
    l ? t('dash.latency', { p50: formatNumber(l.p50), p95: formatNumber(l.p95) }) : t('dash.noData');
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">{t('dash.title')}</h1>
      <p>
        {t('dash.window')} <Time iso={d.since} /> – <Time iso={d.now} />
      </p>
      <dl className="facts">
        {d.queue.by_status.map((s) => (
          <div key={s.key}>
            <dt>{t(`status.${s.key}`)}</dt>
            <dd>{formatNumber(s.count)}</dd>
          </div>
        ))}
        <dt>{t('view.breaching')}</dt>
        <dd>{formatNumber(d.queue.breaching_soon)}</dd>
        <dt>{t('dash.sla')}</dt>
        <dd>
          {d.sla.compliance === null
            ? t('dash.noData')
            : `${formatNumber(Math.round(d.sla.compliance * 1000) / 10)} % (${formatNumber(d.sla.breached)}/${formatNumber(d.sla.incidents)})`}
        </dd>
        <dt>{t('dash.latencyIngest')}</dt>
        <dd>{latency(d.detection_latency_ms.ingest_to_alert)}</dd>
        <dt>{t('dash.latencyEvent')}</dt>
        <dd>{latency(d.detection_latency_ms.event_to_alert)}</dd>
      </dl>
      <p>{t('dash.latencyNote', { n: formatNumber(d.detection_latency_ms.alerts) })}</p>
      <p role="note">{t('dash.ingestNote')}</p>
      <h2>{t('dash.bySeverity')}</h2>
      <Chart rows={d.by_severity} label={t('dash.bySeverity')} names={sevName} />
      <RowsTable
        caption={t('dash.bySeverity')}
        rows={d.by_severity}
        link={(k) => `/queue?view=all&severity=${k}`}
      />
      <h2>{t('dash.byUnit')}</h2>
      <RowsTable
        caption={t('dash.byUnit')}
        rows={d.by_unit}
        link={(k) => `/queue?view=all&unit=${encodeURIComponent(k)}`}
      />
      <h2>{t('dash.byRule')}</h2>
      <RowsTable
        caption={t('dash.byRule')}
        rows={d.by_rule}
        link={(k) => `/queue?view=all&rule=${encodeURIComponent(k)}`}
      />
    </section>
  );
}
