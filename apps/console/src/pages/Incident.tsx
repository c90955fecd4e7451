import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { type Alert, api, type EcsEvent, type IncidentDetail } from '../api';
import { formatNumber, str } from '../format';
import { useKeys } from '../keys';
import { Dialog, ErrorText, Severity, Status, Time } from '../ui';
import { EventsTable, eventIdOf } from './Hunt';
import { PinEventDialog } from './PinEvent';
import { EvidenceSection, MergeDialog, PinDialog, SplitDialog } from './IncidentEdits';
import { ActionDialog } from './Queue';

type Action = { kind: 'close' | 'status' | 'assign' };
type Edit =
  { kind: 'pin'; initial?: { kind: 'alert' | 'event'; ref: string } } | { kind: 'merge' } | { kind: 'split' };

interface TimelineItem {
  at: string;
  kind: 'event' | 'alert' | 'action' | 'note';
  text: string;
  who?: string;
}

export function IncidentPage({ me }: { me: string }) {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [inc, setInc] = useState<IncidentDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [edit, setEdit] = useState<Edit | null>(null);
  const [pinEvent, setPinEvent] = useState<{ id: string; summary: string } | null>(null);
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [reports, setReports] = useState<Array<Record<string, unknown>> | null>(null);
  const [audit, setAudit] = useState<Array<Record<string, unknown>> | null>(null);
  const [announce, setAnnounce] = useState('');
  const draftKey = `citysoc.note.${id}`;
  const [note, setNote] = useState(() => sessionStorage.getItem(draftKey) ?? '');
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async () => {
    try {
      setInc(await api<IncidentDetail>('GET', `/api/v1/incidents/${encodeURIComponent(id)}`));
    } catch (err) {
      setError(err);
    }
    api<unknown>('GET', `/api/v1/reports/incidents/${encodeURIComponent(id)}/versions`)
      .then((r) => setReports(listOf(r)))
      .catch(() => setReports([]));
    api<{ items: Array<Record<string, unknown>> }>(
      'GET',
      `/api/v1/console/incidents/${encodeURIComponent(id)}/audit`,
    )
      .then((r) => setAudit(listOf(r)))
      .catch(() => setAudit([]));
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (inc) headingRef.current?.focus();
  }, [inc?.id]); // focus the heading when a new incident opens
  useEffect(() => {
    // Notes are autosaved as drafts in this tab until sent.
    if (note) sessionStorage.setItem(draftKey, note);
    else sessionStorage.removeItem(draftKey);
  }, [note, draftKey]);
  useEffect(() => {
    if (window.location.hash === '#notes') noteRef.current?.focus();
  }, [inc?.id]);

  const claim = async () => {
    if (!inc) return;
    try {
      if (inc.status === 'new') await api('POST', `/api/v1/console/incidents/${inc.id}/claim`);
      else
        await api('POST', `/api/v1/incidents/${inc.id}/transition`, {
          status: 'new',
          reason: t('queue.released'),
        });
      setAnnounce(
        inc.status === 'new' ? t('queue.claimed', { id: inc.id }) : t('queue.releasedOne', { id: inc.id }),
      );
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const sendNote = async () => {
    if (!note.trim()) return;
    try {
      await api('POST', `/api/v1/incidents/${id}/comments`, { text: note });
      setNote('');
      setAnnounce(t('incident.noteSaved'));
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const alertId = params.get('alert');
  const canSplit = !!inc && picked.size > 0 && picked.size < inc.alert_ids.length;
  const togglePick = (id: string) =>
    setPicked((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const openAlert = inc?.alerts.find((a) => a.id === alertId);
  useKeys({
    c: () => void claim(),
    a: () => setAction({ kind: 'assign' }),
    s: () => setAction({ kind: 'status' }),
    e: () => setAction({ kind: 'close' }),
    n: () => noteRef.current?.focus(),
    p: () => setEdit({ kind: 'pin' }),
    m: () => setEdit({ kind: 'merge' }),
    b: () => {
      if (canSplit) setEdit({ kind: 'split' });
    },
    'g q': () => void navigate(-1),
  });

  // Stable callbacks: the dialog refocuses its first field whenever its onClose changes.
  const closeEdit = useCallback(() => setEdit(null), []);
  const editDone = useCallback(
    (msg: string) => {
      setEdit(null);
      setAnnounce(msg);
      void load();
    },
    [load],
  );
  useEffect(() => setPicked(new Set()), [id]);

  if (error && !inc) return <ErrorText error={error} />;
  if (!inc) return <p>{t('common.loading')}</p>;
  const timeline: TimelineItem[] = [
    ...inc.events.map((e) => ({
      at: e['@timestamp'],
      kind: 'event' as const,
      text: str(e.message ?? ''),
    })),
    ...inc.alerts.map((a) => ({ at: a['@timestamp'], kind: 'alert' as const, text: a.rule.title })),
    ...inc.history.map((h) => ({
      at: h.at,
      kind: 'action' as const,
      who: h.actor,
      text: `${h.from_status ? t(`status.${h.from_status}`) : ''} → ${t(`status.${h.to_status}`)}: ${h.note}`,
    })),
    ...inc.comments.map((c) => ({ at: c.at, kind: 'note' as const, who: c.actor, text: c.text })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const entities = new Map<string, string>();
  for (const e of inc.events) {
    if (e.source?.ip) entities.set(`ip:${e.source.ip}`, e.source.ip);
    if (e.destination?.ip) entities.set(`ip:${e.destination.ip}`, e.destination.ip);
    if (e.user?.name) entities.set(`user:${e.user.name}`, e.user.name);
    const h = e.host?.hostname ?? e.host?.name;
    if (h) entities.set(`host:${h}`, h);
  }
  return (
    <article aria-labelledby="incident-title">
      <p>
        <Link to="/queue">{t('incident.back')}</Link>
      </p>
      <h1 id="incident-title" tabIndex={-1} ref={headingRef}>
        {inc.title}
      </h1>
      <div aria-live="polite" className="sr-only">
        {announce}
      </div>
      <dl className="facts">
        <dt>{t('col.id')}</dt>
        <dd>{inc.id}</dd>
        <dt>{t('col.severity')}</dt>
        <dd>
          <Severity level={inc.severity} />
        </dd>
        <dt>{t('col.status')}</dt>
        <dd data-testid="status">
          <Status status={inc.status} />
        </dd>
        <dt>{t('col.unit')}</dt>
        <dd>
          {inc.unit ? (
            <Link to={`/queue?view=all&unit=${encodeURIComponent(inc.unit.path)}`}>{inc.unit.name}</Link>
          ) : (
            t('common.noUnit')
          )}
        </dd>
        <dt>{t('col.assignee')}</dt>
        <dd>{inc.assignee ?? t('common.nobody')}</dd>
        <dt>{t('incident.ackDue')}</dt>
        <dd>
          <Time iso={inc.sla.acknowledge_due} />
        </dd>
        <dt>{t('incident.resolveDue')}</dt>
        <dd>
          <Time iso={inc.sla.resolve_due} />
        </dd>
        <dt>{t('col.firstSeen')}</dt>
        <dd>
          <Time iso={inc.first_seen} />
        </dd>
        <dt>{t('col.lastSeen')}</dt>
        <dd>
          <Time iso={inc.last_seen} />
        </dd>
        {inc.reason && (
          <>
            <dt>{t('incident.reason')}</dt>
            <dd>{inc.reason}</dd>
          </>
        )}
        {inc.duplicate_of && (
          <>
            <dt>{t('incident.duplicateOf')}</dt>
            <dd>
              <Link to={`/incidents/${encodeURIComponent(inc.duplicate_of)}`}>{inc.duplicate_of}</Link>
            </dd>
          </>
        )}
        {inc.split_from && (
          <>
            <dt>{t('incident.splitFrom')}</dt>
            <dd>
              <Link to={`/incidents/${encodeURIComponent(inc.split_from)}`}>{inc.split_from}</Link>
            </dd>
          </>
        )}
      </dl>
      <div className="buttons">
        <button type="button" onClick={() => void claim()}>
          {inc.status === 'new' ? t('incident.claim') : t('incident.release')} <kbd>c</kbd>
        </button>
        <button type="button" onClick={() => setAction({ kind: 'assign' })}>
          {t('incident.assign')} <kbd>a</kbd>
        </button>
        <button type="button" onClick={() => setAction({ kind: 'status' })}>
          {t('incident.setStatus')} <kbd>s</kbd>
        </button>
        <button type="button" onClick={() => setAction({ kind: 'close' })}>
          {t('incident.close')} <kbd>e</kbd>
        </button>
        <button type="button" onClick={() => setEdit({ kind: 'merge' })}>
          {t('merge.open')} <kbd>m</kbd>
        </button>
        <button type="button" disabled={!canSplit} onClick={() => setEdit({ kind: 'split' })}>
          {t('split.open', { n: formatNumber(picked.size) })} <kbd>b</kbd>
        </button>
      </div>
      <ErrorText error={error} />
      <section aria-labelledby="h-summary">
        <h2 id="h-summary">{t('incident.summary')}</h2>
        <p>
          <strong>{t('incident.groupedBecause')}</strong> {inc.grouping_reason}
        </p>
        <p>
          {t('incident.rules')} {inc.rule_ids.join(', ')} · {t('incident.tactics')}{' '}
          {inc.mitre.tactics.join(', ')} {inc.mitre.techniques.join(', ')}
        </p>
      </section>
      <section aria-labelledby="h-alerts">
        <h2 id="h-alerts">{t('incident.alerts', { n: formatNumber(inc.alert_ids.length) })}</h2>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t('split.pick')}</th>
              <th scope="col">{t('col.time')}</th>
              <th scope="col">{t('col.rule')}</th>
              <th scope="col">{t('col.severity')}</th>
              <th scope="col">{t('col.entity')}</th>
              <th scope="col">{t('evidence.title', { n: formatNumber(inc.evidence.length) })}</th>
            </tr>
          </thead>
          <tbody>
            {inc.alerts.map((a) => (
              <tr key={a.id}>
                <td>
                  <input
                    type="checkbox"
                    checked={picked.has(a.id)}
                    onChange={() => togglePick(a.id)}
                    aria-label={t('split.pickLabel', { id: a.id })}
                  />
                </td>
                <td>
                  <Time iso={a['@timestamp']} />
                </td>
                <td>
                  <button type="button" className="link" onClick={() => setParams({ alert: a.id })}>
                    {a.rule.title}
                  </button>
                </td>
                <td>
                  <Severity level={a.rule.level} />
                </td>
                <td>{a.entity}</td>
                <td>
                  {inc.evidence.some((e) => e.kind === 'alert' && e.ref_id === a.id) ? (
                    t('evidence.isPinned')
                  ) : (
                    <button
                      type="button"
                      className="link"
                      onClick={() => setEdit({ kind: 'pin', initial: { kind: 'alert', ref: a.id } })}
                      aria-label={t('evidence.pinLabel', { id: a.id })}
                    >
                      {t('evidence.pin')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <EvidenceSection
        inc={inc}
        onPin={() => setEdit({ kind: 'pin' })}
        onChanged={(msg) => {
          setAnnounce(msg);
          void load();
        }}
      />
      <section aria-labelledby="h-timeline">
        <h2 id="h-timeline">{t('incident.timeline')}</h2>
        <ol className="timeline">
          {timeline.map((it, i) => (
            <li key={i}>
              <Time iso={it.at} /> <span className="kind">{t(`timeline.${it.kind}`)}</span>{' '}
              {it.who && <span>{it.who}: </span>}
              {it.text}
            </li>
          ))}
        </ol>
      </section>
      <section aria-labelledby="h-entities">
        <h2 id="h-entities">{t('incident.entities')}</h2>
        <ul>
          <li>{inc.entity}</li>
          {[...entities.entries()].map(([k, v]) => (
            <li key={k}>
              <Link to={`/entities/${k.split(':')[0]}/${encodeURIComponent(v)}`}>{k}</Link>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="h-notes" id="notes">
        <h2 id="h-notes">{t('incident.notes')}</h2>
        <ul>
          {inc.comments.map((c, i) => (
            <li key={i}>
              <Time iso={c.at} /> {c.actor}: {c.text}
            </li>
          ))}
        </ul>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void sendNote();
          }}
        >
          <label>
            {t('incident.newNote')}
            <textarea ref={noteRef} value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          <button type="submit">{t('incident.addNote')}</button>
        </form>
      </section>
      <section aria-labelledby="h-reporting">
        <h2 id="h-reporting">{t('incident.reporting')}</h2>
        {reports === null ? (
          <p>{t('common.loading')}</p>
        ) : reports.length === 0 ? (
          <p>{t('incident.notReported')}</p>
        ) : (
          <ul>
            {reports.map((r, i) => (
              <li key={i}>
                {str(r.report_id ?? r.id ?? '')} · {str(r.status ?? '')} ·{' '}
                <Time iso={str(r.created_at ?? '')} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="h-audit">
        <h2 id="h-audit">{t('incident.audit')}</h2>
        <ul>
          {(audit ?? []).map((a, i) => (
            <li key={i}>
              <Time iso={str(a.at ?? '')} /> {str(a.actor ?? '')} {str(a.action ?? '')} {str(a.outcome ?? '')}
            </li>
          ))}
        </ul>
      </section>
      {openAlert && (
        <AlertDrawer
          alert={openAlert}
          members={(inc?.events ?? []).filter(
            (e) => typeof e.event?.id === 'string' && openAlert.event_ids.includes(e.event.id),
          )}
          incidentId={inc.id}
          onPin={(e) => {
            setParams({});
            setPinEvent(e);
          }}
          onClose={() => setParams({})}
        />
      )}
      {pinEvent && (
        <PinEventDialog
          eventId={pinEvent.id}
          summary={pinEvent.summary}
          fromIncident={inc.id}
          onClose={() => setPinEvent(null)}
          onDone={(msg) => {
            setPinEvent(null);
            editDone(msg);
          }}
        />
      )}
      {edit?.kind === 'pin' && (
        <PinDialog
          inc={inc}
          {...(edit.initial ? { initial: edit.initial } : {})}
          onClose={closeEdit}
          onDone={editDone}
        />
      )}
      {edit?.kind === 'merge' && <MergeDialog inc={inc} onClose={closeEdit} onDone={editDone} />}
      {edit?.kind === 'split' && (
        <SplitDialog
          inc={inc}
          alertIds={[...picked]}
          onClose={closeEdit}
          onDone={(msg, created) => {
            setPicked(new Set());
            editDone(msg);
            void navigate(`/incidents/${encodeURIComponent(created)}`);
          }}
        />
      )}
      {action && (
        <ActionDialog
          action={{ kind: action.kind, incident: inc }}
          me={me}
          onClose={() => setAction(null)}
          onDone={(msg) => {
            setAction(null);
            setAnnounce(msg);
            void load();
          }}
        />
      )}
    </article>
  );
}

/** The report routes answer a list or `{ items }`; anything else is shown as nothing. */
function listOf(r: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(r)) return r as Array<Record<string, unknown>>;
  const items = (r as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as Array<Record<string, unknown>>) : [];
}

/**
 * Rule, matched fields (highlighted), raw event, the member events of a correlation, and pivots to the
 * events and to the flows ±5 minutes around it on the same addresses.
 */
export function AlertDrawer({
  alert,
  members,
  incidentId,
  onPin,
  onClose,
}: {
  alert: Alert;
  /** The stored events behind the alert (a correlation has several). */
  members: EcsEvent[];
  /** The incident the drawer was opened from: the default target of a pin and carried into pivots. */
  incidentId: string;
  onPin: (e: { id: string; summary: string }) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const alertEventId = eventIdOf(alert.event);
  const ts = Date.parse(alert['@timestamp']);
  const from = new Date(ts - 5 * 60_000).toISOString();
  const to = new Date(ts + 5 * 60_000).toISOString();
  const ip = alert.event.source?.ip;
  const dst = alert.event.destination?.ip;
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const f = (path: string, v: string) => `&field=${encodeURIComponent(`${path}:${v}`)}`;
  const from_ = `&incident=${encodeURIComponent(incidentId)}`;
  const pivot = `/hunt?${range}${ip ? f('source.ip', ip) : ''}${from_}`;
  // Flows are stored with event.dataset "flow"; an address can be either end of a flow record.
  const flows: Array<{ key: string; to: string; label: string }> = [];
  for (const addr of [...new Set([ip, dst].filter((x): x is string => !!x))])
    for (const side of ['source', 'destination'] as const)
      flows.push({
        key: `${side}-${addr}`,
        to: `/hunt?${range}${f('event.dataset', 'flow')}${f(`${side}.ip`, addr)}${from_}`,
        label: side === 'source' ? t('drawer.flowsFrom', { ip: addr }) : t('drawer.flowsTo', { ip: addr }),
      });
  const isCorrelation = alert.event_ids.length > 1;
  return (
    <Dialog title={alert.rule.title} onClose={onClose}>
      <p>
        <Severity level={alert.rule.level} /> · {alert.rule.id} · <Time iso={alert['@timestamp']} />
      </p>
      <h3>{t('drawer.matched')}</h3>
      <dl className="facts matched">
        {Object.entries(alert.matched_fields ?? {}).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>
              <mark>{typeof v === 'string' ? v : JSON.stringify(v)}</mark>
            </dd>
          </div>
        ))}
      </dl>
      {isCorrelation && (
        <section aria-labelledby="h-members" data-testid="members">
          <h3 id="h-members">
            {t('drawer.members', {
              n: formatNumber(alert.event_ids.length),
              shown: formatNumber(members.length),
            })}
          </h3>
          <EventsTable
            items={members}
            onPin={(e) => onPin({ id: eventIdOf(e) ?? '', summary: str(e.message ?? '') })}
          />
        </section>
      )}
      <h3>{t('drawer.raw')}</h3>
      <pre className="raw" tabIndex={0}>
        {JSON.stringify(alert.event, null, 2)}
      </pre>
      <div className="buttons">
        {alertEventId && (
          <button
            type="button"
            data-pin-event={alertEventId}
            onClick={() => onPin({ id: alertEventId, summary: str(alert.event.message ?? '') })}
          >
            {t('pinEvent.open')}
          </button>
        )}
        <Link to={pivot}>{t('drawer.pivot')}</Link>
        {flows.map((x) => (
          <Link key={x.key} to={x.to}>
            {x.label}
          </Link>
        ))}
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}
