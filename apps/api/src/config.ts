import { int, natsOptions, redisOptions, storeOptions, str } from '@citysoc/config';

export const apiSchema = {
  ...natsOptions,
  ...redisOptions,
  ...storeOptions,
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
