// What the operator CLIs (hf-rights, hf-notify) share: arguments, the app on the API's own data and
// configuration, output as a table or --json, and errors without personal data.
import { serializeError } from '@harakaflow/core';
import type { FastifyInstance } from 'fastify';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import pino from 'pino';
import { buildApp } from '../app.js';
import { ConfigError } from '../config/config.js';
import { loadConfig } from '../config/load.js';
import { checkDatabases } from '../startup.js';

export function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** Parses the arguments (usage and exit 2 on a bad one; --help prints it). */
export function cliArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  usage: string,
  options: O,
  commands: readonly string[],
) {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${usage}`);
  }
  const [command, ...rest] = parsed.positionals;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help || !command) fail(usage, values.help ? 0 : 2);
  if (!commands.includes(command!)) fail(`unknown command "${command}"\n\n${usage}`);
  return { command: command!, args: rest, values };
}

/** The app on the API's data, its logs (errors only) on stderr so --json output stays clean. */
export async function cliApp(): Promise<FastifyInstance> {
  let config;
  try {
    config = loadConfig(process.env, (message) => process.stderr.write(`${message}\n`));
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 1);
    throw error;
  }
  const logger = pino({ level: 'error' }, pino.destination(2));
  let app;
  try {
    // A missing database, a refused connection or login: said with the fix, as `start` says it.
    await checkDatabases(config);
    app = await buildApp({ ...config, logLevel: 'error' }, { logger });
    await app.ready();
  } catch (error) {
    // E.g. HF_DB_DATA_DIR_IN_USE: the running app holds the PGlite directory (its pid named).
    const e = error as { code?: string; message?: string };
    if (e?.code?.startsWith('HF_')) fail(`${e.code}: ${e.message}`, 1);
    throw error;
  }
  return app;
}

export function printer(json: boolean | undefined) {
  return (value: unknown, table?: Record<string, unknown>[]) => {
    if (json || !table) process.stdout.write(`${JSON.stringify(value, null, json ? 0 : 2)}\n`);
    else console.table(table);
  };
}

/** Runs a command, reports its failure (the package's code and message, else only codes), closes the app, exits. */
export async function runCli(app: FastifyInstance, run: () => Promise<void>): Promise<never> {
  let exitCode = 0;
  try {
    await run();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code?.startsWith('HF_')) process.stderr.write(`${e.code}: ${e.message}\n`);
    else process.stderr.write(`${JSON.stringify(serializeError(error))}\n`);
    exitCode = 1;
  } finally {
    await app.close();
  }
  process.exit(exitCode);
}
