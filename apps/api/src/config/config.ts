/**
 * Configuration of the reference app, read from the environment. Every bad value is reported
 * (all of them at once, each naming its variable) and stops startup. Secret values are never
 * echoed back in a message. The types are in types.ts, the secrets in secret-specs.ts, the
 * variable table in variables.ts (re-exported here for the app's modules).
 */
import { join } from 'node:path';
import { AuditSigningKeys } from '@harakaflow/audit';
import { isKeyName } from '@harakaflow/audit/internals';
import { isUrl } from './readers.js';
import { SECRET_SPECS } from './secret-specs.js';
import type { Env, ParsedConfig } from './types.js';
import { ENV_VARIABLES } from './variables.js';
import { redisProblems } from '../wiring/redis.js';

export { SECRET_SPECS, splitSecrets } from './secret-specs.js';
export type { AppConfig, Env, Environment, ParsedConfig, Secrets, SecretSpec } from './types.js';

export class ConfigError extends Error {
  readonly code = 'HF_CONFIG_INVALID';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A URL's host (with its port when not the default), or undefined when it is not a URL. */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

/**
 * AUDIT_SIGNING_KEYS' keys under the log's origin; null when unset (or when either is invalid: that is reported as a
 * problem already).
 */
export function auditSigningKeys(value: string | undefined, origin: string): AuditSigningKeys | null {
  if (value === undefined) return null;
  try {
    return new AuditSigningKeys(value, origin);
  } catch {
    return null;
  }
}

/**
 * An `imap://` URL (no TLS) to a host that is not loopback: refused in production (the mailbox password would cross the
 * network in clear).
 */
export function plainImapOffLoopback(url: string): boolean {
  if (!/^imap:\/\//i.test(url)) return false;
  try {
    return !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(new URL(url).hostname);
  } catch {
    return false; // its reader said why already
  }
}

/** Parses everything but the secrets. Pure: no I/O. Throws a ConfigError listing every problem. */
export function parseConfig(env: Env): ParsedConfig {
  const { config, problems } = readConfig(env);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** The fields readConfig puts together from several variables; the table's keyed entries set every other one. */
type Combined =
  | 'tls'
  | 'auditSpillDir'
  | 'notifyDkim'
  | 'publicUrl'
  | 'auditLogOrigin'
  | 'auditSigningKeys'
  | 'retentionMessageLogDays';

/**
 * The configuration and every problem found in it, without throwing: loadConfig adds the problems
 * only it can see (missing production secrets, unreadable TLS files) and reports all of them in one
 * message, not in rounds.
 */
export function readConfig(env: Env): { config: ParsedConfig; problems: string[] } {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };
  // Every variable of the table, in its order: each read once, its problems named after it.
  const read: Record<string, unknown> = {};
  // Filled by the loop: a keyed entry's reader returns its field's type (variable() checks that).
  const fields = {} as Omit<ParsedConfig, Combined | 'secretValues'>;
  for (const variable of ENV_VARIABLES) {
    const v = variable.read(value(variable.name), (why) => problems.push(`${variable.name} ${why}`));
    read[variable.name] = v;
    if (variable.key) Object.assign(fields, { [variable.key]: v });
  }
  const given = (name: string) => read[name] as string | undefined;

  // What several variables make together.
  const nodeEnv = fields.env;
  if (
    given('MIGRATION_DATABASE_URL') !== undefined &&
    given('DATABASE_URL') === undefined &&
    isUrl(given('MIGRATION_DATABASE_URL')!, ['postgres:', 'postgresql:'])
  ) {
    problems.push('MIGRATION_DATABASE_URL needs DATABASE_URL (the embedded PGlite has one role)');
  }
  if (fields.databasePooler !== 'none' && given('DATABASE_URL') === undefined)
    problems.push('DATABASE_POOLER needs DATABASE_URL (the embedded PGlite has no pooler in front of it)');
  const auditIpHashKey = given('AUDIT_IP_HASH_KEY');
  if (
    (fields.auditIpMode === 'keyed-hash' && auditIpHashKey === undefined) ||
    (auditIpHashKey !== undefined && auditIpHashKey.length < 32)
  ) {
    problems.push('AUDIT_IP_HASH_KEY must be a secret of at least 32 characters when AUDIT_IP_MODE=keyed-hash');
  }
  problems.push(...redisProblems(fields));
  const certFile = given('TLS_CERT_FILE');
  const keyFile = given('TLS_KEY_FILE');
  if (fields.metricsPort !== undefined && fields.metricsPort !== 0 && fields.metricsPort === fields.port)
    problems.push("METRICS_PORT must differ from PORT (metrics have a listener of their own, never the API's)");
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push(
      'TLS_CERT_FILE and TLS_KEY_FILE must be set together (both, to serve https; neither, behind a TLS proxy)',
    );
  const dkimSelector = given('NOTIFY_DKIM_SELECTOR');
  const dkimKey = given('NOTIFY_DKIM_KEY');
  // Issue 31 item 3: production without SMTP_URL wrote every message to files nobody reads; it now
  // says so at startup unless NOTIFY_TRANSPORT=eml states the files are intended.
  const transport = given('NOTIFY_TRANSPORT');
  const smtpUrl = given('SMTP_URL');
  if (transport === 'smtp' && smtpUrl === undefined)
    problems.push('NOTIFY_TRANSPORT=smtp needs SMTP_URL (smtps://user:password@host:465)');
  else if (transport === 'eml' && smtpUrl !== undefined)
    problems.push(
      'NOTIFY_TRANSPORT=eml and SMTP_URL are both set: unset SMTP_URL to write .eml files, or NOTIFY_TRANSPORT to send through it',
    );
  else if (nodeEnv === 'production' && smtpUrl === undefined && transport === undefined) {
    problems.push(
      'SMTP_URL is required when NODE_ENV=production (smtps://user:password@host:465: account, request and policy notices are emailed); ' +
        'set NOTIFY_TRANSPORT=eml instead if the .eml files written under DATA_DIR/outbox are what you want',
    );
  }
  // The mailboxes' passwords and mail cross the network: TLS (imaps://) in production, but to a loopback host.
  for (const name of ['PRIVACY_IMAP_URL', 'NOTIFY_BOUNCE_IMAP_URL']) {
    const url = given(name);
    if (nodeEnv === 'production' && url !== undefined && plainImapOffLoopback(url)) {
      problems.push(
        `${name} must be imaps:// in production (the mailbox password and the mail cross the network); imap:// is accepted only to a loopback host`,
      );
    }
  }
  if ((dkimSelector === undefined) !== (dkimKey === undefined))
    problems.push(
      'NOTIFY_DKIM_SELECTOR and NOTIFY_DKIM_KEY must be set together (both to sign with DKIM, neither not to)',
    );
  else if (dkimSelector !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(dkimSelector))
    problems.push(`NOTIFY_DKIM_SELECTOR must be a DNS label (got ${JSON.stringify(dkimSelector)})`);
  // Default: the address the server listens on (an unspecified address as localhost), over https
  // when it serves TLS itself. The privacy centre checks each state-changing request's Origin against it.
  const host = fields.host;
  const listenHost =
    host === '0.0.0.0' || host === '::' || !/^[A-Za-z0-9.:-]+$/.test(host)
      ? 'localhost'
      : host.includes(':')
        ? `[${host}]`
        : host;
  const publicUrl = given('PUBLIC_URL') ?? `${certFile ? 'https' : 'http'}://${listenHost}:${fields.port}`;
  if (nodeEnv === 'production' && given('PUBLIC_URL') === undefined)
    problems.push(
      'PUBLIC_URL is required when NODE_ENV=production (the https:// address people reach the API at: links in messages)',
    );
  else if (!isUrl(publicUrl, ['http:', 'https:']))
    problems.push(
      `PUBLIC_URL must be an http(s) URL, the API's address as people reach it (got ${JSON.stringify(publicUrl)})`,
    );
  else if (nodeEnv === 'production' && !publicUrl.startsWith('https:'))
    problems.push('PUBLIC_URL must be https:// in production (links in messages, RFC 8058 one-click unsubscribe)');

  // The audit log's origin (issue 33): its signed checkpoints' first line and its keys' name. The
  // default follows PUBLIC_URL's host, so a changed PUBLIC_URL changes it: production sets it.
  const givenOrigin = given('AUDIT_LOG_ORIGIN');
  const auditLogOrigin = givenOrigin ?? `${hostOf(publicUrl) ?? 'localhost'}/audit`;
  if (!isKeyName(auditLogOrigin))
    problems.push(
      `AUDIT_LOG_ORIGIN must be a signed-note key name such as api.example.com/audit: no spaces, no "+" (got ${JSON.stringify(auditLogOrigin)})`,
    );

  const secretValues: Partial<Record<string, string>> = {};
  for (const spec of SECRET_SPECS) {
    const v = value(spec.env);
    if (v === undefined) continue;
    const why = spec.check(v);
    if (why) problems.push(`${spec.env} ${why}`);
    else secretValues[spec.env] = v;
  }

  const config: ParsedConfig = {
    ...fields,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    auditSpillDir: given('AUDIT_SPILL_DIR') ?? join(fields.dataDir, 'audit-spill'),
    notifyDkim:
      dkimSelector !== undefined && dkimKey !== undefined ? { selector: dkimSelector, key: dkimKey } : undefined,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    auditLogOrigin,
    auditSigningKeys: auditSigningKeys(secretValues.AUDIT_SIGNING_KEYS, auditLogOrigin),
    retentionMessageLogDays: {
      free: read.RETENTION_MESSAGE_LOG_DAYS as number,
      pro: read.RETENTION_MESSAGE_LOG_DAYS_PRO as number,
      business: read.RETENTION_MESSAGE_LOG_DAYS_BUSINESS as number,
    },
    secretValues,
  };
  return { config, problems };
}
