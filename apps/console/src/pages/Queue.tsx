import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, type Incident, qs, type QueuePage as Page, stream } from '../api';
import { formatNumber, isoToLocalInput, localInputToIso, str } from '../format';
import { useKeys } from '../keys';
import { ErrorText, FormDialog, Severity, Status, Time } from '../ui';

const VIEWS = ['unclaimed', 'mine', 'breaching', 'open', 'closed_today', 'all'] as const;
const GROUPS = ['', 'unit', 'rule', 'tactic', 'entity'] as const;
const SEVERITIES = ['', 'critical', 'high', 'medium', 'low', 'informational'] as const;
/** URL parameters that make up the view state (everything else is derived). */
const FILTER_KEYS = [
  'view',
  'severity',
  'unit',
  'rule',
  'tactic',
  'entity',
  'q',
  'from',
  'to',
  'group',
] as const;
const SIZE = 50;

type Action = { kind: 'close' | 'status' | 'assign' | 'bulk'; incident?: Incident };

export function QueuePage({ me }: { me: string }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [data, setData] = useState<Page | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [action, setAction] = useState<Action | null>(null);
  const [pending, setPending] = useState(0);
  const [announce, setAnnounce] = useState('');
  const gridRef = useRef<HTMLTableElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  const view = params.get('view') ?? 'open';
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1);
  const cursorId = params.get('sel');
  // The filters only: moving the cursor (`sel`) changes the URL but must not re-fetch the page, or a live
  // insert would slip in under the cursor when that fetch answers.
  const key = FILTER_KEYS.map((k) => `${k}=${params.get(k) ?? ''}`).join('&');
  const filterQuery = useMemo(() => {
    const o: Record<string, string> = {};
    for (const k of FILTER_KEYS) {
      const v = params.get(k);
      if (v) o[k] = v;
    }
    return o;
  }, [key]);

  const load = useCallback(async () => {
    try {
      setError(null);
      const r = await api<Page>(
        'GET',
        `/api/v1/console/queue${qs({ ...filterQuery, view, page, size: SIZE })}`,
      );
      setData(r);
      setPending(0);
    } catch (err) {
      setError(err);
    }
  }, [filterQuery, view, page]);
  useEffect(() => {
    void load();
  }, [load]);

  // Live updates are announced, never inserted under the cursor: the analyst refreshes when ready.
  useEffect(() => {
    const ac = new AbortController();
    stream(
      '/api/v1/console/stream',
      (event, payload) => {
        if (event !== 'incidents' || !Array.isArray(payload)) return;
        setPending((n) => {
          const next = n + payload.length;
          setAnnounce(t('queue.live', { count: next }));
          return next;
        });
      },
      ac.signal,
    ).catch(() => undefined);
    return () => ac.abort();
  }, [t]);

  const items = data?.items ?? [];
  // Keys can arrive faster than renders: the latest cursor move is kept here until the URL catches up.
  const pendingCursor = useRef<string | null>(null);
  if (pendingCursor.current === cursorId) pendingCursor.current = null;
  const cursorOf = (id: string | null) =>
    Math.max(
      0,
      items.findIndex((i) => i.id === id),
    );
  const cursor = cursorOf(cursorId);
  const latest = () => items[cursorOf(pendingCursor.current ?? cursorId)];

  const update = (patch: Record<string, string | null>, replace = false) => {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(patch)) {
          if (v === null || v === '') next.delete(k);
          else next.set(k, v);
        }
        return next;
      },
      { replace },
    );
  };
  const moveTo = (delta: number) => {
    const from = cursorOf(pendingCursor.current ?? cursorId);
    const it = items[Math.max(0, Math.min(items.length - 1, from + delta))];
    if (!it) return;
    pendingCursor.current = it.id;
    update({ sel: it.id }, true);
    gridRef.current?.querySelector<HTMLElement>(`[data-id="${it.id}"]`)?.focus();
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const claim = async (inc: Incident | undefined) => {
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

  const withLatest = (fn: (i: Incident) => void) => {
    const i = latest();
    if (i) fn(i);
  };
  useKeys({
    j: () => moveTo(1),
    k: () => moveTo(-1),
    x: () => withLatest((i) => toggle(i.id)),
    Enter: () => withLatest((i) => void navigate(`/incidents/${i.id}`)),
    o: () => withLatest((i) => void navigate(`/incidents/${i.id}`)),
    c: () => withLatest((i) => void claim(i)),
    a: () => withLatest((i) => setAction({ kind: 'assign', incident: i })),
    s: () => withLatest((i) => setAction({ kind: 'status', incident: i })),
    e: () => withLatest((i) => setAction({ kind: 'close', incident: i })),
    n: () => withLatest((i) => void navigate(`/incidents/${i.id}#notes`)),
    '/': () => searchRef.current?.focus(),
    '[': () => page > 1 && update({ page: str(page - 1), sel: null }),
    ']': () => data && page * SIZE < data.total && update({ page: str(page + 1), sel: null }),
    A: () => setSelected(new Set(items.map((i) => i.id))),
  });

  const pages = data ? Math.max(1, Math.ceil(data.total / SIZE)) : 1;
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">{t('queue.title')}</h1>
      <div role="tablist" aria-label={t('queue.views')} className="tabs">
        {VIEWS.map((v) => (
          <button
            key={v}
            role="tab"
            type="button"
            aria-selected={v === view}
            onClick={() => update({ view: v, page: null, sel: null })}
          >
            {t(`view.${v}`)}
          </button>
        ))}
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const get = (k: string) => str(f.get(k) ?? '');
          update({
            q: get('q'),
            severity: get('severity'),
            unit: get('unit'),
            group: get('group'),
            from: localInputToIso(get('from')),
            to: localInputToIso(get('to')),
            page: null,
            sel: null,
          });
        }}
        key={key}
      >
        <label>
          {t('queue.search')}
          <input name="q" ref={searchRef} defaultValue={params.get('q') ?? ''} />
        </label>
        <label>
          {t('queue.severity')}
          <select name="severity" defaultValue={params.get('severity') ?? ''}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s ? t(`severity.${s}`) : t('common.any')}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('queue.unit')}
          <input name="unit" defaultValue={params.get('unit') ?? ''} />
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
          {t('queue.groupBy')}
          <select name="group" defaultValue={params.get('group') ?? ''}>
            {GROUPS.map((g) => (
              <option key={g} value={g}>
                {g ? t(`group.${g}`) : t('common.none')}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t('queue.apply')}</button>
      </form>
      <div className="toolbar">
        <span>{t('queue.total', { count: data?.total ?? 0, n: formatNumber(data?.total ?? 0) })}</span>
        <span>{t('queue.selected', { n: formatNumber(selected.size) })}</span>
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => setAction({ kind: 'bulk' })}
          data-bulk="selection"
        >
          {t('queue.bulkSelection')}
        </button>
        <button
          type="button"
          disabled={!params.get('from') || !params.get('to')}
          title={t('queue.bulkNeedsRange')}
          onClick={() => setAction({ kind: 'bulk', incident: undefined })}
          data-bulk="query"
        >
          {t('queue.bulkQuery')}
        </button>
        {pending > 0 && (
          <button type="button" onClick={() => void load()}>
            {t('queue.refresh', { count: pending })}
          </button>
        )}
      </div>
      <div aria-live="polite" className="sr-only" data-testid="live">
        {announce}
      </div>
      <ErrorText error={error} />
      {data?.groups && (
        <table className="table groups">
          <caption>{t('queue.groups', { group: t(`group.${params.get('group') ?? 'unit'}`) })}</caption>
          <thead>
            <tr>
              <th scope="col">{t(`group.${params.get('group') ?? 'unit'}`)}</th>
              <th scope="col">{t('queue.count')}</th>
              <th scope="col">{t('queue.maxSeverity')}</th>
            </tr>
          </thead>
          <tbody>
            {data.groups.map((g) => (
              <tr key={g.key}>
                <td>
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      update({ [params.get('group') ?? 'unit']: g.key, group: null, page: null })
                    }
                  >
                    {g.key || t('common.noUnit')}
                  </button>
                </td>
                <td>{formatNumber(g.count)}</td>
                <td>
                  <Severity level={g.max_severity} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <table
        role="grid"
        className="table grid"
        aria-label={t('queue.title')}
        aria-rowcount={(data?.total ?? 0) + 1}
        ref={gridRef}
      >
        <thead>
          <tr role="row" aria-rowindex={1}>
            <th role="columnheader" scope="col">
              {t('col.select')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.severity')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.title')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.status')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.unit')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.entity')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.alerts')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.lastSeen')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.sla')}
            </th>
            <th role="columnheader" scope="col">
              {t('col.assignee')}
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((i, idx) => (
            <tr
              key={i.id}
              role="row"
              data-id={i.id}
              aria-rowindex={(page - 1) * SIZE + idx + 2}
              aria-selected={selected.has(i.id)}
              tabIndex={idx === cursor ? 0 : -1}
              className={idx === cursor ? 'cursor' : undefined}
              onFocus={() => {
                // A key pressed right after a click/focus acts on this row, not the one the URL still names.
                if (i.id === cursorId) return;
                pendingCursor.current = i.id;
                update({ sel: i.id }, true);
              }}
            >
              <td role="gridcell">
                <input
                  type="checkbox"
                  tabIndex={-1}
                  aria-label={t('queue.selectRow', { id: i.id })}
                  checked={selected.has(i.id)}
                  onChange={() => toggle(i.id)}
                />
              </td>
              <td role="gridcell">
                <Severity level={i.severity} />
              </td>
              <td role="gridcell">
                <Link to={`/incidents/${i.id}`} tabIndex={-1}>
                  {i.title}
                </Link>
              </td>
              <td role="gridcell">
                <Status status={i.status} />
              </td>
              <td role="gridcell">{i.unit?.name ?? t('common.noUnit')}</td>
              <td role="gridcell">{i.entity}</td>
              <td role="gridcell">{formatNumber(i.alert_count)}</td>
              <td role="gridcell">
                <Time iso={i.last_seen} />
              </td>
              <td role="gridcell">
                <Time iso={i.status === 'new' ? i.sla.acknowledge_due : i.sla.resolve_due} />
              </td>
              <td role="gridcell">{i.assignee ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && items.length === 0 && <p>{t('queue.empty')}</p>}
      <nav aria-label={t('queue.pagination')} className="pager">
        <button type="button" disabled={page <= 1} onClick={() => update({ page: str(page - 1), sel: null })}>
          {t('queue.prev')}
        </button>
        <span>{t('queue.page', { page: formatNumber(page), pages: formatNumber(pages) })}</span>
        <button
          type="button"
          disabled={page >= pages}
          onClick={() => update({ page: str(page + 1), sel: null })}
        >
          {t('queue.next')}
        </button>
      </nav>
      {action && (
        <ActionDialog
          action={action}
          me={me}
          ids={[...selected]}
          filter={{ ...filterQuery, view }}
          onClose={() => setAction(null)}
          onDone={(msg) => {
            setAction(null);
            setAnnounce(msg);
            setSelected(new Set());
            void load();
          }}
        />
      )}
    </section>
  );
}

interface BulkJob {
  id: string;
  status: 'running' | 'finished' | 'interrupted';
  matched: number;
  done: number;
  succeeded: number;
  failed: number;
}

/** How often the dialog asks for a bulk job's progress. */
const BULK_POLL_MS = 250;

/** Close / status / assign one incident, or bulk false positive by selection or by query. */
export function ActionDialog({
  action,
  me,
  ids = [],
  filter = {},
  onClose,
  onDone,
}: {
  action: Action;
  me: string;
  ids?: string[];
  filter?: Record<string, string>;
  onClose: () => void;
  onDone: (msg: string) => void;
}) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [status, setStatusValue] = useState(action.kind === 'close' ? 'resolved' : 'in_progress');
  const [assignee, setAssignee] = useState(me);
  const [duplicateOf, setDuplicateOf] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<{ matched: number } | null>(null);
  const [result, setResult] = useState<{ matched: number; succeeded: number; failed: number } | null>(null);
  const [progress, setProgress] = useState<BulkJob | null>(null);
  const byQuery = action.kind === 'bulk' && ids.length === 0;
  useEffect(() => {
    if (!byQuery) return;
    api<{ matched: number }>('GET', `/api/v1/console/bulk/preview${qs(filter)}`)
      .then(setPreview)
      .catch(setError);
  }, [byQuery]);
  const inc = action.incident;
  const closing = ['resolved', 'false_positive', 'duplicate'].includes(status) || action.kind === 'bulk';
  const submit = async () => {
    if (action.kind === 'bulk') {
      // Both kinds of bulk close run as the same background job on the server: its progress shows while
      // it runs, then the same matched/succeeded/failed line.
      let job = byQuery
        ? await api<BulkJob>('POST', '/api/v1/console/bulk/jobs', {
            ...filter,
            expected: preview?.matched ?? 0,
            reason,
          })
        : await api<BulkJob>('POST', '/api/v1/console/bulk/jobs/selection', { ids, reason });
      setProgress(job);
      while (job.status === 'running') {
        await new Promise((r) => setTimeout(r, BULK_POLL_MS));
        job = await api<BulkJob>('GET', `/api/v1/console/bulk/jobs/${encodeURIComponent(job.id)}`);
        setProgress(job);
      }
      if (job.status === 'interrupted') setError(new Error(t('bulk.interrupted')));
      setResult({ matched: job.matched, succeeded: job.succeeded, failed: job.failed });
      return;
    }
    if (!inc) return;
    if (action.kind === 'assign') {
      await api('POST', `/api/v1/incidents/${inc.id}/assign`, { assignee: assignee || null });
      onDone(t('action.assigned', { id: inc.id, user: assignee }));
      return;
    }
    await api('POST', `/api/v1/incidents/${inc.id}/transition`, {
      status,
      ...(reason ? { reason } : {}),
      ...(status === 'duplicate' ? { duplicate_of: duplicateOf.trim() } : {}),
    });
    onDone(t('action.moved', { id: inc.id, status: t(`status.${status}`) }));
  };
  const title =
    action.kind === 'bulk'
      ? byQuery
        ? t('bulk.queryTitle')
        : t('bulk.selectionTitle')
      : t(`action.${action.kind}Title`, { id: inc?.id ?? '' });
  return (
    <FormDialog
      title={title}
      intro={
        <>
          {byQuery && (
            <p data-testid="bulk-confirm">
              {preview
                ? t('bulk.confirm', {
                    n: formatNumber(preview.matched),
                    count: preview.matched,
                    from: filter.from ?? '',
                    to: filter.to ?? '',
                  })
                : t('common.loading')}
            </p>
          )}
          {byQuery && preview && (
            <p>
              <Time iso={filter.from} /> – <Time iso={filter.to} />
            </p>
          )}
          {action.kind === 'bulk' && !byQuery && (
            <p>{t('bulk.selectionConfirm', { n: formatNumber(ids.length) })}</p>
          )}
          {progress && !result && (
            <div data-testid="bulk-progress">
              <label>
                {t('bulk.progress', {
                  done: formatNumber(progress.done),
                  matched: formatNumber(progress.matched),
                })}
                <progress value={progress.done} max={Math.max(1, progress.matched)} />
              </label>
              <p role="status">
                {t('bulk.result', {
                  matched: progress.matched,
                  succeeded: progress.succeeded,
                  failed: progress.failed,
                })}
              </p>
            </div>
          )}
        </>
      }
      submitLabel={t('common.confirm')}
      canSubmit={!(byQuery && !preview) && progress === null}
      error={error}
      outcome={
        result && (
          <>
            <p role="status" data-testid="bulk-result">
              {t('bulk.result', result)}
            </p>
            <button type="button" onClick={() => onDone(t('bulk.done', result))}>
              {t('common.close')}
            </button>
          </>
        )
      }
      onSubmit={submit}
      onClose={result ? () => onDone(t('bulk.done', result)) : onClose}
    >
      {(action.kind === 'status' || action.kind === 'close') && (
        <label>
          {t('action.status')}
          <select value={status} onChange={(e) => setStatusValue(e.target.value)}>
            {(action.kind === 'close'
              ? ['resolved', 'false_positive', 'duplicate']
              : ['new', 'acknowledged', 'in_progress', 'resolved', 'false_positive']
            ).map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}`)}
              </option>
            ))}
          </select>
        </label>
      )}
      {status === 'duplicate' && action.kind !== 'assign' && action.kind !== 'bulk' && (
        <label>
          {t('action.duplicateOf')}
          <input value={duplicateOf} onChange={(e) => setDuplicateOf(e.target.value)} required />
        </label>
      )}
      {action.kind === 'assign' ? (
        <label>
          {t('action.assignee')}
          <input value={assignee} onChange={(e) => setAssignee(e.target.value)} />
        </label>
      ) : (
        <label>
          {closing ? t('action.reasonRequired') : t('action.reason')}
          <textarea value={reason} onChange={(e) => setReason(e.target.value)} required={closing} />
        </label>
      )}
    </FormDialog>
  );
}
