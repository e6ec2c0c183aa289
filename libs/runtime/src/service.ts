import type { DynamicModule, Type } from '@nestjs/common';
import { ConfigError, loadConfig } from '@baton/config';
import { createLogger } from '@baton/telemetry';
import { type BatonApp, closeOnSignals, createBatonApp } from './app.js';

/**
 * The entry point of one service as its own process (`node
 * services/<name>/dist/main.js`): configuration from the environment, the
 * service's module, health and readiness, graceful shutdown.
 */
export async function runService(
  name: string,
  modules: ReadonlyArray<Type | DynamicModule>,
  beforeListen?: (app: BatonApp) => Promise<void>,
): Promise<void> {
  // A module may refuse its configuration at start too (a production requirement): the same exit, code 2.
  const refuse = (err: unknown) => {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`baton-${name}: ${err.message}\n`);
    process.exit(2);
  };
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    return refuse(err);
  }
  const logger = createLogger({ level: config.log.level, format: config.log.format, component: name });
  if (!config.kafka.brokers) {
    logger.warn('BATON_KAFKA_BROKERS is not set: this process cannot exchange events with the other services');
  }
  const baton = await createBatonApp(name, config, logger, modules).catch(refuse);
  await beforeListen?.(baton);
  await baton.app.listen(config.http.port, config.http.host);
  logger.info(`${name} is up`, { http: config.http.port, database: config.database.kind, kafka: config.kafka.brokers });
  closeOnSignals(() => baton.close(), logger);
}
