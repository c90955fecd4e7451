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
      <TechniqueGrid />
    </section>
  );
}

interface Cell {
  id: string;
  rules: number;
  incidents: number;
  /** 1 when the latest finished drill run of a scenario covering it passed. */
  validated?: number;
  validated_by?: { run: string; scenario: string; at: string };
}

type Layer = 'rules' | 'incidents' | 'validated';
const LAYERS: readonly Layer[] = ['rules', 'incidents', 'validated'];
const techniqueNames: Record<string, string> = matrix.techniques;

/** The data file's name of a technique id as tagged (Sigma tags are lower case). */
function techniqueName(id: string): string | undefined {
  return techniqueNames[id.toUpperCase()];
}

/**
 * Techniques under the tactics their rules name, in two layers: enabled rules (coverage) and incidents
 * seen. The shade is the layer's count; every cell opens the rules tagged with that technique.
 */
function TechniqueGrid() {
  const { t } = useTranslation();
  const [grid, setGrid] = useState<{
    tactics: Array<{ key: string; techniques: Cell[] }>;
    unplaced: Cell[];
    drills_available?: boolean;
  } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [layer, setLayer] = useState<Layer>('rules');
  useEffect(() => {
    api<typeof grid>('GET', '/api/v1/console/attack/grid').then(setGrid).catch(setError);
  }, []);
  const order = new Map(matrix.tactics.map((x, i) => [x.shortname, i]));
  const names = new Map(matrix.tactics.map((x) => [x.shortname, x.name]));
  const columns = [...(grid?.tactics ?? [])].sort(
    (a, b) => (order.get(a.key) ?? 99) - (order.get(b.key) ?? 99) || a.key.localeCompare(b.key),
  );
  const count = (c: Cell) => (layer === 'validated' ? (c.validated ?? 0) : c[layer]);
  const max = Math.max(1, ...columns.flatMap((c) => c.techniques.map(count)));
  const cell = (c: Cell) => {
    const n = count(c);
    const shade = n === 0 ? 0 : layer === 'validated' ? 4 : Math.min(4, 1 + Math.floor((3 * n) / max));
    const name = techniqueName(c.id);
    return (
      <li key={c.id} className={`tcell shade-${shade}`} data-validated={c.validated ? 'yes' : 'no'}>
        <Link to={`/rules?technique=${encodeURIComponent(c.id)}`}>
          <span className="tid">{c.id}</span>
          <span className="tname">{name ?? t('attack.unnamed')}</span>
          <span className="n">
            {layer === 'rules'
              ? t('attack.cellRules', { n: formatNumber(n) })
              : layer === 'incidents'
                ? t('attack.incidents', { n: formatNumber(n) })
                : c.validated_by
                  ? t('attack.validatedBy', { scenario: c.validated_by.scenario })
                  : t('attack.notValidated')}
          </span>
          <span className="sr-only">
            {t('attack.cell', { rules: formatNumber(c.rules), incidents: formatNumber(c.incidents) })}{' '}
            {c.validated ? t('attack.validatedYes') : t('attack.notValidated')}
          </span>
        </Link>
      </li>
    );
  };
  return (
    <>
      <h2 id="grid-title">{t('attack.grid')}</h2>
      <p>{t('attack.gridNote')}</p>
      <ErrorText error={error} />
      <fieldset className="toolbar">
        <legend>{t('attack.layer')}</legend>
        {LAYERS.map((l) => (
          <label key={l}>
            <input type="radio" name="layer" value={l} checked={layer === l} onChange={() => setLayer(l)} />
            {l === 'rules'
              ? t('attack.layerRules')
              : l === 'incidents'
                ? t('attack.layerSeen')
                : t('attack.layerValidated')}
          </label>
        ))}
      </fieldset>
      {layer === 'validated' && grid && (
        <p data-testid="validated-note">
          {grid.drills_available === false ? t('attack.drillsUnavailable') : t('attack.validatedNote')}
        </p>
      )}
      {grid && columns.length === 0 && grid.unplaced.length === 0 && <p>{t('attack.noTechniques')}</p>}
      <div className="tgrid" data-testid="technique-grid" data-layer={layer}>
        {columns.map((col) => (
          <section key={col.key} aria-labelledby={`tac-${col.key}`}>
            <h3 id={`tac-${col.key}`}>{names.get(col.key) ?? t('attack.notInFile', { name: col.key })}</h3>
            <ul>{col.techniques.map(cell)}</ul>
          </section>
        ))}
        {grid && grid.unplaced.length > 0 && (
          <section aria-labelledby="tac-unplaced">
            <h3 id="tac-unplaced">{t('attack.unplaced')}</h3>
            <ul>{grid.unplaced.map(cell)}</ul>
          </section>
        )}
      </div>
    </>
  );
}
