import { type ReactNode, useLayoutEffect, useRef, useState } from 'react';
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

/**
 * A dialog around one form: the fields given, then submit and cancel, then the error. `onSubmit` runs once at
 * a time (the submit button is disabled and the form aria-busy meanwhile, so a double Enter does not send
 * twice); what it throws is shown in the dialog, which stays open for a correction. Closing on success is
 * the caller's (its onDone). `error` is a failure of the caller's own, e.g. loading the choices offered.
 * `outcome`, once given, takes the form's place in the same dialog: what a finished job reports.
 */
export function FormDialog({
  title,
  intro,
  submitLabel,
  canSubmit = true,
  error,
  outcome,
  onSubmit,
  onClose,
  children,
}: {
  title: string;
  /** Explanation shown above the form. */
  intro?: ReactNode;
  submitLabel: ReactNode;
  canSubmit?: boolean;
  error?: unknown;
  outcome?: ReactNode;
  onSubmit: () => Promise<void>;
  onClose: () => void;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<unknown>(null);
  // A ref, not the state: a second Enter can arrive before React re-renders with busy set.
  const running = useRef(false);
  const submit = async () => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setFailed(null);
    try {
      await onSubmit();
    } catch (err) {
      setFailed(err);
    } finally {
      running.current = false;
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} onClose={onClose}>
      {intro}
      {outcome ?? (
        <form
          aria-busy={busy}
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          {children}
          <div className="buttons">
            <button type="submit" disabled={!canSubmit || busy}>
              {submitLabel}
            </button>
            <button type="button" onClick={onClose}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      <ErrorText error={failed ?? error} />
    </Dialog>
  );
}
