import path from 'node:path';
import { bool, int, metricsOptions, natsOptions, projectRoot, ruleOptions, str } from '@citysoc/config';

export const detectorSchema = {
  ...natsOptions,
  ...metricsOptions,
  ...ruleOptions,
  metricsPort: int({
    env: 'CITYSOC_DETECTOR_METRICS_PORT',
    description: 'Detector /metrics and /health port (-1 = off)',
    default: 9102,
    min: -1,
    max: 65535,
  }),
  builtinRules: str({
    env: 'CITYSOC_BUILTIN_RULES',
    description: 'The rules folder shipped with citysoc',
    default: path.join(projectRoot(), 'rules'),
    example: './rules',
  }),
  batchSize: int({
    env: 'CITYSOC_DETECTOR_BATCH',
    description: 'Events fetched from EVENTS per batch',
    default: 256,
    min: 1,
    max: 10_000,
  }),
  includeExperimental: bool({
    env: 'CITYSOC_RULES_INCLUDE_EXPERIMENTAL',
    description: 'Load rules with status experimental/test as well as stable',
    default: true,
  }),
  pipeline: str({
    env: 'CITYSOC_DETECTOR_PIPELINE',
    description:
      'Sigma processing pipeline: a name looked up as pipelines/NAME.yml in the rule folders, a file path, or none',
    default: 'citysoc',
  }),
  watchRules: bool({
    env: 'CITYSOC_DETECTOR_WATCH_RULES',
    description: 'Reload the rules when a file in a rule folder changes',
    default: true,
  }),
  reloadDebounceMs: int({
    env: 'CITYSOC_DETECTOR_RELOAD_DEBOUNCE_MS',
    description: 'Quiet time after the last rule file change before the rules are reloaded',
    default: 500,
    min: 0,
    max: 60_000,
  }),
  ruleStatsSeconds: int({
    env: 'CITYSOC_DETECTOR_RULE_STATS_SECONDS',
    description:
      'How often this replica publishes its per-rule cost (evaluations, matches, time) to the rule-stats KV bucket the console reads (0 = never)',
    default: 15,
    min: 0,
    max: 3600,
  }),
  ruleMetricsTop: int({
    env: 'CITYSOC_DETECTOR_RULE_METRICS_TOP',
    description:
      'Per-rule cost metrics carry a rule_id label for the costliest N rules; the rest are summed under rule_id="_other"',
    default: 50,
    min: 0,
    max: 10_000,
  }),
  correlationPartitions: int({
    env: 'CITYSOC_DETECTOR_CORRELATION_PARTITIONS',
    description:
      'Correlation partitions shared by detector replicas (0 = each detector correlates what it consumes; set the same P > 0 on every replica to run several)',
    default: 0,
    min: 0,
    max: 1024,
  }),
  instance: str({
    env: 'CITYSOC_DETECTOR_INSTANCE',
    description: 'This replica id for partition leases (default: hostname-pid)',
    default: '',
  }),
  leaseMs: int({
    env: 'CITYSOC_DETECTOR_LEASE_MS',
    description:
      'A correlation partition whose owner has not renewed its lease for this long moves to another replica',
    default: 15_000,
    min: 300,
    max: 600_000,
  }),
  stateWaitMs: int({
    env: 'CITYSOC_DETECTOR_STATE_WAIT_MS',
    description:
      'At start, how long to keep reading the saved correlation state when it is missing although this durable has acked events before (a KV leader catching up after a NATS restart); then the windows start empty, logged and counted',
    default: 10_000,
    min: 0,
    max: 600_000,
  }),
  durable: str({
    env: 'CITYSOC_DETECTOR_DURABLE',
    description: 'Durable consumer name (replicas with the same name share the work)',
    default: 'detector',
  }),
};
