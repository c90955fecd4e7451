/**
 * @citysoc/flow: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding into plain records and
 * ECS documents. Pure code: no sockets, no timers, no NestJS; the collector owns I/O and the shared
 * template store.
 */
export { decodeDatagram, flowRecordId } from './decode';
export {
  ECS_CARRIED,
  flowToEcs,
  flowToRaw,
  fullFlowFields,
  flowVersionOf,
  isOptionsDoc,
  type FlowEcsOptions,
  type FlowEcsExtras,
} from './ecs';
export { communityId } from './community-id';
export {
  MemoryTemplateCache,
  compileTemplate,
  scopeKey,
  applyChange,
  VARIABLE_LENGTH,
  type TemplateChange,
  type CompiledTemplate,
  type ExporterFacts,
  type MemoryTemplateCacheOptions,
  type PendingSet,
  type TemplateCache,
  type TemplateCacheStats,
  type TemplateDef,
  type TemplateField,
  type TemplateScope,
} from './templates';
export {
  ianaElement,
  ianaElementId,
  resolveElement,
  vendorElementName,
  Kind,
  type ElementInfo,
} from './elements/registry';
export { samplingRate, samplerOf, releaseHeld } from './sets';
export { uptimeToMs, textFields, textRecord } from './records';
export { SequenceTracker, type SequenceGap } from './sequence';
export type {
  DecodeContext,
  DecodeResult,
  FlowError,
  FlowErrorCode,
  FlowRecord,
  FlowValue,
  FlowVersion,
  MessageInfo,
  RecordLayout,
} from './types';
export { flowToEcsJson, type FlowJsonOptions } from './ecs-json';
export { dataOnlyDomain } from './route';
