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
  type LogsourcePredicate,
  type FieldResolver,
  LEVELS,
} from './model';
export { loadRules, loadRulesFromText, ruleFiles } from './load';
export {
  RuleSetCache,
  type LoadedRuleSet,
  type RuleSetCacheOptions,
  ruleFolderFingerprint,
} from './rule-set-cache';
export {
  compileRule,
  compileRules,
  filterApplies,
  type CompiledRule,
  type CompiledRuleSet,
  type RuleStats,
  type RuleSetStats,
  SAMPLE_EVERY,
} from './ruleset';
export { type IndexInfo } from './prefilter/candidates';
export * from './correlation';
export * from './backends/elasticsearch';
export {
  type PipelineSpec,
  type PipelineLogsource,
  type CompiledPipeline,
  type LogsourceSelection,
  type LoadedPipeline,
  PIPELINE_SCHEMA,
  loadPipelineFile,
  loadPipelineFromText,
  findPipeline,
  pipelineCompileOptions,
} from './pipeline';
export { PIPELINES_DIR } from './load';
export { StreamMatcher, type CorrelationLine } from './stream';
