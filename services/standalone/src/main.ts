import { ConfigError, loadConfig } from '@baton/config';
import { closeOnSignals } from '@baton/runtime';
import { createLogger } from '@baton/telemetry';
import { startStandalone } from './standalone.js';

// `node services/standalone/dist/main.js` is `baton standalone` without the CLI.
async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const s = await startStandalone(config, logger);
  closeOnSignals(() => s.close(), logger);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `baton: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(err instanceof ConfigError ? 2 : 1);
});
