import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api';
import { collator, fold, formatNumber } from '../format';
import { ErrorText } from '../ui';
import { childrenOf, rollUp, type UnitNode, type UnitRow } from './units-tree';

/**
 * Units of the caller's scope with their incident load, one level at a time: city → district/department →
 * ward/commune, each level with the totals of its subtree. The level lives in the URL (`at`); a filter
 * lists matching units of every level instead.
 */
export function UnitsPage() {
  const { t } = useTranslation();
  const [rows, setRows] = useState<UnitRow[]>([]);
  const [params] = useSearchParams();
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ items: UnitRow[] }>('GET', '/api/v1/console/units')
      .then((r) => setRows(r.items))
      .catch(setError);
  }, []);
  const at = params.get('at') ?? '';
  const nodes = useMemo(() => rollUp(rows), [rows]);
  const shown = useMemo(() => {
    const f = fold(filter);
    const list = f
      ? [...nodes.values()].filter((r) => fold(`${r.name ?? ''} ${r.path}`).includes(f))
      : childrenOf(nodes, at);
    return list.sort((a, b) => b.open - a.open || collator.compare(a.path, b.path));
  }, [nodes, filter, at]);
  const crumbs = at ? at.split('/').map((_, i, segs) => segs.slice(0, i + 1).join('/')) : [];
  const label = (n: UnitNode) =>
    n.name ?? (n.path ? n.path.slice(n.path.lastIndexOf('/') + 1) : t('common.noUnit'));
  return (
    <section aria-labelledby="units-title">
      <h1 id="units-title">{t('units.title')}</h1>
      <nav aria-label={t('units.breadcrumbs')} className="crumbs">
        <ol>
          <li>
            {at ? (
              <Link to="/units">{t('units.all')}</Link>
            ) : (
              <span aria-current="page">{t('units.all')}</span>
            )}
          </li>
          {crumbs.map((p, i) => {
            const n = nodes.get(p);
            const text = n ? label(n) : p;
            return (
              <li key={p}>
                {i === crumbs.length - 1 ? (
                  <span aria-current="page">{text}</span>
                ) : (
                  <Link to={`/units?at=${encodeURIComponent(p)}`}>{text}</Link>
                )}
              </li>
            );
          })}
        </ol>
      </nav>
      <label>
        {t('units.filter')}
        <input value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <ErrorText error={error} />
      <table className="table" data-testid="units">
        <thead>
          <tr>
            <th scope="col">{t('col.unit')}</th>
            <th scope="col">{t('units.path')}</th>
            <th scope="col">{t('units.open')}</th>
            <th scope="col">{t('units.incidents')}</th>
            <th scope="col">{t('units.breached')}</th>
            <th scope="col">{t('units.queue')}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.path}>
              <th scope="row">
                {r.children > 0 ? (
                  <Link to={`/units?at=${encodeURIComponent(r.path)}`} onClick={() => setFilter('')}>
                    {label(r)}
                    <span className="sr-only"> {t('units.drill', { n: formatNumber(r.children) })}</span>
                  </Link>
                ) : (
                  label(r)
                )}
              </th>
              <td>{r.path}</td>
              <td>{formatNumber(r.open)}</td>
              <td>{formatNumber(r.incidents)}</td>
              <td>{formatNumber(r.breached)}</td>
              <td>
                {r.path && (
                  <Link to={`/queue?view=open&unit=${encodeURIComponent(r.path)}`}>
                    {t('units.queue')}
                    <span className="sr-only"> {t('units.openQueue', { name: label(r) })}</span>
                  </Link>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
