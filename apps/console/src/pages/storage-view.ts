/**
 * What the storage page shows, from GET /api/v1/storage (the StorageInfo of libs/store): pure, so it is
 * tested without a browser. Mirrors the API's shape; fields the engine does not report stay absent.
 */
// Copied, not imported: libs/store's ports import @citysoc/* libs the console's tsconfig cannot resolve.
export interface StorageInfo {
  engine: 'sqlite' | 'elasticsearch';
  status: 'ok' | 'green' | 'yellow' | 'red';
  events: number;
  alerts: number;
  bytes?: number;
  dataStreams?: Array<{
    name: string;
    status: string;
    backingIndices: number;
    template?: string;
    ilmPolicy?: string;
    bytes?: number;
    docs?: number;
    writeIndex?: string;
    lastRolloverAt?: string;
    ilmPhase?: string;
    phases?: Record<string, number>;
    ilmErrors?: Array<{ index: string; failedStep?: string; reason: string }>;
  }>;
  writes?: {
    requests: number;
    retries: number;
    created: number;
    duplicates: number;
    rejected: number;
    lastFailure?: { at: string; message: string };
  };
  errors?: string[];
}

export interface StreamRow {
  name: string;
  status: string;
  docs: number | null;
  bytes: number | null;
  backingIndices: number;
  ilmPolicy: string;
  /** `hot` — the write index's phase; `hot 1 · warm 5 · delete 1` — the backing indices per phase. */
  phase: string;
  phases: string;
  lastRolloverAt: string | null;
  ilmErrors: string[];
}

/** ILM phases in lifecycle order, so `phases` reads the way data ages. */
const PHASE_ORDER = ['new', 'hot', 'warm', 'cold', 'frozen', 'delete'];

export function streamRows(info: StorageInfo): StreamRow[] {
  return (info.dataStreams ?? []).map((d) => ({
    name: d.name,
    status: d.status,
    docs: d.docs ?? null,
    bytes: d.bytes ?? null,
    backingIndices: d.backingIndices,
    ilmPolicy: d.ilmPolicy ?? '',
    phase: d.ilmPhase ?? '',
    phases: Object.entries(d.phases ?? {})
      .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
      .map(([p, n]) => `${p} ${n}`)
      .join(' · '),
    lastRolloverAt: d.lastRolloverAt ?? null,
    ilmErrors: (d.ilmErrors ?? []).map(
      (e) => `${e.index}${e.failedStep ? ` (${e.failedStep})` : ''}: ${e.reason}`,
    ),
  }));
}

function rank(phase: string): number {
  const i = PHASE_ORDER.indexOf(phase);
  return i < 0 ? PHASE_ORDER.length : i;
}

/** Healthy means nothing to act on: the status is ok/green and the API listed no errors. */
export function needsAttention(info: StorageInfo): boolean {
  return (info.status !== 'ok' && info.status !== 'green') || (info.errors ?? []).length > 0;
}

/** 1536 → "1.5 KiB": sizes of indices span bytes to terabytes. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
