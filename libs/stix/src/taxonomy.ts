/**
 * ENISA / TF-CSIRT Reference Security Incident Taxonomy (RSIT), the vocabulary CERTs exchange; copied from
 * corpus/taxonomies/rsit/machinetag.json (CC0) so the library needs no file at run time.
 */
export const RSIT = {
  'abusive-content': ['spam', 'harmful-speech', 'violence'],
  'malicious-code': ['infected-system', 'c2-server', 'malware-distribution', 'malware-configuration'],
  'information-gathering': ['scanner', 'sniffing', 'social-engineering'],
  'intrusion-attempts': ['ids-alert', 'brute-force', 'exploit'],
  intrusions: [
    'privileged-account-compromise',
    'unprivileged-account-compromise',
    'application-compromise',
    'system-compromise',
    'burglary',
  ],
  availability: ['dos', 'ddos', 'misconfiguration', 'sabotage', 'outage'],
  'information-content-security': [
    'unauthorised-information-access',
    'unauthorised-information-modification',
    'data-loss',
    'data-leak',
  ],
  fraud: ['unauthorised-use-of-resources', 'copyright', 'masquerade', 'phishing'],
  vulnerable: [
    'weak-crypto',
    'ddos-amplifier',
    'potentially-unwanted-accessible',
    'information-disclosure',
    'vulnerable-system',
  ],
  other: ['other', 'undetermined'],
  test: ['test'],
} as const;

export type RsitPredicate = keyof typeof RSIT;
/** `predicate:value`, e.g. `intrusion-attempts:brute-force`. */
export type RsitCategory = {
  [P in RsitPredicate]: `${P}:${(typeof RSIT)[P][number]}`;
}[RsitPredicate];

export const UNDETERMINED: RsitCategory = 'other:undetermined';

export function isRsitCategory(v: unknown): v is RsitCategory {
  if (typeof v !== 'string') return false;
  const [p, val, extra] = v.split(':');
  if (p === undefined || val === undefined || extra !== undefined || !(p in RSIT)) return false;
  return (RSIT[p as RsitPredicate] as readonly string[]).includes(val);
}

/** Mẫu 05 (Circular 20/2017) rows; our mapping from RSIT, not an official one (national-center.md §3.4). */
export type VnCategory =
  | 'tu-choi-dich-vu'
  | 'gia-mao'
  | 'ma-doc'
  | 'truy-cap-trai-phep'
  | 'thay-doi-giao-dien'
  | 'ma-hoa-du-lieu'
  | 'pha-hoai'
  | 'lay-cap-thong-tin'
  | 'tong-hop'
  | 'khac';

export function vnCategoryOf(c: RsitCategory): VnCategory {
  const [p, v] = c.split(':') as [RsitPredicate, string];
  switch (p) {
    case 'availability':
      return v === 'dos' || v === 'ddos' ? 'tu-choi-dich-vu' : v === 'sabotage' ? 'pha-hoai' : 'khac';
    case 'fraud':
      return v === 'phishing' || v === 'masquerade' ? 'gia-mao' : 'khac';
    case 'malicious-code':
      return 'ma-doc';
    case 'intrusions':
    case 'intrusion-attempts':
      return v === 'ids-alert' ? 'khac' : 'truy-cap-trai-phep';
    case 'information-content-security':
      return v === 'unauthorised-information-modification' ? 'pha-hoai' : 'lay-cap-thong-tin';
    case 'information-gathering':
      return v === 'sniffing' ? 'lay-cap-thong-tin' : 'khac';
    case 'abusive-content':
    case 'vulnerable':
    case 'other':
    case 'test':
      return 'khac';
  }
}

/** MISP machine-tag form, so a MISP at the centre files the object under its `rsit` taxonomy. */
export function rsitLabel(c: RsitCategory): string {
  const [p, v] = c.split(':') as [string, string];
  return `rsit:${p}="${v}"`;
}
