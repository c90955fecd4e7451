export {
  IncidentQueue,
  INCIDENTS_QUEUE,
  redisConnection,
  type IncidentJobData,
  type QueueSettings,
} from './incidents-queue';
