import 'reflect-metadata';
import { runWorkerApp } from '@citysoc/observability';
import { detectorSchema } from './config';
import { DetectorModule } from './detector.module';

runWorkerApp('detector', detectorSchema, (config) => DetectorModule.register(config));
