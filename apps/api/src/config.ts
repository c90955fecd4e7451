import path from 'node:path';
import {
  eventStoreOptions,
  incidentStoreOptions,
  int,
  natsOptions,
  projectRoot,
  redisOptions,
  ruleOptions,
  storeOptions,
  str,
} from '@citysoc/config';
import { slaOptions } from '@citysoc/incidents';

export const apiSchema = {
  ...natsOptions,
  ...redisOptions,
  ...storeOptions,
  ...eventStoreOptions,
  ...incidentStoreOptions,
  // Retro-hunts by rule id read the same rule folders as the detector.
  ...ruleOptions,
  // A split-off incident and a merge that tightens deadlines are timed with the responder's SLA policy.
  ...slaOptions,
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
  sessionMinutes: int({
    env: 'CITYSOC_SESSION_MINUTES',
    description: 'Lifetime of a session token from POST /api/v1/auth/login',
    default: 60,
    min: 1,
    max: 24 * 60,
  }),
  loginMaxFailures: int({
    env: 'CITYSOC_LOGIN_MAX_FAILURES',
    description: 'Consecutive wrong passwords that lock an account',
    default: 5,
    min: 1,
    max: 100,
  }),
  loginLockoutMinutes: int({
    env: 'CITYSOC_LOGIN_LOCKOUT_MINUTES',
    description: 'How long a locked account stays locked',
    default: 15,
    min: 1,
    max: 7 * 24 * 60,
  }),
  loginRatePerMinute: int({
    env: 'CITYSOC_LOGIN_RATE_PER_MINUTE',
    description: 'Login attempts allowed per client address per minute (429 beyond)',
    default: 10,
    min: 1,
    max: 10_000,
  }),
  claimLockSeconds: int({
    env: 'CITYSOC_CLAIM_LOCK_SECONDS',
    description:
      'A claimed incident returns to the queue unless its responder renews the claim (POST …/heartbeat) within this time',
    default: 300,
    min: 5,
    max: 24 * 3600,
  }),
  bodyLimit: str({
    env: 'CITYSOC_API_BODY_LIMIT',
    description: 'Largest accepted request body',
    default: '256kb',
  }),
};
