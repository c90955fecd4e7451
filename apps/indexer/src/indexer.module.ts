import { type DynamicModule, Module } from '@nestjs/common';
import { INDEXER_CONFIG, type IndexerConfig, IndexerService } from './indexer.service';

@Module({})
export class IndexerModule {
  static register(config: IndexerConfig): DynamicModule {
    return {
      module: IndexerModule,
      providers: [{ provide: INDEXER_CONFIG, useValue: config }, IndexerService],
      exports: [IndexerService],
    };
  }
}
