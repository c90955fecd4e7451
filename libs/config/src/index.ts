export {
  type OptionSpec,
  type Schema,
  type ConfigOf,
  ConfigError,
  loadConfig,
  renderEnvExample,
} from './schema';
export { str, int, port, bool, list, oneOf, url } from './options';
export {
  natsOptions,
  redisOptions,
  redisConnectionOptions,
  storeOptions,
  metricsOptions,
  ruleOptions,
} from './common';
export { projectRoot } from './root';
export {
  elasticsearchConnectionOptions,
  eventStoreOptions,
  incidentStoreOptions,
  storeKindOptions,
} from './event-store';
export { taxiiOptions, reportOptions } from './reports';
