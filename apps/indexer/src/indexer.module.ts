import { type DynamicModule, Module } from '@nestjs/common';
import {
  INDEXER_CONFIG,
  INDEXER_STORE,
  type IndexerConfig,
  IndexerService,
  type StoreOpener,
} from './indexer.service';

@Module({})
export class IndexerModule {
  /** `openStore` replaces the configured store (tests: Elasticsearch behind the client's mock). */
  static register(config: IndexerConfig, openStore?: StoreOpener): DynamicModule {
    return {
      module: IndexerModule,
      providers: [
        { provide: INDEXER_CONFIG, useValue: config },
        { provide: INDEXER_STORE, useValue: openStore ?? null },
        IndexerService,
      ],
      exports: [IndexerService],
    };
  }
}
