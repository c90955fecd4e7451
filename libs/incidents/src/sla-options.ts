import { type OptionSpec } from '@citysoc/config';
import {
  type BusinessHours,
  DEFAULT_SLA,
  parseBusinessHours,
  parseSlaPolicies,
  type SlaPolicies,
} from './sla';

/**
 * SLA settings shared by the responder (which times incidents as they open) and the API (which times an
 * incident split off another, or tightened by a merge): one definition, so both read the same variables.
 */
export const slaOptions = {
  slaPolicy: {
    env: 'CITYSOC_SLA_POLICY',
    description:
      'Minutes to claim/resolve per severity, e.g. critical=15/240,high=30/480 (- for none); unlisted keep defaults; unit:severity=a/r overrides a unit subtree, e.g. hanoi/ba-dinh:critical=10/120',
    default: { default: DEFAULT_SLA, byUnit: {} },
    example: 'critical=15/240,high=30/480,medium=240/4320,low=1440/10080,informational=-/-',
    parse: (raw: string) => parseSlaPolicies(raw),
  } satisfies OptionSpec<SlaPolicies>,
  slaBusinessHours: {
    env: 'CITYSOC_SLA_BUSINESS_HOURS',
    description:
      'SLA clocks of these severities run only in working time (Asia/Ho_Chi_Minh), e.g. days=mon-fri;hours=08:00-17:00;severities=low,medium; empty = around the clock',
    default: null,
    example: 'days=mon-fri;hours=08:00-17:00;severities=low,medium',
    parse: (raw: string) => parseBusinessHours(raw) ?? null,
  } satisfies OptionSpec<BusinessHours | null>,
};
