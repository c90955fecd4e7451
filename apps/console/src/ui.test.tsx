import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { setLanguage } from './i18n';
import { FormDialog } from './ui';

/**
 * A page with one FormDialog for test/console/form-dialog.e2e.ts, bundled on the fly: the browser test drives
 * it with the keyboard and settles each submit from outside through window.formDialogHarness (typed in the
 * test), so the busy state can be seen while a submit is pending without any timing.
 */
const log: string[] = [];
let pending: { resolve: () => void; reject: (e: Error) => void } | null = null;
let failLoad: (message: string) => void = () => undefined;

function Harness() {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [loadError, setLoadError] = useState<unknown>(null);
  failLoad = (message) => setLoadError(new Error(message));
  const submit = async () => {
    log.push('submit');
    await new Promise<void>((resolve, reject) => {
      pending = { resolve, reject };
    });
    log.push('done');
    setOpen(false);
  };
  return (
    <main>
      <h1>FormDialog</h1>
      <button type="button" id="opener" onClick={() => setOpen(true)}>
        Open
      </button>
      {open && (
        <FormDialog
          title="Rename the thing"
          intro={<p id="intro">Why this dialog exists.</p>}
          submitLabel="Rename"
          canSubmit={name.trim() !== ''}
          error={loadError}
          onSubmit={submit}
          onClose={() => {
            log.push('close');
            setOpen(false);
          }}
        >
          <label>
            Name
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Note
            <textarea name="note" />
          </label>
        </FormDialog>
      )}
    </main>
  );
}

const harness = {
  /** What happened, in order: submit, done (a submit resolved), close. */
  log,
  /** Settles the pending submit: resolves it, or rejects it with this message. */
  settle: (failure?: string) => {
    const p = pending;
    pending = null;
    if (failure === undefined) p?.resolve();
    else p?.reject(new Error(failure));
  },
  /** Fails the "loading" the dialog's caller does (the `error` prop). */
  failLoad: (message: string) => failLoad(message),
  setLanguage,
};
(window as unknown as { formDialogHarness: typeof harness }).formDialogHarness = harness;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Harness />
  </StrictMode>,
);
