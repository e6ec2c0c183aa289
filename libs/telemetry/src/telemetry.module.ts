import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LOGGER, type Logger } from './logger.js';

/** Makes the process logger injectable as `@Inject(LOGGER)`. */
@Global()
@Module({})
export class TelemetryModule {
  static forRoot(logger: Logger): DynamicModule {
    return { module: TelemetryModule, providers: [{ provide: LOGGER, useValue: logger }], exports: [LOGGER] };
  }
}
