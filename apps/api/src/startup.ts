/**
 * What `npx pnpm@10 start` says (issue 31 item 1): where the API listens, its privacy centre and
 * docs, the database in use, where the development admin key is kept and a first request to try.
 * Plain lines on a terminal, the same facts as fields of one JSON log line otherwise. Never a
 * secret's value: the admin key is named by the file that holds it (development) or the variable
 * (production); a database URL is shown without its password.
 */
import { checkConnection, describeDatabaseUrl } from '@harakaflow/db';
import { resolve } from 'node:path';
import type { AppConfig, Env } from './config/config.js';
import { generatedSecrets, secretsFile } from './config/load.js';

/**
 * The database in use, for a person: PGlite's directory, or Postgres as user@host:port/database
 * (no password), read by describeDatabaseUrl, the parse checkConnection uses: a URL it refuses (an
 * unencoded @ / ? # in the password) is named by its variable only.
 */
export function databaseLabel(config: Pick<AppConfig, 'databaseUrl' | 'dataDir'>): string {
  if (!config.databaseUrl) return `PGlite in ${resolve(config.dataDir, 'pglite')}`;
  try {
    return `Postgres ${describeDatabaseUrl(config.databaseUrl, { name: 'DATABASE_URL' }).label}`;
  } catch {
    return 'Postgres (DATABASE_URL)';
  }
}

/**
 * Connects once to each configured Postgres URL before anything else does: a missing database, a
 * refused connection or login, an unknown host is an HF_DB_* error (from @harakaflow/db) naming the
 * database, host, port and the fix, never the password.
 */
export async function checkDatabases(config: Pick<AppConfig, 'databaseUrl' | 'migrationDatabaseUrl'>): Promise<void> {
  if (config.migrationDatabaseUrl)
    await checkConnection(config.migrationDatabaseUrl, { name: 'MIGRATION_DATABASE_URL' });
  if (config.databaseUrl) await checkConnection(config.databaseUrl, { name: 'DATABASE_URL' });
}

export interface ReadyFacts {
  url: string;
  privacyCentre: string;
  /** Served outside production, and in production with OPENAPI_PUBLIC=1. */
  docs: string | undefined;
  database: string;
  /** Where the admin key comes from: a file (development, generated) or the variable. */
  adminKey: string;
  /** Development: where mail goes without SMTP_URL. */
  mail: string;
  /** Outside production: the first requests to try. */
  tryThis: string[] | undefined;
}

/** Shell-safe as it stands (no quoting needed), or not shown in a command. */
const SAFE_PATH = /^[\w/.@%+,:=-]+$/;

export function readyFacts(config: AppConfig, address: string, env: Env): ReadyFacts {
  const production = config.env === 'production';
  const inFile = !production && generatedSecrets(env).some((spec) => spec.env === 'ADMIN_API_KEY');
  const file = secretsFile(config.dataDir);
  const adminKey = inFile
    ? `ADMIN_API_KEY in ${file} (generated for development${SAFE_PATH.test(file) ? `; print it: node -p "require('${file}').ADMIN_API_KEY"` : ''})`
    : 'ADMIN_API_KEY from the environment';
  const outbox = resolve(config.dataDir, 'outbox');
  const body = JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', dateOfBirth: '1990-12-10' });
  return {
    url: address,
    privacyCentre: `${address}/privacy`,
    docs: !production || config.openapiPublic ? `${address}/docs` : undefined,
    database: databaseLabel(config),
    adminKey,
    mail: config.smtpUrl ? 'sent through SMTP_URL' : `.eml files in ${outbox} (no SMTP_URL)`,
    tryThis: production
      ? undefined
      : [
          `curl -s -X POST ${address}/v1/accounts -H 'content-type: application/json' -d '${body}'`,
          `curl -s ${address}/v1/me -H 'authorization: Bearer <apiKey from the answer>'`,
        ],
  };
}

/** The facts as plain lines, for a terminal. */
export function readyLines(facts: ReadyFacts): string[] {
  const row = (label: string, value: string) => `  ${label.padEnd(15)} ${value}`;
  const lines = [
    `HarakaFlow API ready on ${facts.url}`,
    row('privacy centre', facts.privacyCentre),
    ...(facts.docs ? [row('API docs', facts.docs)] : []),
    row('database', facts.database),
    row('admin key', facts.adminKey),
    row('mail', facts.mail),
  ];
  if (facts.tryThis)
    lines.push(
      '',
      'Create an account, then call /v1/me with the apiKey it answers:',
      ...facts.tryThis.map((line) => `  ${line}`),
    );
  return lines;
}
