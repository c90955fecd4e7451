export {
  IncidentQueue,
  INCIDENTS_QUEUE,
  redisConnection,
  type IncidentJobData,
  type QueueSettings,
} from './incidents-queue';
export { SlaQueue, SLA_QUEUE, type SlaJobData } from './sla-queue';
