import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { api, getSession, type Session, setSession } from './api';
import { setLanguage } from './i18n';
import { useKeys } from './keys';
import { AccountPage } from './pages/Account';
import { AttackPage } from './pages/Attack';
import { AuditPage } from './pages/Audit';
import { DashPage } from './pages/Dash';
import { DrillsPage } from './pages/Drills';
import { EntityPage } from './pages/Entity';
import { HuntPage } from './pages/Hunt';
import { IncidentPage } from './pages/Incident';
import { LoginPage } from './pages/Login';
import { QueuePage } from './pages/Queue';
import { ReportsPage } from './pages/Reports';
import { RulesPage } from './pages/Rules';
import { StoragePage } from './pages/Storage';
import { UnitsPage } from './pages/Units';
import { Dialog } from './ui';

const NAV = [
  ['/queue', 'nav.queue'],
  ['/hunt', 'nav.hunt'],
  ['/dash', 'nav.dash'],
  ['/units', 'nav.units'],
  ['/rules', 'nav.rules'],
  ['/attack', 'nav.attack'],
  ['/reports', 'nav.reports'],
  ['/audit', 'nav.audit'],
  ['/storage', 'nav.storage'],
  ['/drills', 'nav.drills'],
] as const;

const HELP_KEYS = [
  'j / k',
  'x',
  'Enter',
  'c',
  'a',
  's',
  'e',
  'n',
  'p',
  'm',
  'b',
  '/',
  '[ / ]',
  'g q',
  'g h',
  'g d',
  'Ctrl+K',
  '?',
  'Esc',
] as const;

export function App() {
  const { t, i18n } = useTranslation();
  const [session, setS] = useState<Session | null>(getSession());
  const [help, setHelp] = useState(false);
  const [palette, setPalette] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    document.documentElement.lang = i18n.language;
  }, [i18n.language]);
  useEffect(() => {
    const out = () => setS(null);
    window.addEventListener('citysoc:logout', out);
    return () => window.removeEventListener('citysoc:logout', out);
  }, []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setPalette(true);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  useKeys(
    {
      'g q': () => void navigate('/queue'),
      'g h': () => void navigate('/hunt'),
      'g d': () => void navigate('/dash'),
      '?': () => setHelp(true),
    },
    session !== null,
  );

  const logout = useCallback(async () => {
    try {
      await api('POST', '/api/v1/auth/logout');
    } finally {
      setSession(null);
      setS(null);
    }
  }, []);

  if (!session)
    return location.pathname === '/login' ? (
      <LoginPage onLogin={(s) => setS(s)} />
    ) : (
      <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />
    );

  return (
    <>
      <a className="skip" href="#main">
        {t('shell.skip')}
      </a>
      <header className="top">
        <Link to="/queue" className="brand">
          {t('shell.brand')}
        </Link>
        <nav aria-label={t('shell.nav')}>
          <ul>
            {NAV.map(([to, key]) => (
              <li key={to}>
                <NavLink to={to}>{t(key)}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <label>
            <span className="sr-only">{t('shell.language')}</span>
            <select
              value={i18n.language}
              onChange={(e) => setLanguage(e.target.value === 'en' ? 'en' : 'vi')}
            >
              <option value="vi">{t('shell.lang.vi')}</option>
              <option value="en">{t('shell.lang.en')}</option>
            </select>
          </label>
          <NavLink to="/account" aria-label={t('shell.accountOf', { user: session.username })}>
            {session.username}
          </NavLink>
          <button type="button" onClick={() => setHelp(true)}>
            {t('shell.help')}
          </button>
          <button type="button" onClick={() => void logout()}>
            {t('shell.logout')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/queue" replace />} />
          <Route path="/login" element={<Navigate to="/queue" replace />} />
          <Route path="/queue" element={<QueuePage me={session.username} />} />
          <Route path="/incidents/:id" element={<IncidentPage me={session.username} />} />
          <Route path="/hunt" element={<HuntPage />} />
          <Route path="/entities/:type/:value" element={<EntityPage />} />
          <Route path="/units" element={<UnitsPage />} />
          <Route path="/dash" element={<DashPage />} />
          <Route path="/audit" element={<AuditPage />} />
          <Route path="/storage" element={<StoragePage />} />
          <Route path="/reports" element={<ReportsPage />} />
          <Route path="/rules" element={<RulesPage />} />
          <Route path="/attack" element={<AttackPage />} />
          <Route path="/drills" element={<DrillsPage />} />
          <Route path="/account" element={<AccountPage />} />
          <Route path="*" element={<p>{t('shell.notFound')}</p>} />
        </Routes>
      </main>
      {help && (
        <Dialog title={t('help.title')} onClose={() => setHelp(false)}>
          <table className="table">
            <caption className="sr-only">{t('help.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('help.key')}</th>
                <th scope="col">{t('help.action')}</th>
              </tr>
            </thead>
            <tbody>
              {HELP_KEYS.map((k) => (
                <tr key={k}>
                  <td>
                    <kbd>{k}</kbd>
                  </td>
                  <td>{t(`help.${k}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => setHelp(false)}>
            {t('common.close')}
          </button>
        </Dialog>
      )}
      {palette && <Palette onClose={() => setPalette(false)} />}
    </>
  );
}

/** Ctrl/⌘+K: jump to a page, an incident id, an entity or a search. */
function Palette({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [text, setText] = useState('');
  const go = (to: string) => {
    onClose();
    void navigate(to);
  };
  const v = text.trim();
  const options: Array<[string, string]> = [
    ...NAV.filter(([, key]) => !v || t(key).toLowerCase().includes(v.toLowerCase())).map(
      ([to, key]) => [to, t(key)] as [string, string],
    ),
    ...(v
      ? ([
          [`/incidents/${encodeURIComponent(v)}`, t('palette.incident', { v })],
          [`/queue?view=all&q=${encodeURIComponent(v)}`, t('palette.search', { v })],
          [`/entities/ip/${encodeURIComponent(v)}`, t('palette.entity', { v })],
        ] as Array<[string, string]>)
      : []),
  ];
  return (
    <Dialog title={t('palette.title')} onClose={onClose}>
      <label>
        {t('palette.label')}
        <input
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && options[0]) go(options[0][0]);
          }}
        />
      </label>
      <ul className="palette">
        {options.map(([to, label]) => (
          <li key={to}>
            <button type="button" onClick={() => go(to)}>
              {label}
            </button>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
