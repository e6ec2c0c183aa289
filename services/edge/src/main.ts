import { createLogger } from '@baton/telemetry';
import { startEdge } from './edge.js';
import { EdgeConfigError, parseEdgeEnv } from './edge.config.js';

// The one read of process.env outside libs/config: parseEdgeEnv moves into
// libs/config (with the other processes' schema) and this line goes with it.
const env = process.env;

async function main(): Promise<void> {
  const config = parseEdgeEnv(env);
  const logger = createLogger({ ...config.log, component: 'edge' });
  const edge = await startEdge({
    host: config.host,
    port: config.port,
    upstreams: config.upstreams,
    timeoutMs: config.timeoutMs,
    readyTimeoutMs: 2_000,
    logger,
  });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) process.exit(130);
    closing = true;
    logger.info(`received ${signal}; draining`, { graceMs: config.shutdownGraceMs });
    void edge.close(config.shutdownGraceMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof EdgeConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
