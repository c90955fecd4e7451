import { type RsitCategory, UNDETERMINED, isRsitCategory } from './taxonomy';

/**
 * ATT&CK technique → RSIT category, for the Sigma rules' `attack.tNNNN` tags. Our mapping, coarse on purpose:
 * an analyst's choice (the report annotation) always wins, and an unmapped rule is reported as undetermined
 * rather than guessed.
 */
const ATTACK_TO_RSIT: ReadonlyArray<[RegExp, RsitCategory]> = [
  [/^t1110(\.\d+)?$/, 'intrusion-attempts:brute-force'],
  [/^t1190$|^t1203$|^t1210$|^t1211$|^t1212$/, 'intrusion-attempts:exploit'],
  [/^t1078(\.\d+)?$/, 'intrusions:unprivileged-account-compromise'],
  [/^t1098(\.\d+)?$|^t1068$|^t1548(\.\d+)?$/, 'intrusions:privileged-account-compromise'],
  [/^t1498(\.\d+)?$|^t1499(\.\d+)?$/, 'availability:ddos'],
  [/^t1566(\.\d+)?$|^t1598(\.\d+)?$/, 'fraud:phishing'],
  [/^t1046$|^t1595(\.\d+)?$|^t1018$/, 'information-gathering:scanner'],
  [/^t1040$/, 'information-gathering:sniffing'],
  [/^t1486$|^t1485$/, 'availability:sabotage'],
  [/^t1491(\.\d+)?$/, 'intrusions:application-compromise'],
  [/^t1071(\.\d+)?$|^t1571$|^t1573(\.\d+)?$|^t1105$/, 'malicious-code:c2-server'],
  [/^t1204(\.\d+)?$|^t1059(\.\d+)?$/, 'malicious-code:infected-system'],
  [/^t1041$|^t1048(\.\d+)?$|^t1567(\.\d+)?$|^t1530$/, 'information-content-security:data-leak'],
  [/^t1562(\.\d+)?$|^t1070(\.\d+)?$|^t1136(\.\d+)?$/, 'intrusions:system-compromise'],
];

/** Explicit `rsit.<predicate>.<value>` (or `rsit:<predicate>:<value>`) tags first, then ATT&CK techniques. */
export function categoryFromTags(tags: readonly string[]): RsitCategory {
  for (const t of tags) {
    const m = /^rsit[.:]([a-z-]+)[.:]([a-z0-9-]+)$/i.exec(t.trim());
    if (m) {
      const c = `${m[1]!.toLowerCase()}:${m[2]!.toLowerCase()}`;
      if (isRsitCategory(c)) return c;
    }
  }
  for (const t of tags) {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t.trim());
    if (!m) continue;
    const tech = m[1]!.toLowerCase();
    const hit = ATTACK_TO_RSIT.find(([re]) => re.test(tech));
    if (hit) return hit[1];
  }
  return UNDETERMINED;
}
