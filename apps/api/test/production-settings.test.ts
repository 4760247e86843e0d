// Issue 31 item 3, "Production settings made for you": `npx pnpm@10 secrets` prints a complete
// .env.production whose every value the app's own parser accepts; apps/api/.env.example is rendered
// from ENV_VARIABLES; production without SMTP_URL refuses to start unless NOTIFY_TRANSPORT=eml.
import { fromDist } from '@harakaflow/testing';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, SECRET_SPECS } from '../src/config/config.js';
import { envExample } from '../src/config/docs.js';
import { ENV_VARIABLES } from '../src/config/variables.js';
import { loadConfig, productionEnv, SECRETS_FILE } from '../src/config/load.js';
import { problemsOf } from './helpers.js';

const api = fileURLToPath(new URL('..', import.meta.url));
const PUBLIC_URL = 'https://api.harakaflow.test';

/** The secrets CLI as `npx pnpm@10 secrets` runs it (its transpiled JavaScript). */
function secretsCli(args: string[]) {
  return spawnSync(process.execPath, [...fromDist(join(api, 'src/cli/secrets.ts')), ...args], {
    cwd: api,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
}

/** A production environment from a generated file, with what the operator fills in. */
function productionFrom(file: string, extra: Record<string, string>): Record<string, string> {
  return { ...parseEnv(file), DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-prod-')), ...extra } as Record<string, string>;
}

describe('npx pnpm@10 secrets', () => {
  it('prints NODE_ENV=production and a fresh value of every secret of SECRET_SPECS, each in the form its own check accepts', () => {
    const printed = secretsCli([]);
    expect(printed.status).toBe(0);
    const values = parseEnv(printed.stdout);
    expect(values.NODE_ENV).toBe('production');
    // Every secret, and nothing else set: PUBLIC_URL, DATABASE_URL, SMTP_URL are the operator's.
    expect(Object.keys(values).sort()).toEqual(['NODE_ENV', ...SECRET_SPECS.map((s) => s.env)].sort());
    for (const spec of SECRET_SPECS) expect(spec.check(values[spec.env]!), spec.env).toBeUndefined();
    // The keyed ones in their `id:base64-of-32-bytes` form, ids saying production.
    for (const name of ['VAULT_KEYS', 'DATA_RIGHTS_SIGNING_KEYS']) {
      expect(values[name]).toMatch(/^k-\d{4}-\d{2}-\d{2}:[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(values[name]!.split(':')[1]!, 'base64')).toHaveLength(32);
    }
    // Fresh: a second run shares no value with the first.
    const again = parseEnv(productionEnv());
    for (const spec of SECRET_SPECS) expect(again[spec.env]).not.toBe(values[spec.env]);
  });

  it('gives what the app accepts in production once PUBLIC_URL and SMTP_URL are filled in (loadConfig, writing nothing)', () => {
    const file = productionEnv();
    for (const name of ['PUBLIC_URL', 'DATABASE_URL', 'SMTP_URL', 'NOTIFY_TRANSPORT'])
      expect(file).toMatch(new RegExp(`^# ${name}=\\S+$`, 'm'));
    const env = productionFrom(file, { PUBLIC_URL, SMTP_URL: 'smtps://mailer:mail-password@smtp.harakaflow.test:465' });
    const config = loadConfig(env);
    expect(config.env).toBe('production');
    for (const spec of SECRET_SPECS) expect(config.secrets[spec.key]).toBe(env[spec.env]);
    expect(existsSync(join(env.DATA_DIR!, SECRETS_FILE))).toBe(false);
    // Uncommented as printed, the commented lines are accepted too (NOTIFY_TRANSPORT=eml instead of SMTP_URL).
    const filled = file.replace(/^# (PUBLIC_URL|NOTIFY_TRANSPORT)=/gm, '$1=');
    expect(loadConfig(productionFrom(filled, {})).publicUrl).toBe('https://api.example.com');
  });

  it('as printed, without PUBLIC_URL and mail filled in, is refused naming exactly those', () => {
    const env = productionFrom(productionEnv(), {});
    expect(() => loadConfig(env)).toThrow(ConfigError);
    const problems = (() => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([
      expect.stringMatching(/^SMTP_URL is required when NODE_ENV=production/),
      expect.stringMatching(/^PUBLIC_URL is required/),
    ]);
  });

  it('--out writes the file with mode 0600 and never overwrites one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-secrets-'));
    const target = join(dir, '.env.production');
    const first = secretsCli(['--out', target]);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe('');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const written = readFileSync(target, 'utf8');
    expect(parseEnv(written).ADMIN_API_KEY).toMatch(/^hf_admin_/);
    const second = secretsCli(['--out', target]);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain('exists: not overwritten');
    expect(readFileSync(target, 'utf8')).toBe(written);
    expect(secretsCli(['--bogus']).status).toBe(2);
  });
});

/** The variable lines of .env.example: the last line of each block (a comment line may start with NAME= too). */
const assignments = (text: string) =>
  text
    .split('\n\n')
    .map((block) => block.trim().split('\n').at(-1)!)
    .filter((line) => /^# [A-Z_]+=/.test(line));

describe('apps/api/.env.example', () => {
  it('is the committed rendering of ENV_VARIABLES and SECRET_SPECS (re-render: npx pnpm@10 secrets --env-example)', () => {
    const committed = readFileSync(join(api, '.env.example'), 'utf8');
    expect(committed).toBe(envExample(SECRET_SPECS));
    expect(assignments(committed).map((line) => /^# ([A-Z_]+)=/.exec(line)![1])).toEqual([
      ...ENV_VARIABLES.map((v) => v.name),
      ...SECRET_SPECS.map((s) => s.env),
    ]);
    // Every line a comment or blank: copied as .env it changes nothing until a line is uncommented.
    expect(Object.keys(parseEnv(committed))).toEqual([]);
  });

  it('each line, uncommented alone, is accepted by the app (the example values are valid)', () => {
    const lines = assignments(readFileSync(join(api, '.env.example'), 'utf8')).filter((line) =>
      /^# [A-Z_]+=./.test(line),
    );
    expect(lines).toContain('# PORT=3000');
    for (const line of lines) {
      const env = parseEnv(line.slice(2)) as Record<string, string>;
      expect(problemsOf(env), line).toEqual([]);
    }
  });

  it('--env-example writes the file the test above compares', () => {
    // To a file of the test's own (--out): the committed one is not touched.
    const file = join(mkdtempSync(join(tmpdir(), 'hf-example-')), '.env.example');
    const run = secretsCli(['--env-example', '--out', file]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(envExample(SECRET_SPECS));
  });

  it('--env-example --out never overwrites a file (a mixed-up command must not destroy an env file in use)', () => {
    const target = join(mkdtempSync(join(tmpdir(), 'hf-example-')), '.env.production');
    writeFileSync(target, 'ADMIN_API_KEY=in-use\n');
    const run = secretsCli(['--out', target, '--env-example']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('exists: not overwritten');
    expect(readFileSync(target, 'utf8')).toBe('ADMIN_API_KEY=in-use\n');
  });
});

describe('NOTIFY_TRANSPORT and SMTP_URL in production', () => {
  const secrets = () => parseEnv(productionEnv()) as Record<string, string>;

  it('production without SMTP_URL is HF_CONFIG_INVALID with the fix, unless NOTIFY_TRANSPORT=eml', () => {
    let error: unknown;
    try {
      loadConfig({ ...secrets(), PUBLIC_URL });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('HF_CONFIG_INVALID');
    expect((error as ConfigError).problems).toEqual([
      'SMTP_URL is required when NODE_ENV=production (smtps://user:password@host:465: account, request and policy notices are emailed); set NOTIFY_TRANSPORT=eml instead if the .eml files written under DATA_DIR/outbox are what you want',
    ]);
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-eml-'));
    expect(
      loadConfig({ ...secrets(), PUBLIC_URL, NOTIFY_TRANSPORT: 'eml', DATA_DIR: dataDir }).smtpUrl,
    ).toBeUndefined();
  });

  it('outside production .eml files stay the default without NOTIFY_TRANSPORT', () => {
    expect(problemsOf({})).toEqual([]);
    expect(problemsOf({ NODE_ENV: 'test' })).toEqual([]);
  });

  it('refuses a transport that contradicts SMTP_URL, or an unknown one, without quoting the URL', () => {
    expect(problemsOf({ NOTIFY_TRANSPORT: 'smtp' })).toEqual([
      'NOTIFY_TRANSPORT=smtp needs SMTP_URL (smtps://user:password@host:465)',
    ]);
    const both = problemsOf({
      NOTIFY_TRANSPORT: 'eml',
      SMTP_URL: 'smtps://mailer:mail-password@smtp.harakaflow.test:465',
    });
    expect(both).toEqual([
      'NOTIFY_TRANSPORT=eml and SMTP_URL are both set: unset SMTP_URL to write .eml files, or NOTIFY_TRANSPORT to send through it',
    ]);
    expect(both.join()).not.toContain('mail-password');
    expect(problemsOf({ NOTIFY_TRANSPORT: 'pigeon' })).toEqual(['NOTIFY_TRANSPORT must be smtp or eml (got "pigeon")']);
    expect(
      problemsOf({ NOTIFY_TRANSPORT: 'smtp', SMTP_URL: 'smtp://mailer:mail-password@smtp.harakaflow.test:587' }),
    ).toEqual([]);
  });
});
