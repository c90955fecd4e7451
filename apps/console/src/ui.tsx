import { type ReactNode, useLayoutEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { formatTime, str, utcTitle } from './format';

export function Time({ iso }: { iso: string | null | undefined }) {
  const { i18n } = useTranslation();
  if (!iso) return null;
  return (
    <time dateTime={iso} title={utcTitle(iso)}>
      {formatTime(iso, i18n.language)}
    </time>
  );
}

const SEV_ICON: Record<string, string> = {
  critical: '▲▲',
  high: '▲',
  medium: '◆',
  low: '▼',
  informational: '○',
};

/** Severity as icon + word (never colour alone). */
export function Severity({ level }: { level: string }) {
  const { t } = useTranslation();
  return (
    <span className={`sev sev-${level}`}>
      <span aria-hidden="true">{SEV_ICON[level] ?? '·'}</span> {t(`severity.${level}`)}
    </span>
  );
}

export function Status({ status }: { status: string }) {
  const { t } = useTranslation();
  return <span className={`status status-${status}`}>{t(`status.${status}`)}</span>;
}

/** A modal dialog that traps focus, closes on Escape and returns focus to where it came from. */
export function Dialog({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  // Callers pass a new onClose on every render; the effect below must run once per opening, or a parent's
  // re-render (a reload finishing while the analyst types) would move focus back to the first field.
  const close = useRef(onClose);
  close.current = onClose;
  // A layout effect focuses the first field before the browser handles the next key: with a passive effect,
  // a fast typist's first keystrokes after opening the dialog went to the element behind it.
  useLayoutEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>('input, textarea, select, button, [tabindex="0"]');
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        close.current();
      } else if (e.key === 'Tab' && el) {
        const items = [
          ...el.querySelectorAll<HTMLElement>('input, textarea, select, button, a[href], [tabindex="0"]'),
        ];
        const a = items[0];
        const b = items[items.length - 1];
        if (!a || !b) return;
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          b.focus();
        } else if (!e.shiftKey && document.activeElement === b) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    el?.addEventListener('keydown', onKey);
    return () => {
      el?.removeEventListener('keydown', onKey);
      prev?.focus();
    };
  }, []);
  return (
    <div className="backdrop">
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="dialog-title"
        ref={ref}
        tabIndex={-1}
      >
        <h2 id="dialog-title">{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error instanceof Error ? error.message : str(error)}
    </p>
  );
}
