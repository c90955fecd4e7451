/**
 * Stable error codes: callers (CLI, detector, tests) branch on `code`, never on message text, so messages
 * can be improved without breaking anyone.
 */
export const SIGMA_ERROR_CODES = [
  'YAML_SYNTAX',
  'INVALID_DOCUMENT',
  'MISSING_FIELD',
  'INVALID_FIELD',
  'INVALID_DETECTION',
  'UNKNOWN_IDENTIFIER',
  'CONDITION_SYNTAX',
  'UNSUPPORTED_AGGREGATION',
  'UNKNOWN_MODIFIER',
  'MODIFIER_CONFLICT',
  'INVALID_MODIFIER_VALUE',
  'UNSUPPORTED_REGEX',
  'INVALID_CIDR',
  'UNRESOLVED_PLACEHOLDER',
  'UNSUPPORTED_RULE_KIND',
  'IO',
] as const;
export type SigmaErrorCode = (typeof SIGMA_ERROR_CODES)[number];

export class SigmaError extends Error {
  readonly code: SigmaErrorCode;
  readonly line?: number;

  constructor(code: SigmaErrorCode, message: string, line?: number) {
    super(message);
    this.name = 'SigmaError';
    this.code = code;
    if (line !== undefined) this.line = line;
  }
}

/** One problem with one rule document, located for `file:line: message` output. */
export interface RuleError {
  file: string;
  line: number;
  column?: number;
  ruleId?: string;
  code?: SigmaErrorCode;
  message: string;
}
