import { type DynamicModule, Module } from '@nestjs/common';
import { COLLECTOR_CONFIG, type CollectorConfig, CollectorService } from './collector.service';

@Module({})
export class CollectorModule {
  static register(config: CollectorConfig): DynamicModule {
    return {
      module: CollectorModule,
      providers: [{ provide: COLLECTOR_CONFIG, useValue: config }, CollectorService],
      exports: [CollectorService],
    };
  }
}
