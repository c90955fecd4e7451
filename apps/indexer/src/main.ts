import 'reflect-metadata';
import { runWorkerApp } from '@citysoc/observability';
import { indexerSchema } from './config';
import { IndexerModule } from './indexer.module';

runWorkerApp('indexer', indexerSchema, (config) => IndexerModule.register(config));
