import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router';
import { api, type Session, setSession } from '../api';
import { setLanguage } from '../i18n';
import { ErrorText } from '../ui';

export function LoginPage({ onLogin }: { onLogin: (s: Session) => void }) {
  const { t, i18n } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ token: string; expires_at: string }>('POST', '/api/v1/auth/login', {
        username,
        password,
      });
      const s = { token: r.token, expires_at: r.expires_at, username };
      setSession(s);
      onLogin(s);
      const next = params.get('next');
      void navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/queue', {
        replace: true,
      });
    } catch {
      setError(t('login.failed'));
    }
  };
  return (
    <main id="main" className="login">
      <h1>{t('login.title')}</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          {t('login.username')}
          <input
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </label>
        <label>
          {t('login.password')}
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <button type="submit">{t('login.submit')}</button>
        <ErrorText error={error} />
      </form>
      <label>
        {t('shell.language')}
        <select value={i18n.language} onChange={(e) => setLanguage(e.target.value === 'en' ? 'en' : 'vi')}>
          <option value="vi">{t('shell.lang.vi')}</option>
          <option value="en">{t('shell.lang.en')}</option>
        </select>
      </label>
    </main>
  );
}
