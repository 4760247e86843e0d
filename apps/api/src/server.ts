import { serializeError } from '@harakaflow/core';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { ConfigError } from './config/config.js';
import { loggerOptions } from './http/logger.js';
import { loadConfig } from './config/load.js';
import { checkDatabases, databaseLabel, readyFacts, readyLines } from './startup.js';

/** What `pnpm start` runs: config from the environment, migrations, listen, graceful shutdown. */
const logger = pino(loggerOptions('info'));
// On a terminal the startup is told in plain lines (issue 31 item 1); piped or collected, as JSON log lines.
const plain = process.stdout.isTTY === true;
const say = (message: string, fields: Record<string, unknown> = {}) =>
  plain ? process.stdout.write(`${message}\n`) : logger.info(fields, message);

/** A refusal to start: one plain line on stderr, exit 1 (no stack: the message says what to fix). */
function notStarted(message: string): never {
  process.stderr.write(`HarakaFlow API not started: ${message}\n`);
  process.exit(1);
}

/**
 * A refusal whose message says what to fix and holds no secret: a configuration error, or one of the
 * database package's HF_DB_* errors (built from the parsed host, port and database, never the URL).
 */
function refuseIfTold(error: unknown): void {
  if (error instanceof ConfigError) notStarted(error.message);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('HF_DB_')) notStarted(`${(error as Error).message} (${code})`);
}

let config;
try {
  config = loadConfig(process.env, (message, code) =>
    plain ? process.stdout.write(`${message}\n`) : logger.warn(code ? { code } : {}, message),
  );
} catch (error) {
  if (error instanceof ConfigError) notStarted(error.message);
  throw error;
}
logger.level = config.logLevel;

// What the first start spends its seconds on, said before it does (issue 28 item 2).
say(
  config.databaseUrl
    ? `HarakaFlow API starting: connecting to ${databaseLabel(config)} and applying migrations`
    : 'HarakaFlow API starting: opening PGlite (created on the first start) and applying migrations',
  { database: config.databaseUrl ? 'postgres' : 'pglite', ...(config.databaseUrl ? {} : { dataDir: config.dataDir }) },
);
// A missing database, a refused connection or login, an unknown host: said with the fix (issue 31 item 3).
try {
  await checkDatabases(config);
} catch (error) {
  refuseIfTold(error);
  throw error;
}
let app;
try {
  // Loaded once the configuration is accepted: a refused setting is told before the app's modules load.
  const { buildApp } = await import('./app.js');
  app = await buildApp(config, { logger });
} catch (error) {
  // E.g. HF_DB_DATA_DIR_IN_USE (a CLI holds the PGlite directory) or a setting only the app checks.
  refuseIfTold(error);
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
const facts = readyFacts(config, address, process.env);
if (plain) process.stdout.write(`${readyLines(facts).join('\n')}\n`);
else {
  const openapi = facts.docs ? { openapi: `${address}/docs/json` } : {};
  const { tryThis, ...rest } = facts;
  logger.info(
    {
      ...rest,
      database: app.database.driver,
      databaseAt: facts.database,
      ...openapi,
      ...(tryThis ? { createAccount: tryThis[0] } : {}),
    },
    `HarakaFlow API ready on ${address}`,
  );
}
