// The queue filter and its semantics live in the incident port (libs/store/src/incident-queue-port.ts; SQL in
// libs/store/src/sqlite/incident-queue.ts, query DSL in libs/store/src/elasticsearch/incident-queue.ts).
export {
  VIEWS,
  type QueueView,
  GROUPS,
  type QueueGroup,
  type QueueFilter,
  type QueueContext,
} from '@citysoc/store';
