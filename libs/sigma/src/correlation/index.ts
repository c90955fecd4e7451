export { CorrelationEngine } from './engine';
export {
  compileCorrelations,
  parseTimespan,
  CORRELATION_TYPES,
  CONDITION_OPS,
  type CorrelationType,
  type ConditionOp,
  type CompiledCorrelation,
} from './compile';
export type {
  CorrelationHit,
  CorrelationOptions,
  CorrelationRuleStats,
  CorrelationState,
  GroupValue,
} from './types';
