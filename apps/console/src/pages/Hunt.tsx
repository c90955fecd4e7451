import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { api, ApiError, type EcsEvent, getSession } from '../api';
import { formatNumber, isoToLocalInput, localInputToIso, str } from '../format';
import { ErrorText, Time } from '../ui';
import { PinEventDialog } from './PinEvent';

/** Fields whose top values the hunt page shows unless the analyst picks others. */
const DEFAULT_TOP = ['event.dataset', 'source.ip', 'destination.ip', 'destination.port', 'user.name'];

/** ECS fields the collectors fill, offered as completions in the field inputs. */
export const ECS_FIELDS = [
  '@timestamp',
  'message',
  'event.dataset',
  'event.module',
  'event.kind',
  'event.category',
  'event.action',
  'event.outcome',
  'event.severity',
  'source.ip',
  'source.port',
  'destination.ip',
  'destination.port',
  'network.transport',
  'network.protocol',
  'network.bytes',
  'network.packets',
  'user.name',
  'host.name',
  'host.hostname',
  'host.ip',
  'process.name',
  'process.pid',
  'log.level',
  'log.syslog.appname',
  'log.syslog.hostname',
  'log.syslog.facility.name',
  'log.syslog.severity.name',
  'observer.name',
  'observer.type',
  'url.original',
  'dns.question.name',
  'http.request.method',
  'http.response.status_code',
  'user_agent.original',
];

interface Aggregates {
  total: number;
  intervalMs: number;
  histogram: Array<{ start: string; count: number }>;
  top: Record<string, Array<{ value: string; count: number }>>;
}

interface SavedView {
  id: string;
  owner: string;
  name: string;
  query: string;
  shared: boolean;
}

/** The part of the URL a view or an aggregate request depends on (not UI-only keys like `top`). */
function searchParams(params: URLSearchParams): URLSearchParams {
  const u = new URLSearchParams();
  for (const k of ['q', 'from', 'to']) {
    const v = params.get(k);
    if (v) u.set(k, v);
  }
  for (const f of params.getAll('field')) u.append('field', f);
  return u;
}

/** Events search: the query, time range, field filters and top-value fields live in the URL. */
export function HuntPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const [items, setItems] = useState<EcsEvent[] | null>(null);
  const [aggs, setAggs] = useState<Aggregates | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pinning, setPinning] = useState<EcsEvent | null>(null);
  const [announce, setAnnounce] = useState('');
  const key = params.toString();
  const topFields = params.getAll('top').length ? params.getAll('top') : DEFAULT_TOP;
  useEffect(() => {
    const u = searchParams(params);
    const a = new URLSearchParams(u);
    for (const f of params.getAll('top').length ? params.getAll('top') : DEFAULT_TOP) a.append('top', f);
    u.set('limit', '200');
    setError(null);
    api<{ items: EcsEvent[] }>('GET', `/api/v1/events?${u.toString()}`)
      .then((r) => setItems(r.items))
      .catch((err: unknown) => {
        setItems([]);
        setError(err);
      });
    api<Aggregates>('GET', `/api/v1/console/hunt/aggregate?${a.toString()}`)
      .then(setAggs)
      .catch((err: unknown) => {
        setAggs(null);
        setError(err);
      });
  }, [key, params]);
  const addFilter = (field: string, value: string) => {
    const next = new URLSearchParams(params);
    const existing = next.getAll('field').filter((f) => !f.startsWith(`${field}:`));
    next.delete('field');
    for (const f of existing) next.append('field', f);
    next.append('field', `${field}:${value}`);
    setParams(next);
  };
  const zoom = (start: string, intervalMs: number) => {
    const next = new URLSearchParams(params);
    next.set('from', start);
    next.set('to', new Date(Date.parse(start) + intervalMs).toISOString());
    setParams(next);
  };
  return (
    <section aria-labelledby="hunt-title">
      <h1 id="hunt-title">{t('hunt.title')}</h1>
      <SavedViews current={params} onOpen={(q) => setParams(new URLSearchParams(q))} />
      <datalist id="ecs-fields">
        {ECS_FIELDS.map((f) => (
          <option key={f} value={f} />
        ))}
      </datalist>
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
          const top = str(f.get('top') ?? '');
          if (q) next.set('q', q);
          if (from) next.set('from', from);
          if (to) next.set('to', to);
          for (const x of field.split(/\s+/).filter(Boolean)) next.append('field', x);
          const tops = top.split(/[\s,]+/).filter(Boolean);
          if (tops.join(' ') !== DEFAULT_TOP.join(' ')) for (const x of tops) next.append('top', x);
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
            list="ecs-fields"
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
        <label>
          {t('hunt.topFields')}
          <input name="top" list="ecs-fields" defaultValue={topFields.join(' ')} />
        </label>
        <button type="submit">{t('hunt.run')}</button>
      </form>
      <ErrorText error={error} />
      {aggs && <Histogram aggs={aggs} onZoom={zoom} />}
      {aggs && <TopValues aggs={aggs} fields={topFields} onPick={addFilter} />}
      <p role="status" data-testid="pin-status">
        {announce}
      </p>
      <EventsTable items={items} onPin={setPinning} />
      {pinning && (
        <PinEventDialog
          eventId={eventIdOf(pinning) ?? ''}
          summary={str(pinning.message ?? '')}
          fromIncident={params.get('incident') ?? undefined}
          onClose={() => setPinning(null)}
          onDone={(msg) => {
            setPinning(null);
            setAnnounce(msg);
          }}
        />
      )}
    </section>
  );
}

/** Bars for the eye (hidden from screen readers) and the same counts as a table of zoom buttons. */
function Histogram({ aggs, onZoom }: { aggs: Aggregates; onZoom: (start: string, ms: number) => void }) {
  const { t } = useTranslation();
  const max = Math.max(1, ...aggs.histogram.map((b) => b.count));
  const W = 720;
  const H = 90;
  const bw = aggs.histogram.length ? W / aggs.histogram.length : W;
  const minutes = Math.round(aggs.intervalMs / 60_000);
  return (
    <figure className="histogram" data-testid="histogram">
      <figcaption>
        {t('hunt.histogram', {
          total: formatNumber(aggs.total),
          interval:
            aggs.intervalMs < 60_000
              ? t('hunt.seconds', { n: aggs.intervalMs / 1000 })
              : t('hunt.minutes', { n: formatNumber(minutes) }),
        })}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} aria-hidden="true" preserveAspectRatio="none">
        {aggs.histogram.map((b, i) => {
          const h = Math.max(2, (b.count / max) * (H - 4));
          return (
            <rect
              key={b.start}
              x={i * bw + 1}
              y={H - h}
              width={Math.max(1, bw - 2)}
              height={h}
              className="bar"
              onClick={() => onZoom(b.start, aggs.intervalMs)}
            />
          );
        })}
      </svg>
      <details>
        <summary>{t('hunt.bucketsTable')}</summary>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t('col.time')}</th>
              <th scope="col">{t('hunt.count')}</th>
            </tr>
          </thead>
          <tbody>
            {aggs.histogram.map((b) => (
              <tr key={b.start}>
                <td>
                  <button type="button" className="link" onClick={() => onZoom(b.start, aggs.intervalMs)}>
                    <span className="sr-only">{t('hunt.zoom')} </span>
                    <Time iso={b.start} />
                  </button>
                </td>
                <td>{formatNumber(b.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function TopValues({
  aggs,
  fields,
  onPick,
}: {
  aggs: Aggregates;
  fields: string[];
  onPick: (field: string, value: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="top-values" data-testid="top-values">
      {fields.map((f) => {
        const vals = aggs.top[f] ?? [];
        const max = Math.max(1, ...vals.map((v) => v.count));
        return (
          <section key={f} aria-label={t('hunt.topOf', { field: f })}>
            <h2>
              <code>{f}</code>
            </h2>
            {vals.length === 0 ? (
              <p>{t('hunt.noValues')}</p>
            ) : (
              <ul>
                {vals.map((v) => (
                  <li key={v.value}>
                    <button
                      type="button"
                      className="link"
                      onClick={() => onPick(f, v.value)}
                      title={t('hunt.filterOn', { field: f, value: v.value })}
                    >
                      {v.value}
                    </button>{' '}
                    <span className="count">{formatNumber(v.count)}</span>
                    <span className="meter" style={{ width: `${(v.count / max) * 100}%` }} />
                  </li>
                ))}
              </ul>
            )}
          </section>
        );
      })}
    </div>
  );
}

/** Named searches: the caller's own (deletable) and those colleagues shared. */
function SavedViews({ current, onOpen }: { current: URLSearchParams; onOpen: (query: string) => void }) {
  const { t } = useTranslation();
  const [views, setViews] = useState<SavedView[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const me = getSession()?.username;
  const load = useCallback(() => {
    api<{ items: SavedView[] }>('GET', '/api/v1/console/views?page=hunt')
      .then((r) => setViews(r.items))
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  const currentQuery = (() => {
    const u = searchParams(current);
    for (const f of current.getAll('top')) u.append('top', f);
    return u.toString();
  })();
  const selected = views.find((v) => v.query === currentQuery);
  return (
    <div className="toolbar saved-views">
      <label>
        {t('hunt.views')}
        <select
          value={selected?.id ?? ''}
          onChange={(e) => {
            const v = views.find((x) => x.id === e.target.value);
            if (v) onOpen(v.query);
          }}
        >
          <option value="">{t('hunt.pickView')}</option>
          {views.map((v) => (
            <option key={v.id} value={v.id}>
              {v.owner === me ? v.name : t('hunt.sharedBy', { name: v.name, owner: v.owner })}
            </option>
          ))}
        </select>
      </label>
      {selected && selected.owner === me && (
        <button
          type="button"
          onClick={() => {
            setError(null);
            api('DELETE', `/api/v1/console/views/${selected.id}`).then(load).catch(setError);
          }}
        >
          {t('hunt.deleteView')}
        </button>
      )}
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const name = str(f.get('name') ?? '').trim();
          if (!name) return;
          setError(null);
          setSaved(null);
          api<SavedView>('POST', '/api/v1/console/views', {
            page: 'hunt',
            name,
            query: currentQuery,
            shared: f.get('shared') === 'on',
          })
            .then((v) => {
              setSaved(v.name);
              load();
            })
            .catch((err: unknown) => setError(err instanceof ApiError ? err : new Error(String(err))));
        }}
      >
        <label>
          {t('hunt.viewName')}
          <input name="name" maxLength={80} required />
        </label>
        <label>
          <input type="checkbox" name="shared" />
          {t('hunt.shareView')}
        </label>
        <button type="submit">{t('hunt.saveView')}</button>
      </form>
      <p role="status" className="status">
        {saved ? t('hunt.viewSaved', { name: saved }) : ''}
      </p>
      <ErrorText error={error} />
    </div>
  );
}

/** The event's id as the store knows it (what evidence pins refer to), if it has one. */
export function eventIdOf(e: EcsEvent): string | undefined {
  const id = e.event?.id;
  return typeof id === 'string' ? id : undefined;
}

export function EventsTable({
  items,
  onPin,
}: {
  items: EcsEvent[] | null;
  /** When given, each event with an id gets a button that pins it as evidence. */
  onPin?: (e: EcsEvent) => void;
}) {
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
          {onPin && <th scope="col">{t('hunt.actions')}</th>}
        </tr>
      </thead>
      <tbody>
        {items.map((e, i) => {
          const id = eventIdOf(e);
          return (
            <tr key={e.id ?? i}>
              <td>
                <Time iso={e['@timestamp']} />
              </td>
              <td>{e.source?.ip ?? ''}</td>
              <td>{e.destination?.ip ?? ''}</td>
              <td>{e.message ?? ''}</td>
              {onPin && (
                <td>
                  {id && (
                    <button
                      type="button"
                      className="link"
                      data-pin-event={id}
                      aria-label={t('pinEvent.label', { ref: id })}
                      onClick={() => onPin(e)}
                    >
                      {t('evidence.pin')}
                    </button>
                  )}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
