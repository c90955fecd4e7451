export { SigmaError, type SigmaErrorCode, SIGMA_ERROR_CODES, type RuleError } from './errors';
export {
  type SigmaRule,
  type SigmaLevel,
  type SigmaLogsource,
  type SigmaCorrelation,
  type SigmaFilterSpec,
  type SigmaRelated,
  type RuleKind,
  type RuleSupport,
  type LoadOptions,
  type CompileOptions,
  type RuleMatch,
  LEVELS,
} from './model';
export { loadRules, loadRulesFromText } from './load';
export { compileRule, compileRules, type CompiledRule, type CompiledRuleSet } from './ruleset';
