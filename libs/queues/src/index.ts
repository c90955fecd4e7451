export {
  IncidentQueue,
  INCIDENTS_QUEUE,
  jobPriority,
  type ClaimVerdict,
  type Claimed,
  type IncidentJobData,
  type QueueSettings,
} from './incidents-queue';
export { SlaQueue, SLA_QUEUE, type SlaJobData } from './sla-queue';
export {
  NotifyQueue,
  NOTIFY_QUEUE,
  signWebhook,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type Notification,
  type NotifyJobData,
  type NotifySettings,
  type FailedNotification,
  type DryRunNotification,
} from './notify-queue';
export {
  redisConnection,
  redisOptionsFor,
  redisSettingsFromEnv,
  redisPersistence,
  assertRedisDurable,
  redisReadyCheck,
  parseHostPort,
  type RedisConnectionSettings,
  type RedisPersistence,
} from './redis';
