import 'reflect-metadata';
import { type DynamicModule, type INestApplication, Module, type Type } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, DiscoveryModule, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Database, PersistenceModule } from '@baton/persistence';
import { AuthGuard, DeniedCallsRecorder } from '@baton/auth';
import { BusModule, type EventBus, InProcessBus, KafkaBus, OutboxRelay, configureTopicPrefix } from '@baton/bus';
import { type BatonConfig, ConfigModule } from '@baton/config';
import { ProblemFilter, checkBodyDepth } from '@baton/http';
import {
  type Logger,
  NestLoggerAdapter,
  TelemetryModule,
  flushTelemetry,
  httpServerSpans,
  startTelemetry,
  tracingEnabled,
} from '@baton/telemetry';
import { AuditInterceptor } from './audit.interceptor.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { OpenApiController } from './openapi.controller.js';

export interface BatonApp {
  app: NestExpressApplication;
  db: Database;
  bus: EventBus;
  relay: OutboxRelay;
  /** Stops taking work, hands it back (agents drained, leases kept), then closes connections. */
  close(): Promise<void>;
}

@Module({})
class RootModule {
  static register(
    modules: ReadonlyArray<Type | DynamicModule>,
    config: BatonConfig,
    db: Database,
    bus: EventBus,
    relay: OutboxRelay,
    logger: Logger,
  ): DynamicModule {
    return {
      module: RootModule,
      imports: [
        ConfigModule.forRoot(config),
        PersistenceModule.forDatabase(db),
        BusModule.forRoot(bus, relay),
        TelemetryModule.forRoot(logger),
        DiscoveryModule,
        ...modules,
      ],
      controllers: [HealthController, MetricsController, OpenApiController],
      providers: [
        DeniedCallsRecorder,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
    };
  }
}

/** The bus this process uses: Kafka when brokers are configured, else in-process (one process only). */
export async function createBus(config: BatonConfig, logger: Logger, clientId: string): Promise<EventBus> {
  configureTopicPrefix(config.kafka.topicPrefix);
  if (!config.kafka.brokers) return new InProcessBus();
  const bus = new KafkaBus({
    brokers: config.kafka.brokers,
    clientId,
    topicPrefix: config.kafka.topicPrefix,
    partitions: config.kafka.partitions,
    logger: logger.child('kafka'),
  });
  await bus.start();
  return bus;
}

/**
 * A Baton process: the given service modules on one HTTP server (health and
 * readiness included), sharing the database, the bus and the outbox relay.
 * `standalone` passes every service; a service's own `main.ts` passes its one.
 */
export async function createBatonApp(
  name: string,
  config: BatonConfig,
  logger: Logger,
  modules: ReadonlyArray<Type | DynamicModule>,
): Promise<BatonApp> {
  // Before anything records a metric or starts a span (OTEL_* variables; tracing off unless set).
  startTelemetry(config.telemetry, `baton-${name}`, logger.child('otel'));
  const db = await Database.open(config.database, { migrate: config.migrate });
  const bus = await createBus(config, logger, `baton-${name}`);
  const relay = new OutboxRelay(db, bus, logger.child('outbox'));
  const app = await NestFactory.create<NestExpressApplication>(
    RootModule.register(modules, config, db, bus, relay, logger),
    { logger: new NestLoggerAdapter(logger.child('nest')), bodyParser: false },
  );
  // Behind the edge or a load balancer the client's address (login rate limits) comes from X-Forwarded-For.
  if (config.http.trustProxy !== null) app.set('trust proxy', config.http.trustProxy);
  // A span per API and webhook call (a child of the caller's traceparent), only with tracing on.
  if (tracingEnabled()) app.use(httpServerSpans());
  // A larger body is refused before it is read (413 problem+json, see ProblemFilter).
  app.useBodyParser('json', { limit: config.http.maxBodyBytes });
  app.useBodyParser('text', {
    type: ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    limit: config.http.maxBodyBytes,
  });
  app.use((req: { body?: unknown }, _res: unknown, next: (err?: unknown) => void) => {
    try {
      checkBodyDepth(req.body);
      next();
    } catch (err) {
      next(err);
    }
  });
  app.useGlobalFilters(new ProblemFilter(logger.child('http')));
  await app.init();
  relay.start();
  let closed = false;
  return {
    app,
    db,
    bus,
    relay,
    close: async () => {
      if (closed) return;
      closed = true;
      await (app as INestApplication).close();
      await relay.stop();
      await bus.close();
      await db.close();
      await flushTelemetry().catch(() => undefined);
    },
  };
}

/** Runs `close` once on SIGTERM/SIGINT (a second signal exits at once). */
export function closeOnSignals(close: () => Promise<void>, logger: Logger): void {
  let closing = false;
  const stop = (sig: string) => {
    if (closing) process.exit(130);
    closing = true;
    logger.info(`received ${sig}; shutting down`);
    void close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
