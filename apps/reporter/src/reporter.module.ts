import { type DynamicModule, Module } from '@nestjs/common';
import { REPORTER_CONFIG, type ReporterConfig, ReporterService } from './reporter.service';

@Module({})
export class ReporterModule {
  static register(config: ReporterConfig): DynamicModule {
    return {
      module: ReporterModule,
      providers: [{ provide: REPORTER_CONFIG, useValue: config }, ReporterService],
      exports: [ReporterService],
    };
  }
}
