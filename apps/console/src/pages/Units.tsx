import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import { collator, fold, formatNumber } from '../format';
import { ErrorText } from '../ui';

interface UnitRow {
  path: string;
  name: string | null;
  incidents: number;
  open: number;
  breached: number;
}

/** Units of the caller's scope (ward/commune → district/department) with their incident load. */
export function UnitsPage() {
  const { t } = useTranslation();
  const [rows, setRows] = useState<UnitRow[]>([]);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ items: UnitRow[] }>('GET', '/api/v1/console/units')
      .then((r) => setRows(r.items))
      .catch(setError);
  }, []);
  const shown = useMemo(() => {
    const f = fold(filter);
    return rows
      .filter((r) => !f || fold(`${r.name ?? ''} ${r.path}`).includes(f))
      .sort((a, b) => collator.compare(a.path, b.path));
  }, [rows, filter]);
  return (
    <section aria-labelledby="units-title">
      <h1 id="units-title">{t('units.title')}</h1>
      <label>
        {t('units.filter')}
        <input value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <ErrorText error={error} />
      <table className="table">
        <thead>
          <tr>
            <th scope="col">{t('col.unit')}</th>
            <th scope="col">{t('units.path')}</th>
            <th scope="col">{t('units.open')}</th>
            <th scope="col">{t('units.incidents')}</th>
            <th scope="col">{t('units.breached')}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.path}>
              <td>
                <Link to={`/queue?view=open&unit=${encodeURIComponent(r.path)}`}>
                  {r.name ?? t('common.noUnit')}
                </Link>
              </td>
              <td style={{ paddingLeft: `${r.path.split('/').length}em` }}>{r.path}</td>
              <td>{formatNumber(r.open)}</td>
              <td>{formatNumber(r.incidents)}</td>
              <td>{formatNumber(r.breached)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
