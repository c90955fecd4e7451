import { type FormEvent, useEffect, useState } from 'react';
import { type TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api';
import { ErrorText } from '../ui';

interface Me {
  username: string;
  role: string;
  unit: string | null;
  kind: 'session' | 'api_key';
}

/** Kept in step with the API's MIN_PASSWORD_LENGTH: the form says so before the server refuses. */
const MIN_LENGTH = 12;

/** The API's status says why a change was refused; the message says it in the analyst's language. */
function refusal(t: TFunction, status: number): string {
  if (status === 403) return t('account.wrongCurrent');
  if (status === 400) return t('account.refused');
  if (status === 429) return t('account.tooMany');
  return t('account.failed');
}

export function AccountPage() {
  const { t } = useTranslation();
  const [me, setMe] = useState<Me | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<Me>('GET', '/api/v1/auth/me').then(setMe, setLoadError);
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone('');
    if (!current) return setError(t('account.currentMissing'));
    if (next.length < MIN_LENGTH) return setError(t('account.tooShort', { min: MIN_LENGTH }));
    if (next !== again) return setError(t('account.mismatch'));
    setBusy(true);
    try {
      await api('POST', '/api/v1/auth/password', { current_password: current, new_password: next });
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(t('account.changed'));
    } catch (err) {
      setError(refusal(t, err instanceof ApiError ? err.status : 0));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="account-title" className="account">
      <h1 id="account-title">{t('account.title')}</h1>
      <ErrorText error={loadError} />
      {me && (
        <dl data-testid="me">
          <dt>{t('account.username')}</dt>
          <dd>{me.username}</dd>
          <dt>{t('account.role')}</dt>
          <dd>{t(`role.${me.role}`)}</dd>
          <dt>{t('account.unit')}</dt>
          <dd>{me.unit ?? t('account.cityWide')}</dd>
        </dl>
      )}
      <h2 id="password-title">{t('account.passwordTitle')}</h2>
      <form aria-labelledby="password-title" onSubmit={(e) => void submit(e)} noValidate>
        <p id="password-hint">{t('account.hint', { min: MIN_LENGTH })}</p>
        <label>
          {t('account.current')}
          <input
            type="password"
            name="current"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            required
          />
        </label>
        <label>
          {t('account.new')}
          <input
            type="password"
            name="new"
            autoComplete="new-password"
            aria-describedby="password-hint"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            required
          />
        </label>
        <label>
          {t('account.again')}
          <input
            type="password"
            name="again"
            autoComplete="new-password"
            value={again}
            onChange={(e) => setAgain(e.target.value)}
            required
          />
        </label>
        <button type="submit" disabled={busy}>
          {t('account.submit')}
        </button>
        <ErrorText error={error} />
        <p role="status" data-testid="account-status">
          {done}
        </p>
      </form>
    </section>
  );
}
