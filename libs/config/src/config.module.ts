import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { BatonConfig } from './config.js';

export const BATON_CONFIG = Symbol.for('baton.config');

/** Makes the validated configuration injectable as `@Inject(BATON_CONFIG)`. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: BatonConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: BATON_CONFIG, useValue: config }],
      exports: [BATON_CONFIG],
    };
  }
}
