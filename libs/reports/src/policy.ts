import { type RsitCategory } from '@citysoc/stix';

export interface PolicyFacts {
  severity: string;
  category: RsitCategory;
  unitIds: readonly string[];
  /** A lead asked for this incident to be reported. */
  requested: boolean;
  drill: boolean;
}

export type PolicyDecision = { report: true; because: string } | { report: false; because: string };

/**
 * Whether an incident goes to the national centre on its own: a lead's request, its level, its category or
 * an affected unit. Drills are decided later by the privacy policy (skipped, or flagged as exercises).
 */
export function decide(
  f: PolicyFacts,
  p: { levels: readonly string[]; categories: readonly string[]; units: readonly string[] },
): PolicyDecision {
  if (f.requested) return { report: true, because: 'requested by a lead' };
  if (p.levels.includes(f.severity)) return { report: true, because: `level ${f.severity}` };
  const [pred] = f.category.split(':');
  const cat = p.categories.find((c) => c === f.category || c === pred);
  if (cat) return { report: true, because: `category ${f.category}` };
  const unit = f.unitIds.find((u) => p.units.includes(u));
  if (unit) return { report: true, because: `unit ${unit}` };
  return { report: false, because: 'below the reporting policy' };
}
