import { type DynamicModule, Module } from '@nestjs/common';
import { DETECTOR_CONFIG, type DetectorConfig, DetectorService } from './detector.service';

@Module({})
export class DetectorModule {
  static register(config: DetectorConfig): DynamicModule {
    return {
      module: DetectorModule,
      providers: [{ provide: DETECTOR_CONFIG, useValue: config }, DetectorService],
      exports: [DetectorService],
    };
  }
}
