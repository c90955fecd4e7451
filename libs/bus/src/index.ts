export { busNames, type BusNames } from './names';
export {
  RULE_STATS_BUCKET,
  combineRuleStats,
  ruleStatsKey,
  type RuleCost,
  type RuleStatsSnapshot,
  type CombinedRuleStats,
} from './rule-stats';
export {
  isRetryableBusError,
  retryReason,
  retryTransient,
  backoffMs,
  sleep,
  DEFAULT_START_RETRY_MS,
  type RetryReason,
  type StartRetryOptions,
} from './retry';
export { connectBus, type BusConnectOptions } from './connection';
export { streamConfigs, ensureStreams, isNotFound, DUPLICATE_WINDOW_MS, type StreamLimits } from './streams';
export { JetStreamPublisher, PublishError, type OutMessage } from './publisher';
export {
  DurableConsumer,
  ensureConsumer,
  readRange,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_RETRY_MAX_MS,
  type BusMessage,
  type DurableSpec,
  type BatchHandler,
  type ConsumerRunOptions,
  type Logger,
} from './consumer';
export { openBus, type Bus, type BusSettings } from './open';
export { consumeJson, expandBatches, type JsonConsumerOptions } from './json-consumer';
export { openKv, kvView, KvBuckets } from './kv';
export { SkipDetector, type DeliveryPosition, type SeqRange } from './skips';
export {
  KvBlobStore,
  KvBlobError,
  isRevisionConflict,
  splitChunks,
  parseManifest,
  assemble,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_ORPHAN_GRACE_MS,
  type BlobManifest,
  type BlobRead,
  type KvBlobOptions,
} from './kv-blob';
