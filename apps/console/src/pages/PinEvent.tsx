import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Incident } from '../api';
import { str } from '../format';
import { FormDialog } from '../ui';

const OPEN = new Set(['new', 'acknowledged', 'in_progress']);

/**
 * Pins one event (any in the caller's scope) as evidence on an incident chosen here: the incident the analyst
 * came from first, then the most recent open ones. The note is mandatory, as for pins on the incident page.
 */
export function PinEventDialog({
  eventId,
  summary,
  fromIncident,
  onClose,
  onDone,
}: {
  eventId: string;
  summary: string;
  fromIncident?: string | undefined;
  onClose: () => void;
  onDone: (msg: string) => void;
}) {
  const { t } = useTranslation();
  const [recent, setRecent] = useState<Incident[] | null>(null);
  const [target, setTarget] = useState(fromIncident ?? '');
  const [note, setNote] = useState('');
  // Only the list's failure; FormDialog shows the pin's own.
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ items: Incident[] }>('GET', '/api/v1/incidents?limit=50').then(
      (r) => {
        const open = r.items.filter((i) => OPEN.has(i.status) && i.id !== fromIncident).slice(0, 20);
        setRecent(open);
        setTarget((cur) => cur || open[0]?.id || '');
      },
      (err) => setError(err),
    );
  }, [fromIncident]);
  const submit = async () => {
    await api('POST', `/api/v1/incidents/${encodeURIComponent(target)}/evidence`, {
      kind: 'event',
      ref: eventId,
      note,
    });
    onDone(t('pinEvent.done', { ref: eventId, id: target }));
  };
  return (
    <FormDialog
      title={t('pinEvent.title')}
      intro={
        <p>
          {t('timeline.event')}: {summary.slice(0, 120)} ({eventId})
        </p>
      }
      submitLabel={t('evidence.pin')}
      canSubmit={target !== '' && note.trim() !== ''}
      error={error}
      onSubmit={submit}
      onClose={onClose}
    >
      <label>
        {t('pinEvent.target')}
        <select name="incident" value={target} onChange={(e) => setTarget(e.target.value)} required>
          {fromIncident && <option value={fromIncident}>{t('pinEvent.from', { id: fromIncident })}</option>}
          {(recent ?? []).map((i) => (
            <option key={i.id} value={i.id}>
              {`${i.id} · ${t(`status.${i.status}`)} · ${str(i.title)}`}
            </option>
          ))}
        </select>
      </label>
      {recent !== null && recent.length === 0 && !fromIncident && <p>{t('pinEvent.noOpen')}</p>}
      <label>
        {t('evidence.note')}
        <textarea name="note" value={note} onChange={(e) => setNote(e.target.value)} required />
      </label>
    </FormDialog>
  );
}
