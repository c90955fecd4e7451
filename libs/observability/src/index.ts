export { ComponentMetrics } from './metrics';
export { startMetricsServer, type HealthCheck } from './http';
export { createAppLogger } from './logger';
export { loadConfigOrExit } from './boot';
export { runWorkerApp } from './run';
