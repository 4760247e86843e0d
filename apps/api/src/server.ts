import { serializeError } from '@harakaflow/core';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { buildApp } from './app.js';
import { ConfigError } from './config.js';
import { loggerOptions } from './logger.js';
import { loadConfig } from './secrets.js';

/** What `pnpm start` runs: config from the environment, migrations, listen, graceful shutdown. */
const logger = pino(loggerOptions('info'));

let config;
try {
  config = loadConfig(process.env, (message) => logger.warn(message));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`HarakaFlow API not started: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
logger.level = config.logLevel;

// What the first start spends its seconds on, said before it does (issue 28 item 2).
logger.info(
  { database: config.databaseUrl ? 'postgres' : 'pglite', ...(config.databaseUrl ? {} : { dataDir: config.dataDir }) },
  config.databaseUrl ? 'HarakaFlow API starting: connecting to Postgres and applying migrations' : 'HarakaFlow API starting: opening PGlite (created on the first start) and applying migrations',
);
let app;
try {
  app = await buildApp(config, { logger });
} catch (error) {
  logger.fatal({ err: serializeError(error) }, 'startup failed');
  process.exit(1);
}

// SIGTERM/SIGINT: stop accepting, let in-flight requests finish, run onClose hooks (flush, close
// pools). A second signal or 10 s without finishing forces the exit.
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) logger.error({ err: serializeError(err) }, 'shutting down after an error');
  else logger.info({ signal }, 'shutting down');
  await app.close();
});

const address = await app.listen({ port: config.port, host: config.host });
const openapi = config.env !== 'production' || config.openapiPublic ? { openapi: `${address}/docs/json` } : {};
logger.info({ database: app.database.driver, url: address, privacyCentre: `${address}/privacy`, ...openapi }, `HarakaFlow API ready on ${address}`);
