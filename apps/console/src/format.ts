/** All times in the SOC's zone with the offset visible; UTC on hover. Storage and the API stay UTC. */
export const ZONE = 'Asia/Ho_Chi_Minh';

const fmts = new Map<string, Intl.DateTimeFormat>();

export function formatTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let f = fmts.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', {
      timeZone: ZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    });
    fmts.set(lang, f);
  }
  // Asia/Ho_Chi_Minh has no DST: the offset is always +07.
  return `${f.format(d)} +07`;
}

export function utcTitle(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().replace('T', ' ').replace('.000Z', 'Z')} UTC`;
}

const nf = new Intl.NumberFormat('vi-VN');
export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : nf.format(n);
}

/** ISO string for an <input type="datetime-local"> value read as +07:00. */
export function localInputToIso(v: string): string {
  if (!v) return '';
  const d = new Date(`${v}:00+07:00`);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export function isoToLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(Date.parse(iso) + 7 * 3600_000);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16);
}

/** Folds Vietnamese for client-side filtering (same as the server): "phuong hoan kiem" finds "Phường Hoàn Kiếm". */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[đĐ]/g, 'd').toLowerCase();
}

export const collator = new Intl.Collator('vi');

/** Display text for a value of unknown shape from the API (objects as JSON, never "[object Object]"). */
export function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Error) return v.message;
  return JSON.stringify(v);
}
