import 'reflect-metadata';
import { runWorkerApp } from '@citysoc/observability';
import { reporterSchema } from './config';
import { ReporterModule } from './reporter.module';

runWorkerApp('reporter', reporterSchema, (config) => ReporterModule.register(config));
