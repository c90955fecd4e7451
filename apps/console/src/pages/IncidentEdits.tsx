import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type EvidencePin, type IncidentDetail } from '../api';
import { formatNumber, str } from '../format';
import { ErrorText, FormDialog, Time } from '../ui';

/** What a pin points at, in words: the alert's rule, or the event's message. */
function describe(inc: IncidentDetail, kind: 'alert' | 'event', ref: string): string {
  if (kind === 'alert') return inc.alerts.find((a) => a.id === ref)?.rule.title ?? ref;
  const ev = inc.events.find((e) => e.event?.id === ref);
  return ev ? str(ev.message ?? ref) : ref;
}

/** Pinned alerts and events with the analyst's note; each can be unpinned. */
export function EvidenceSection({
  inc,
  onPin,
  onChanged,
}: {
  inc: IncidentDetail;
  onPin: () => void;
  onChanged: (msg: string) => void;
}) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const unpin = async (e: EvidencePin) => {
    setError(null);
    try {
      await api(
        'DELETE',
        `/api/v1/incidents/${encodeURIComponent(inc.id)}/evidence/${e.kind}/${encodeURIComponent(e.ref_id)}`,
      );
      onChanged(t('evidence.unpinned', { ref: e.ref_id }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="h-evidence" data-testid="evidence">
      <h2 id="h-evidence">{t('evidence.title', { n: formatNumber(inc.evidence.length) })}</h2>
      {inc.evidence.length === 0 ? (
        <p>{t('evidence.none')}</p>
      ) : (
        <ul>
          {inc.evidence.map((e) => (
            <li key={`${e.kind}:${e.ref_id}`}>
              <span className="kind">{t(`timeline.${e.kind}`)}</span> {describe(inc, e.kind, e.ref_id)} —{' '}
              <q>{e.note}</q> · {e.actor} · <Time iso={e.at} />{' '}
              <button
                type="button"
                className="link"
                onClick={() => void unpin(e)}
                aria-label={t('evidence.unpinLabel', { ref: e.ref_id })}
              >
                {t('evidence.unpin')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" onClick={onPin}>
        {t('evidence.pin')} <kbd>p</kbd>
      </button>
      <ErrorText error={error} />
    </section>
  );
}

/** Pins one of the incident's alerts or events (the one given, or chosen here) with a mandatory note. */
export function PinDialog({
  inc,
  initial,
  onClose,
  onDone,
}: {
  inc: IncidentDetail;
  initial?: { kind: 'alert' | 'event'; ref: string };
  onClose: () => void;
  onDone: (msg: string) => void;
}) {
  const { t } = useTranslation();
  const options = [
    ...inc.alerts.map((a) => ({
      value: `alert:${a.id}`,
      label: `${t('timeline.alert')}: ${a.rule.title} (${a.id})`,
    })),
    ...inc.events
      .filter((e) => typeof e.event?.id === 'string')
      .map((e) => ({
        value: `event:${String(e.event!.id)}`,
        label: `${t('timeline.event')}: ${str(e.message ?? '').slice(0, 80)} (${String(e.event!.id)})`,
      })),
  ];
  const [target, setTarget] = useState(
    initial ? `${initial.kind}:${initial.ref}` : (options[0]?.value ?? ''),
  );
  const [note, setNote] = useState('');
  const submit = async () => {
    const i = target.indexOf(':');
    const kind = target.slice(0, i) as 'alert' | 'event';
    const ref = target.slice(i + 1);
    await api('POST', `/api/v1/incidents/${encodeURIComponent(inc.id)}/evidence`, { kind, ref, note });
    onDone(t('evidence.pinned', { ref }));
  };
  return (
    <FormDialog
      title={t('evidence.pinTitle')}
      submitLabel={t('evidence.pin')}
      canSubmit={target !== ''}
      onSubmit={submit}
      onClose={onClose}
    >
      <label>
        {t('evidence.what')}
        <select value={target} onChange={(e) => setTarget(e.target.value)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('evidence.note')}
        <textarea value={note} onChange={(e) => setNote(e.target.value)} required />
      </label>
    </FormDialog>
  );
}

/** Merges other incidents (ids, comma or space separated) into this one, with a mandatory reason. */
export function MergeDialog({
  inc,
  onClose,
  onDone,
}: {
  inc: IncidentDetail;
  onClose: () => void;
  onDone: (msg: string) => void;
}) {
  const { t } = useTranslation();
  const [ids, setIds] = useState('');
  const [reason, setReason] = useState('');
  const submit = async () => {
    const sources = [...new Set(ids.split(/[\s,]+/).filter(Boolean))];
    const r = await api<{ moved: number; merged: Array<{ id: string }> }>(
      'POST',
      `/api/v1/incidents/${encodeURIComponent(inc.id)}/merge`,
      { sources, reason },
    );
    onDone(t('merge.done', { n: formatNumber(r.merged.length), alerts: formatNumber(r.moved), id: inc.id }));
  };
  return (
    <FormDialog
      title={t('merge.title', { id: inc.id })}
      intro={<p>{t('merge.explain')}</p>}
      submitLabel={t('merge.submit')}
      onSubmit={submit}
      onClose={onClose}
    >
      <label>
        {t('merge.ids')}
        <input value={ids} onChange={(e) => setIds(e.target.value)} required />
      </label>
      <label>
        {t('action.reasonRequired')}
        <textarea value={reason} onChange={(e) => setReason(e.target.value)} required />
      </label>
    </FormDialog>
  );
}

/** Moves the selected alerts into a new incident, with a mandatory reason; answers the new incident's id. */
export function SplitDialog({
  inc,
  alertIds,
  onClose,
  onDone,
}: {
  inc: IncidentDetail;
  alertIds: string[];
  onClose: () => void;
  onDone: (msg: string, created: string) => void;
}) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const submit = async () => {
    const r = await api<{ created: { id: string } }>(
      'POST',
      `/api/v1/incidents/${encodeURIComponent(inc.id)}/split`,
      { alert_ids: alertIds, reason },
    );
    onDone(t('split.done', { n: formatNumber(alertIds.length), id: r.created.id }), r.created.id);
  };
  return (
    <FormDialog
      title={t('split.title', { id: inc.id })}
      intro={
        <p>
          {t('split.explain', {
            n: formatNumber(alertIds.length),
            total: formatNumber(inc.alert_ids.length),
          })}
        </p>
      }
      submitLabel={t('split.submit')}
      onSubmit={submit}
      onClose={onClose}
    >
      <label>
        {t('action.reasonRequired')}
        <textarea value={reason} onChange={(e) => setReason(e.target.value)} required />
      </label>
    </FormDialog>
  );
}
