export const API_CONFIG = Symbol('API_CONFIG');
export const CONTROL_STORE = Symbol('CONTROL_STORE');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const INCIDENT_QUEUE = Symbol('INCIDENT_QUEUE');
export const REDIS = Symbol('REDIS');
export const NATS = Symbol('NATS');
