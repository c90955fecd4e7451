import 'reflect-metadata';
import { runWorkerApp } from '@citysoc/observability';
import { collectorSchema } from './config';
import { CollectorModule } from './collector.module';

runWorkerApp('collector', collectorSchema, (config) => CollectorModule.register(config));
