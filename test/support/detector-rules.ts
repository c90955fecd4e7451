import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * An SSH failure rule and an event_count correlation over it, grouped by source.ip. The rule ids are
 * `${idPrefix}-0000-4000-8000-00000000000{1,2}`, so each suite can tell its own alerts apart.
 */
export function sshGuessingRules(
  idPrefix: string,
  threshold: number,
  timespan = '10m',
): Record<string, string> {
  return {
    'base.yml': `title: SSH login failure
name: ssh_login_failure
id: ${idPrefix}-0000-4000-8000-000000000001
status: stable
logsource:
  product: citysoc
detection:
  sel:
    message|contains: Failed password
  condition: sel
level: low
`,
    'correlation.yml': `title: SSH password guessing from one address
id: ${idPrefix}-0000-4000-8000-000000000002
status: stable
correlation:
  type: event_count
  rules:
    - ssh_login_failure
  group-by:
    - source.ip
  timespan: ${timespan}
  condition:
    gte: ${threshold}
level: high
`,
  };
}

/** A new temporary folder holding `rules` (file name to text); the caller removes it. */
export function writeRulesDir(name: string, rules: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `citysoc-${name}-`));
  for (const [f, text] of Object.entries(rules)) writeFileSync(path.join(dir, f), text);
  return dir;
}
