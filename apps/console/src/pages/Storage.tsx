import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { formatNumber } from '../format';
import { ErrorText, Time } from '../ui';
import { formatBytes, needsAttention, type StorageInfo, streamRows } from './storage-view';

/** Storage health (GET /api/v1/storage; leads, auditors, admins): the event store and its data streams. */
export function StoragePage() {
  const { t } = useTranslation();
  const [info, setInfo] = useState<StorageInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<StorageInfo>('GET', '/api/v1/storage')
      .then(setInfo)
      .catch((err: unknown) => setError(err));
  }, []);
  if (error) return <ErrorText error={error} />;
  if (!info) return <p>{t('common.loading')}</p>;
  const rows = streamRows(info);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">{t('storage.title')}</h1>
      <dl className="facts">
        <dt>{t('storage.engine')}</dt>
        <dd>{info.engine}</dd>
        <dt>{t('storage.status')}</dt>
        <dd>{info.status}</dd>
        <dt>{t('storage.events')}</dt>
        <dd>{formatNumber(info.events)}</dd>
        <dt>{t('storage.alerts')}</dt>
        <dd>{formatNumber(info.alerts)}</dd>
        <dt>{t('storage.size')}</dt>
        <dd>{formatBytes(info.bytes)}</dd>
        {info.writes && (
          <>
            <dt>{t('storage.writes')}</dt>
            <dd>
              {t('storage.writesLine', {
                created: formatNumber(info.writes.created),
                duplicates: formatNumber(info.writes.duplicates),
                rejected: formatNumber(info.writes.rejected),
                retries: formatNumber(info.writes.retries),
              })}
            </dd>
          </>
        )}
      </dl>
      {needsAttention(info) && (
        <div role="alert">
          <h2>{t('storage.attention')}</h2>
          <ul>
            {(info.errors ?? []).map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      )}
      {rows.length > 0 && (
        <table className="table">
          <caption>{t('storage.streams')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('storage.stream')}</th>
              <th scope="col">{t('storage.status')}</th>
              <th scope="col">{t('storage.docs')}</th>
              <th scope="col">{t('storage.size')}</th>
              <th scope="col">{t('storage.policy')}</th>
              <th scope="col">{t('storage.phase')}</th>
              <th scope="col">{t('storage.phases')}</th>
              <th scope="col">{t('storage.rollover')}</th>
              <th scope="col">{t('storage.ilmErrors')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name}>
                <th scope="row">{r.name}</th>
                <td>{r.status}</td>
                <td>{r.docs === null ? '—' : formatNumber(r.docs)}</td>
                <td>{formatBytes(r.bytes)}</td>
                <td>{r.ilmPolicy}</td>
                <td>{r.phase}</td>
                <td>{r.phases}</td>
                <td>{r.lastRolloverAt ? <Time iso={r.lastRolloverAt} /> : t('storage.neverRolled')}</td>
                <td>{r.ilmErrors.join('; ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
