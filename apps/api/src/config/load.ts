import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { join, resolve } from 'node:path';
import {
  auditSigningKeys,
  ConfigError,
  SECRET_SPECS,
  readConfig,
  type AppConfig,
  type Env,
  type SecretSpec,
  type Secrets,
} from './config.js';
import { commentLines } from './docs.js';
import { redisCaProblem } from '../wiring/redis.js';

export const SECRETS_FILE = 'secrets.json';

/**
 * Reads the configuration and its secrets. In production a missing secret stops startup, naming
 * the variable. Elsewhere a missing secret is generated once and kept in DATA_DIR/secrets.json
 * (mode 0600) so restarts keep sessions, cookies and keys valid; `warn` is told which ones.
 */
export function loadConfig(env: Env, warn: (message: string, code?: string) => void = () => {}): AppConfig {
  const { config, problems } = readConfig(env);
  const { secretValues, ...parsed } = config;
  const production = parsed.env === 'production';
  // In production nothing is generated: a required secret missing is a problem, an optional one (a
  // release's grace, e.g. AUDIT_SIGNING_KEYS) stays unset and is warned about once, by its code.
  const unset = generatedSecrets(env, secretValues);
  const missing = production ? [] : unset;
  // Every problem in one message (issue 13 item 6): values, missing secrets and files alike.
  if (production)
    problems.push(
      ...unset
        .filter((spec) => !spec.optionalInProduction)
        .map((spec) => `${spec.env} is required when NODE_ENV=production`),
    );
  if (parsed.tls) {
    const why = tlsProblem(parsed.tls);
    if (why) problems.push(why);
  }
  if (parsed.redisTlsCaFile) {
    const why = redisCaProblem(parsed.redisTlsCaFile);
    if (why) problems.push(why);
  }
  if (parsed.notifyDkim) {
    const read = dkimKey(parsed.notifyDkim.key);
    if ('problem' in read) problems.push(read.problem);
    else parsed.notifyDkim = { ...parsed.notifyDkim, key: read.pem };
  }
  if (problems.length) throw new ConfigError(problems);
  if (production) {
    for (const spec of unset)
      if (spec.optionalInProduction?.warning)
        warn(
          `${spec.optionalInProduction.warning} (${spec.optionalInProduction.code})`,
          spec.optionalInProduction.code,
        );
  }

  const values = { ...secretValues };
  if (missing.length) {
    const file = secretsFile(parsed.dataDir);
    const stored = readStored(file);
    let changed = false;
    for (const spec of missing) {
      const kept = stored[spec.env];
      if (typeof kept === 'string' && !spec.check(kept)) {
        values[spec.env] = kept;
      } else {
        values[spec.env] = stored[spec.env] = spec.generate();
        changed = true;
      }
    }
    if (changed) writeStored(file, stored);
    warn(
      `${missing.map((s) => s.env).join(', ')} not set: using development value(s) kept in ${join(parsed.dataDir, SECRETS_FILE)}. ` +
        'Set them in the environment for production.',
    );
  }

  const secrets = Object.fromEntries(SECRET_SPECS.map((spec) => [spec.key, values[spec.env]])) as unknown as Secrets;
  return { ...parsed, auditSigningKeys: auditSigningKeys(values.AUDIT_SIGNING_KEYS, parsed.auditLogOrigin), secrets };
}

/** Where development secrets are kept: DATA_DIR/secrets.json, absolute. */
export function secretsFile(dataDir: string): string {
  return resolve(dataDir, SECRETS_FILE);
}

/**
 * The secrets the environment does not give (a secret given but invalid is a problem of its own, not
 * missing): outside production each is generated once and kept in `secretsFile`.
 */
export function generatedSecrets(env: Env, given: Partial<Record<string, string>> = {}): SecretSpec[] {
  return SECRET_SPECS.filter((spec) => given[spec.env] === undefined && !env[spec.env]?.trim());
}

/**
 * A complete `.env.production` (issue 31 item 3): NODE_ENV, a fresh value of every secret of
 * SECRET_SPECS in its own required form (each spec's `generate`, checked by its own `check`: a
 * spec whose generator fails its check throws here, not at the operator's first start), and the
 * settings only the operator knows, commented out. Values are unquoted: `node --env-file`,
 * `docker --env-file` and systemd's `EnvironmentFile` read them alike.
 */
export function productionEnv(now: Date = new Date()): string {
  const lines = [
    `# HarakaFlow API production settings, generated ${now.toISOString()} by \`npx pnpm@10 secrets\`.`,
    '# Keep this file out of version control and readable only by the service (chmod 600).',
    '# Each secret is fresh: keep a copy outside the database (AUDIT_CHECKPOINT_KEYS and',
    '# DATA_RIGHTS_SUBJECT_KEY are needed to verify the audit log and to re-apply erasures after a restore).',
    "# Every variable: apps/api/.env.example and the README's configuration table.",
    '',
    'NODE_ENV=production',
    '',
    '# Fill these in and uncomment them (SMTP_URL, or NOTIFY_TRANSPORT=eml):',
    "# The https:// address people reach the API at: links in messages, the privacy centre's Origin check.",
    '# PUBLIC_URL=https://api.example.com',
    '# Postgres (unset: embedded PGlite under DATA_DIR, one replica only).',
    '# DATABASE_URL=postgres://harakaflow:password@db.example.com:5432/harakaflow',
    '# Mail (required in production): or NOTIFY_TRANSPORT=eml to write .eml files under DATA_DIR/outbox instead.',
    '# SMTP_URL=smtps://user:password@smtp.example.com:465',
    '# NOTIFY_TRANSPORT=eml',
    '',
  ];
  for (const spec of SECRET_SPECS) {
    const value = spec.generate('production');
    const why = spec.check(value);
    if (why) throw new Error(`${spec.env}: its generated value ${why}`);
    if (/[\s#"'`$\\]/.test(value)) throw new Error(`${spec.env}: its generated value needs quoting in an env file`);
    lines.push(...commentLines(spec.meaning), `${spec.env}=${value}`, '');
  }
  return lines.join('\n');
}

/**
 * NOTIFY_DKIM_KEY: a PEM private key (newlines as \\n allowed), or the path of a file holding one; never quoted back.
 */
export function dkimKey(value: string): { pem: string } | { problem: string } {
  let pem = value.replace(/\\n/g, '\n');
  if (!pem.startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (error) {
      return {
        problem: `NOTIFY_DKIM_KEY is neither a PEM private key nor a readable file (${(error as { code?: string }).code ?? 'error'})`,
      };
    }
  }
  try {
    createPrivateKey(pem);
    return { pem };
  } catch {
    return { problem: 'NOTIFY_DKIM_KEY is not a PEM private key' };
  }
}

/** Are the TLS files readable PEM, and does the key belong to the certificate? (never quoting their content) */
export function tlsProblem(tls: { certFile: string; keyFile: string }): string | null {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(tls.certFile);
  } catch (error) {
    return `TLS_CERT_FILE cannot be read (${(error as { code?: string }).code ?? 'error'}): ${tls.certFile}`;
  }
  try {
    key = readFileSync(tls.keyFile);
  } catch (error) {
    return `TLS_KEY_FILE cannot be read (${(error as { code?: string }).code ?? 'error'}): ${tls.keyFile}`;
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    return 'TLS_CERT_FILE and TLS_KEY_FILE are not a PEM certificate and its private key';
  }
  return null;
}

function readStored(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw new ConfigError([`${file} is not valid JSON; fix or delete it (it holds generated development secrets)`]);
  }
}

function writeStored(file: string, data: Record<string, unknown>): void {
  mkdirSync(resolve(file, '..'), { recursive: true });
  // Write then rename: a crash mid-write must not leave a truncated secrets file behind.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}
