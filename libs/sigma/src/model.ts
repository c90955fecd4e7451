import { type Requirement } from './prefilter/atoms';

export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type SigmaLevel = (typeof LEVELS)[number];

export const STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'] as const;

export type RuleKind = 'detection' | 'correlation' | 'filter';

export interface SigmaLogsource {
  product?: string;
  category?: string;
  service?: string;
  definition?: string;
}

export interface SigmaRelated {
  id: string;
  type: string;
}

/** Correlation documents are modelled so they load and travel; evaluating them is a later stage. */
export interface SigmaCorrelation {
  type: string;
  rules: string[];
  groupBy?: string[];
  timespan?: string;
  condition?: Record<string, unknown>;
  aliases?: Record<string, unknown>;
  generate?: boolean;
}

/** A Sigma filter document: `rules` it applies to, and its own detection (`selection…` + `condition`). */
export interface SigmaFilterSpec {
  rules: string[];
  detection: Record<string, unknown>;
}

/**
 * Whether this engine can evaluate the rule per event. Loading never fails on a well-formed rule it cannot
 * evaluate; it says so here, so `rules check` and the detector can report it.
 */
export interface RuleSupport {
  supported: boolean;
  reason?: string;
}

export interface SigmaRule {
  id: string;
  title: string;
  name?: string;
  status?: string;
  level: SigmaLevel;
  description?: string;
  author?: string;
  license?: string;
  references?: string[];
  tags?: string[];
  date?: string;
  modified?: string;
  related?: SigmaRelated[];
  taxonomy?: string;
  logsource: SigmaLogsource;
  detection: Record<string, unknown>;
  falsepositives?: string[];
  fields?: string[];
  source: { file: string; line: number };
  /** Lines of the detection's keys (search identifiers and `condition`), for compile errors with a location. */
  detectionLines?: Record<string, number>;
  /** A stable hash of the rule's normalized content, used in alert ids. */
  version: string;
  kind: RuleKind;
  correlation?: SigmaCorrelation;
  filter?: SigmaFilterSpec;
  support: RuleSupport;
}

export interface LoadOptions {
  /** deprecated/unsupported rules are skipped by default, as SigmaHQ intends. */
  includeStatuses?: { deprecated?: boolean; unsupported?: boolean };
}

/**
 * How a detection reads one field (the value its getter returns for `paths`): the verdict depends on the
 * value, compared with a few fixed values ('value'); only on whether it is there ('presence'); or on
 * what it contains, so values rarely repeat across events ('wide': substrings, regexes, numbers, CIDR).
 */
export interface FieldRead {
  readonly paths: readonly string[];
  readonly mode: 'value' | 'presence' | 'wide';
}

/**
 * Whether an event belongs to a logsource; supplied by whoever knows how events are shaped. `req`, when
 * given, is a necessary condition (one of its atoms holds on every event the predicate admits): the rule
 * set then answers "no" from its literal index, without calling the predicate, on events that lack them.
 */
export type LogsourcePredicate = ((event: Record<string, unknown>) => boolean) & {
  readonly req?: Requirement;
  /** A second necessary condition, independent of `req` (another operand of the selection's AND). */
  readonly req2?: Requirement;
  /**
   * The fields whose values alone decide the verdict (null: it searches every value; absent: unknown).
   * With it, a rule set asks the predicate once per distinct combination of those values, not per event.
   */
  readonly reads?: readonly FieldRead[] | null;
  /**
   * The verdict from the categorical fields of `reads` and the presence of its wide ones: 0 no, 1 yes,
   * 2 when it depends on what a present wide field holds (then the predicate itself is asked).
   */
  readonly partial?: (event: Record<string, unknown>) => 0 | 1 | 2;
  /**
   * Necessary for the predicate to hold on an event whose `partial` verdict was 2: a requirement on the
   * wide fields the verdict waits on (absent: unknown). Checked per event before asking the predicate.
   */
  readonly wreq?: Requirement;
};

/**
 * Event paths a Sigma field name resolves to, in order of preference: the value is read from the first
 * path present in the event (a processing pipeline's field mapping).
 */
export type FieldResolver = (field: string) => readonly string[];

export interface CompileOptions {
  /** Values for `%name%` placeholders used with `|expand`; each value may hold Sigma wildcards. */
  placeholders?: Record<string, string[]>;
  /** Sigma field name -> event path, applied before the event lookup. */
  fieldMap?: Record<string, string>;
  /**
   * Field resolution per rule logsource (a processing pipeline); when set it replaces `fieldMap` for the
   * rules it returns a resolver for.
   */
  fieldsFor?: (ls: SigmaLogsource) => FieldResolver | undefined;
  /** The resolver in force while one rule compiles (set from `fieldsFor`). */
  fields?: FieldResolver;
  /**
   * Logsource routing: the predicate selecting a logsource's events, or null when no event can belong to
   * it (the rule is then left out and listed in `notApplicable`). Without it every rule sees every event.
   */
  logsource?: (ls: SigmaLogsource) => LogsourcePredicate | null;
}

export interface RuleMatch {
  rule: SigmaRule;
  /** Event paths and values that satisfied the detection, best effort. */
  matchedFields: Record<string, unknown>;
}
