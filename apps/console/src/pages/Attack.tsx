import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import matrix from '../attack-enterprise.json';
import { formatNumber } from '../format';
import { ErrorText } from '../ui';

interface Counts {
  tactics: Array<{ key: string; incidents: number }>;
  techniques: Array<{ key: string; incidents: number }>;
}

/**
 * Tactics from the data file (with its ATT&CK version) and the incidents observed per tactic. Tags the file
 * does not know (newer ATT&CK, e.g. SigmaHQ's renumbered tactics) are listed, not dropped.
 */
export function AttackPage() {
  const { t } = useTranslation();
  const [counts, setCounts] = useState<Counts | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<Counts>('GET', '/api/v1/console/attack').then(setCounts).catch(setError);
  }, []);
  const byTactic = new Map((counts?.tactics ?? []).map((r) => [r.key, r.incidents]));
  const known = new Set(matrix.tactics.map((x) => x.shortname));
  const unknown = (counts?.tactics ?? []).filter((r) => !known.has(r.key));
  return (
    <section aria-labelledby="attack-title">
      <h1 id="attack-title">{t('attack.title')}</h1>
      <p>{t('attack.version', { v: matrix.attack_version })}</p>
      <ErrorText error={error} />
      <ul className="matrix">
        {matrix.tactics.map((x) => {
          const n = byTactic.get(x.shortname) ?? 0;
          return (
            <li key={x.id} className={n ? 'seen' : undefined}>
              <Link to={`/queue?view=all&tactic=${x.shortname}`}>
                <span className="tid">{x.id}</span> {x.name}
                <span className="n">{t('attack.incidents', { n: formatNumber(n) })}</span>
              </Link>
            </li>
          );
        })}
      </ul>
      {unknown.length > 0 && (
        <>
          <h2>{t('attack.unknown')}</h2>
          <ul>
            {unknown.map((r) => (
              <li key={r.key}>
                <Link to={`/queue?view=all&tactic=${encodeURIComponent(r.key)}`}>{r.key}</Link> ·{' '}
                {t('attack.incidents', { n: formatNumber(r.incidents) })}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>{t('attack.techniques')}</h2>
      <ul>
        {(counts?.techniques ?? []).map((r) => (
          <li key={r.key}>
            {r.key} · {t('attack.incidents', { n: formatNumber(r.incidents) })}
          </li>
        ))}
      </ul>
    </section>
  );
}
