import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api';
import { fold, formatNumber, formatTime } from '../format';
import { ErrorText, Severity, Time } from '../ui';

interface RuleRow {
  id: string;
  title: string;
  level: string;
  status: string | null;
  kind: string;
  enabled: boolean;
  reason: string | null;
  tactics: string[];
  techniques: string[];
  file: string | null;
  on_disk: boolean;
  incidents: number;
  alerts: number;
  false_positive: number;
  closed: number;
  fp_rate: number | null;
  last_seen: string | null;
  cost: { evaluations: number; matches: number; seconds: number } | null;
}

interface Catalog {
  items: RuleRow[];
  errors: Array<{ file: string; message: string }>;
  loaded_at: string;
  /** The detectors' counters behind the cost columns; null when NATS could not be read. */
  cost: { instances: number; since: string | null; at: string | null; events: number } | null;
}

/**
 * Every rule on disk with its Sigma status and whether the engine runs it, joined with what it raised in
 * the caller's scope: alerts, incidents and the false-positive rate from analysts' dispositions. Filters
 * live in the URL.
 */
export function RulesPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const [data, setData] = useState<Catalog | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<Catalog>('GET', '/api/v1/console/rule-catalog').then(setData).catch(setError);
  }, []);
  const q = params.get('q') ?? '';
  const only = params.get('only') ?? '';
  const technique = params.get('technique') ?? '';
  const rows = useMemo(() => {
    const words = fold(q).split(/\s+/).filter(Boolean);
    return (data?.items ?? []).filter((r) => {
      if (only === 'hits' && r.alerts === 0) return false;
      if (only === 'disabled' && r.enabled) return false;
      if (technique && !r.techniques.includes(technique)) return false;
      const hay = fold(`${r.id} ${r.title} ${r.tactics.join(' ')} ${r.techniques.join(' ')}`);
      return words.every((w) => hay.includes(w));
    });
  }, [data, q, only, technique]);
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  return (
    <section aria-labelledby="rules-title">
      <h1 id="rules-title">{t('rules.title')}</h1>
      <ErrorText error={error} />
      <div className="filters" role="search">
        <label>
          {t('rules.filter')}
          <input type="search" value={q} onChange={(e) => set('q', e.target.value)} />
        </label>
        <label>
          {t('rules.show')}
          <select value={only} onChange={(e) => set('only', e.target.value)}>
            <option value="">{t('rules.showAll')}</option>
            <option value="hits">{t('rules.showHits')}</option>
            <option value="disabled">{t('rules.showDisabled')}</option>
          </select>
        </label>
        {technique && (
          <button type="button" onClick={() => set('technique', '')}>
            {t('rules.clearTechnique', { id: technique })}
          </button>
        )}
      </div>
      {data &&
        (data.cost && data.cost.instances > 0 ? (
          <p data-testid="cost-window">
            {t('rules.costWindow', {
              n: formatNumber(data.cost.instances),
              since: formatTime(data.cost.since, i18n.language),
              at: formatTime(data.cost.at, i18n.language),
            })}
          </p>
        ) : (
          <p data-testid="cost-window">{t('rules.costUnavailable')}</p>
        ))}
      {data === null && !error ? (
        <p>{t('common.loading')}</p>
      ) : (
        <table className="table" data-testid="rules">
          <caption>
            {t('rules.count', { n: formatNumber(rows.length), total: formatNumber(data?.items.length ?? 0) })}
          </caption>
          <thead>
            <tr>
              <th scope="col">{t('col.rule')}</th>
              <th scope="col">{t('col.severity')}</th>
              <th scope="col">{t('rules.status')}</th>
              <th scope="col">{t('rules.engine')}</th>
              <th scope="col">{t('rules.attack')}</th>
              <th scope="col">{t('col.alerts')}</th>
              <th scope="col">{t('rules.incidents')}</th>
              <th scope="col">{t('rules.fpRate')}</th>
              <th scope="col">{t('rules.evaluations')}</th>
              <th scope="col">{t('rules.matches')}</th>
              <th scope="col">{t('rules.cost')}</th>
              <th scope="col">{t('col.lastSeen')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  {r.incidents ? (
                    <Link to={`/queue?view=all&rule=${encodeURIComponent(r.id)}`}>{r.title}</Link>
                  ) : (
                    r.title
                  )}
                  <br />
                  <code className="rule-id">{r.id}</code>
                </th>
                <td>{r.level && <Severity level={r.level} />}</td>
                <td>{r.status ?? ''}</td>
                <td>
                  {!r.on_disk
                    ? t('rules.notOnDisk')
                    : r.enabled
                      ? t('rules.enabled')
                      : t('rules.unsupported', { reason: r.reason ?? '' })}
                </td>
                <td>{[...r.tactics, ...r.techniques].join(', ')}</td>
                <td>{formatNumber(r.alerts)}</td>
                <td>{formatNumber(r.incidents)}</td>
                <td>
                  {r.fp_rate === null
                    ? t('rules.noDispositions')
                    : `${formatNumber(Math.round(100 * r.fp_rate))} % (${formatNumber(r.false_positive)}/${formatNumber(r.closed)})`}
                </td>
                <td>{r.cost ? formatNumber(r.cost.evaluations) : t('rules.noCost')}</td>
                <td>{r.cost ? formatNumber(r.cost.matches) : ''}</td>
                <td>
                  {r.cost
                    ? t('rules.costValue', {
                        ms: formatNumber(Math.round(r.cost.seconds * 1e4) / 10),
                        us: formatNumber(
                          r.cost.evaluations
                            ? Math.round((r.cost.seconds * 1e7) / r.cost.evaluations) / 10
                            : 0,
                        ),
                      })
                    : ''}
                </td>
                <td>{r.last_seen && <Time iso={r.last_seen} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.errors.length > 0 && (
        <>
          <h2>{t('rules.loadErrors')}</h2>
          <ul>
            {data.errors.map((e, i) => (
              <li key={i}>
                <code>{e.file}</code>: {e.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
