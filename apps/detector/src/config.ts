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
  durable: str({
    env: 'CITYSOC_DETECTOR_DURABLE',
    description: 'Durable consumer name (replicas with the same name share the work)',
    default: 'detector',
  }),
};
