import { type DynamicModule, Module } from '@nestjs/common';
import { RESPONDER_CONFIG, type ResponderConfig, ResponderService } from './responder.service';

@Module({})
export class ResponderModule {
  static register(config: ResponderConfig): DynamicModule {
    return {
      module: ResponderModule,
      providers: [{ provide: RESPONDER_CONFIG, useValue: config }, ResponderService],
      exports: [ResponderService],
    };
  }
}
