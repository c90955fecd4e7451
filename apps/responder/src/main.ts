import 'reflect-metadata';
import { runWorkerApp } from '@citysoc/observability';
import { responderSchema } from './config';
import { ResponderModule } from './responder.module';

runWorkerApp('responder', responderSchema, (config) => ResponderModule.register(config));
