import path from 'node:path';
import {
  eventStoreOptions,
  int,
  natsOptions,
  projectRoot,
  redisOptions,
  ruleOptions,
  storeOptions,
  str,
} from '@citysoc/config';

export const apiSchema = {
  ...natsOptions,
  ...redisOptions,
  ...storeOptions,
  ...eventStoreOptions,
  // Retro-hunts by rule id read the same rule folders as the detector.
  ...ruleOptions,
  builtinRules: str({
    env: 'CITYSOC_BUILTIN_RULES',
    description: 'The rules folder shipped with citysoc',
    default: path.join(projectRoot(), 'rules'),
    example: './rules',
  }),
  apiHost: str({
    env: 'CITYSOC_API_HOST',
    description: 'Address the API binds to (:: = all IPv6 and IPv4)',
    default: '::',
  }),
  apiPort: int({
    env: 'CITYSOC_API_PORT',
    description: 'HTTP port of the REST API and console',
    default: 3000,
    min: 0,
    max: 65535,
  }),
  adminToken: str({
    env: 'CITYSOC_ADMIN_TOKEN',
    description: 'At first start only: becomes the bootstrap admin token instead of a generated one',
    default: '',
    secret: true,
  }),
  bodyLimit: str({
    env: 'CITYSOC_API_BODY_LIMIT',
    description: 'Largest accepted request body',
    default: '256kb',
  }),
};
