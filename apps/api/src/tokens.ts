export const API_CONFIG = Symbol('API_CONFIG');
export const CONTROL_STORE = Symbol('CONTROL_STORE');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const INCIDENT_QUEUE = Symbol('INCIDENT_QUEUE');
export const REDIS = Symbol('REDIS');
export const NATS = Symbol('NATS');
/** The NATS KV buckets the API reads (drill runs, rule stats), opened once per process (`KvBuckets`). */
export const KV_BUCKETS = Symbol('KV_BUCKETS');
export const NOTIFY_QUEUE = Symbol('NOTIFY_QUEUE');
export const API_METRICS = Symbol('API_METRICS');
export const LOGIN_LIMITER = Symbol('LOGIN_LIMITER');
export const SLA_QUEUE = Symbol('SLA_QUEUE');
export const INCIDENT_STORE = Symbol('INCIDENT_STORE');
