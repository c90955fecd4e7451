import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { api, type EcsEvent } from '../api';
import { isoToLocalInput, localInputToIso, str } from '../format';
import { ErrorText, Time } from '../ui';

/** Events search: the query, time range and field filters live in the URL. */
export function HuntPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const [items, setItems] = useState<EcsEvent[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const key = params.toString();
  useEffect(() => {
    const u = new URLSearchParams();
    for (const k of ['q', 'from', 'to']) {
      const v = params.get(k);
      if (v) u.set(k, v);
    }
    for (const f of params.getAll('field')) u.append('field', f);
    u.set('limit', '200');
    setError(null);
    api<{ items: EcsEvent[] }>('GET', `/api/v1/events?${u.toString()}`)
      .then((r) => setItems(r.items))
      .catch((err: unknown) => {
        setItems([]);
        setError(err);
      });
  }, [key, params]);
  return (
    <section aria-labelledby="hunt-title">
      <h1 id="hunt-title">{t('hunt.title')}</h1>
      <form
        role="search"
        className="filters"
        key={key}
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          const q = str(f.get('q') ?? '');
          const from = localInputToIso(str(f.get('from') ?? ''));
          const to = localInputToIso(str(f.get('to') ?? ''));
          const field = str(f.get('field') ?? '');
          if (q) next.set('q', q);
          if (from) next.set('from', from);
          if (to) next.set('to', to);
          for (const x of field.split(/\s+/).filter(Boolean)) next.append('field', x);
          setParams(next);
        }}
      >
        <label>
          {t('hunt.query')}
          <input name="q" defaultValue={params.get('q') ?? ''} />
        </label>
        <label>
          {t('hunt.fields')}
          <input
            name="field"
            defaultValue={params.getAll('field').join(' ')}
            placeholder="source.ip:10.0.0.1"
          />
        </label>
        <label>
          {t('queue.from')}
          <input type="datetime-local" name="from" defaultValue={isoToLocalInput(params.get('from'))} />
        </label>
        <label>
          {t('queue.to')}
          <input type="datetime-local" name="to" defaultValue={isoToLocalInput(params.get('to'))} />
        </label>
        <button type="submit">{t('hunt.run')}</button>
      </form>
      <ErrorText error={error} />
      <EventsTable items={items} />
    </section>
  );
}

export function EventsTable({ items }: { items: EcsEvent[] | null }) {
  const { t } = useTranslation();
  if (items === null) return <p>{t('common.loading')}</p>;
  return (
    <table className="table" data-testid="events">
      <caption>{t('hunt.results', { count: items.length })}</caption>
      <thead>
        <tr>
          <th scope="col">{t('col.time')}</th>
          <th scope="col">{t('hunt.source')}</th>
          <th scope="col">{t('hunt.destination')}</th>
          <th scope="col">{t('hunt.message')}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((e, i) => (
          <tr key={e.id ?? i}>
            <td>
              <Time iso={e['@timestamp']} />
            </td>
            <td>{e.source?.ip ?? ''}</td>
            <td>{e.destination?.ip ?? ''}</td>
            <td>{e.message ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
