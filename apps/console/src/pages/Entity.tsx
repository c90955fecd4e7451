import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, type EcsEvent, type QueuePage } from '../api';
import { ErrorText, Severity, Status, Time } from '../ui';
import { EventsTable } from './Hunt';

const FIELD: Record<string, string> = { ip: 'source.ip', user: 'user.name', host: 'host.hostname' };

/** IP, user or host: the incidents that mention it and its recent events. */
export function EntityPage() {
  const { t } = useTranslation();
  const { type = 'ip', value = '' } = useParams();
  const [page, setPage] = useState<QueuePage | null>(null);
  const [events, setEvents] = useState<EcsEvent[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<QueuePage>('GET', `/api/v1/console/queue?view=all&size=100&q=${encodeURIComponent(value)}`)
      .then(setPage)
      .catch(setError);
    const field = FIELD[type] ?? 'source.ip';
    api<{ items: EcsEvent[] }>(
      'GET',
      `/api/v1/events?limit=100&field=${encodeURIComponent(`${field}:${value}`)}`,
    )
      .then((r) => setEvents(r.items))
      .catch((err: unknown) => {
        setEvents([]);
        setError(err);
      });
  }, [type, value]);
  return (
    <section aria-labelledby="entity-title">
      <h1 id="entity-title">{t('entity.title', { type: t(`entity.${type}`), value })}</h1>
      <ErrorText error={error} />
      <h2>{t('entity.incidents')}</h2>
      <ul>
        {(page?.items ?? []).map((i) => (
          <li key={i.id}>
            <Severity level={i.severity} /> <Link to={`/incidents/${i.id}`}>{i.title}</Link>{' '}
            <Status status={i.status} /> <Time iso={i.last_seen} />
          </li>
        ))}
      </ul>
      <h2>{t('entity.events')}</h2>
      <EventsTable items={events} />
    </section>
  );
}
