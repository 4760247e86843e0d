import {
  configTable,
  ConfigError,
  ENV_VARIABLES,
  loadConfig,
  parseConfig,
  SECRET_SPECS,
  SECRETS_FILE,
} from '@harakaflow/api';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { problemsOf } from './helpers.js';
import { describe, expect, it } from 'vitest';

const SECRET = 'production-admin-key-with-enough-length-0123456789';

describe('the configuration table', () => {
  it('is what the README shows: every variable and every secret, rendered from apps/api/src/config/variables.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // A failure here: paste configTable(SECRET_SPECS)'s output into apps/api/README.md's configuration section.
    expect(readme).toContain(configTable(SECRET_SPECS));
    const names = [...ENV_VARIABLES.map((v) => v.name), ...SECRET_SPECS.map((s) => s.env)];
    expect(new Set(names).size).toBe(names.length);
  });

  it('is every variable the app reads: none read outside it', () => {
    const read = new Set<string>();
    const env = new Proxy({}, { get: (_t, name) => (typeof name === 'string' && read.add(name), undefined) });
    parseConfig(env);
    const known = new Set([...ENV_VARIABLES.map((v) => v.name), ...SECRET_SPECS.map((s) => s.env)]);
    expect([...read].filter((name) => !known.has(name))).toEqual([]);
    expect([...known].filter((name) => !read.has(name))).toEqual([]);
  });
});

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      host: '127.0.0.1',
      dataDir: '.data',
      databaseUrl: undefined,
      migrationDatabaseUrl: undefined,
      redisUrl: undefined,
      trustProxy: false,
      tls: undefined,
      logLevel: 'info',
      consentDefaultAnalytics: 'granted',
      minorErasureDelayMs: 0,
      auditIpMode: 'full',
      auditIpHashKey: undefined,
      auditSpillDir: join('.data', 'audit-spill'),
      auditSpillMaxMb: 1024,
      auditChainVersion: 2,
      auditSpillFull: 'drop-access',
      metaAppSecret: undefined,
      metaVerifyToken: undefined,
      webhooksAllowPrivateDestinations: false,
      webhooksAllowHttp: false,
      quotaAnonRpm: 60,
      quotaFreeRpm: 60,
      quotaFreeMessagesPerDay: 100,
      quotaBanAfter: 5,
      quotaAuthFailuresPerMinute: 10,
      quotaKeyPrefix: 'hf:quota:',
      quotaStoreTimeoutMs: undefined,
      quotaLegacyClientKeys: false,
      quotaLegacyAccountKeys: false,
      requestTimeoutMs: 30_000,
      maxJsonDepth: 64,
      dataRightsDueDays: 30,
      dataRightsPurgeAfterDays: 7,
      dataRightsExportTtlHours: 120,
    });
  });

  it('reads the audit, webhook and quota settings', () => {
    expect(
      parseConfig({
        AUDIT_IP_MODE: 'keyed-hash',
        AUDIT_IP_HASH_KEY: 'k'.repeat(32),
        WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS: '1',
        WEBHOOKS_ALLOW_HTTP: 'true',
        QUOTA_ANON_RPM: '3',
        QUOTA_BAN_AFTER: '2',
        QUOTA_LEGACY_CLIENT_KEYS: '1',
        QUOTA_STORE_TIMEOUT_MS: '750',
        DATA_DIR: '/srv/hf',
      }),
    ).toMatchObject({
      quotaStoreTimeoutMs: 750,
      auditIpMode: 'keyed-hash',
      webhooksAllowPrivateDestinations: true,
      webhooksAllowHttp: true,
      quotaAnonRpm: 3,
      quotaBanAfter: 2,
      quotaLegacyClientKeys: true,
      auditSpillDir: join('/srv/hf', 'audit-spill'),
    });
  });

  it.each([
    ['AUDIT_CHAIN_VERSION', '4'],
    ['AUDIT_SPILL_FULL', 'maybe'],
    ['AUDIT_SPILL_MAX_MB', '0'],
    ['REQUEST_TIMEOUT_MS', '10'],
    ['MAX_JSON_DEPTH', '0'],
    ['MAX_JSON_DEPTH', '5000'],
    ['QUOTA_AUTH_FAILURES_PER_MINUTE', '0'],
    ['QUOTA_STORE_TIMEOUT_MS', '0'],
    ['QUOTA_STORE_TIMEOUT_MS', '60001'],
    ['QUOTA_STORE_TIMEOUT_MS', '1.5'],
    ['MIGRATION_DATABASE_URL', 'mysql://x/y'],
    ['TLS_CERT_FILE', '/only/one.pem'],
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['HOST', 'bad host!'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '*'],
    ['TRUST_PROXY', '0.0.0.0/0'],
    ['TRUST_PROXY', '::/0'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1,banana'],
    ['ADMIN_API_KEY', 'short'],
    ['CONSENT_SECRETS', 'short'],
    ['CONSENT_SECRETS', '0123456789abcdef0123456789abcdef0123,short'],
    ['CONSENT_DEFAULT_ANALYTICS', 'maybe'],
    ['AGE_GATE_SECRETS', 'short'],
    ['MINOR_ERASURE_DELAY_MS', '-5'],
    ['VAULT_KEYS', 'k1:tooshort'],
    ['VAULT_KEYS', 'no-colon'],
    ['AUDIT_CHECKPOINT_KEYS', 'short'],
    ['DATA_RIGHTS_SIGNING_KEYS', 'k1:short'],
    ['DATA_RIGHTS_SIGNING_KEYS', 'no-colon'],
    ['AUDIT_SIGNING_KEYS', 'k1:short'],
    ['AUDIT_SIGNING_KEYS', 'no-colon'],
    ['AUDIT_LOG_ORIGIN', 'has space'],
    ['DATA_RIGHTS_SUBJECT_KEY', 'short'],
    ['DATA_RIGHTS_DUE_DAYS', '31'],
    ['DATA_RIGHTS_DUE_DAYS', '0'],
    ['DATA_RIGHTS_PURGE_AFTER_DAYS', '31'],
    ['DATA_RIGHTS_PURGE_AFTER_DAYS', '-1'],
    ['DATA_RIGHTS_EXPORT_TTL_HOURS', '0'],
    ['AUDIT_IP_MODE', 'partial'],
    ['AUDIT_IP_HASH_KEY', 'short'],
    ['META_APP_SECRET', 'short'],
    ['META_VERIFY_TOKEN', 'short'],
    ['WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS', 'yes'],
    ['WEBHOOKS_ALLOW_HTTP', '2'],
    ['QUOTA_ANON_RPM', '0'],
    ['QUOTA_FREE_RPM', '-1'],
    ['QUOTA_FREE_MESSAGES_PER_DAY', 'many'],
    ['QUOTA_BAN_AFTER', '1.5'],
    ['QUOTA_KEY_PREFIX', 'has spaces'],
    ['QUOTA_LEGACY_CLIENT_KEYS', 'both'],
    ['SMTP_URL', 'http://mail.test'],
    ['NOTIFY_BOUNCE_IMAP_URL', 'https://bounces:pw@mail.test/INBOX'],
    ['NOTIFY_FROM', 'nobody'],
    ['NOTIFY_DKIM_SELECTOR', 'sel'],
    ['PUBLIC_URL', 'ftp://x.test'],
  ])('names %s when it is %j', (variable, value) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(variable);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'x', LOG_LEVEL: 'y', REDIS_URL: 'z' });
    expect(problems.map((p) => p.split(' ')[0])).toEqual(['PORT', 'REDIS_URL', 'LOG_LEVEL']);
  });

  it('never echoes a secret value in its message', () => {
    const problems = problemsOf({ ADMIN_API_KEY: 'tooShortSecret' });
    expect(problems.join()).not.toContain('tooShortSecret');
  });

  it('accepts proxy addresses, CIDRs and range names', () => {
    expect(parseConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1,fd00::/48,loopback' }).trustProxy).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      '::1',
      'fd00::/48',
      'loopback',
    ]);
  });
});

describe('loadConfig: the DKIM key', () => {
  it('takes a PEM or a file holding one, and names NOTIFY_DKIM_KEY, never quoting it, when it is neither', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-config-'));
    const file = join(dataDir, 'dkim.pem');
    writeFileSync(file, pem);
    expect(loadConfig({ DATA_DIR: dataDir, NOTIFY_DKIM_SELECTOR: 'hf', NOTIFY_DKIM_KEY: file }).notifyDkim).toEqual({
      selector: 'hf',
      key: pem,
    });
    expect(
      loadConfig({ DATA_DIR: dataDir, NOTIFY_DKIM_SELECTOR: 'hf', NOTIFY_DKIM_KEY: pem.replace(/\n/g, '\\n') })
        .notifyDkim?.key,
    ).toBe(pem);
    for (const bad of [
      '-----BEGIN PRIVATE KEY-----\\nnot-a-key-material-xyz\\n-----END PRIVATE KEY-----',
      '/nonexistent/dkim-secret.pem',
    ]) {
      try {
        loadConfig({ DATA_DIR: dataDir, NOTIFY_DKIM_SELECTOR: 'hf', NOTIFY_DKIM_KEY: bad });
        expect.unreachable();
      } catch (error) {
        expect((error as ConfigError).problems.join('\n')).toContain('NOTIFY_DKIM_KEY');
        expect((error as ConfigError).problems.join('\n')).not.toMatch(/not-a-key-material|dkim-secret/);
      }
    }
  });
});

describe('NOTIFY_BOUNCE_IMAP_URL (issue 34 item 4)', () => {
  it('is read as given; its password is never quoted; production takes imaps://, or imap:// to loopback only', () => {
    const url = 'imaps://bounces%40harakaflow.test:s3cret-Passw0rd@mail.harakaflow.test/INBOX';
    expect(parseConfig({ NOTIFY_BOUNCE_IMAP_URL: url }).notifyBounceImapUrl).toBe(url);
    expect(parseConfig({}).notifyBounceImapUrl).toBeUndefined();
    const wrong = problemsOf({ NOTIFY_BOUNCE_IMAP_URL: 'pop3://bounces:s3cret-Passw0rd@mail.test' });
    expect(wrong).toEqual([expect.stringMatching(/^NOTIFY_BOUNCE_IMAP_URL must be an imaps:\/\//)]);
    expect(wrong.join()).not.toContain('s3cret');
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://api.harakaflow.test', NOTIFY_TRANSPORT: 'eml' };
    const plain = problemsOf({
      ...production,
      NOTIFY_BOUNCE_IMAP_URL: 'imap://bounces:s3cret-Passw0rd@mail.harakaflow.test/INBOX',
    });
    expect(plain).toEqual([expect.stringMatching(/^NOTIFY_BOUNCE_IMAP_URL must be imaps:\/\/ in production/)]);
    expect(plain.join()).not.toContain('s3cret');
    expect(
      problemsOf({ ...production, NOTIFY_BOUNCE_IMAP_URL: 'imap://bounces:s3cret-Passw0rd@127.0.0.1:1143/INBOX' }),
    ).toEqual([]);
    expect(problemsOf({ ...production, NOTIFY_BOUNCE_IMAP_URL: url })).toEqual([]);
  });
});

describe('loadConfig secrets', () => {
  it('refuses to start in production without its secrets, naming each', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    try {
      loadConfig({ NODE_ENV: 'production' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^SMTP_URL is required when NODE_ENV=production .*NOTIFY_TRANSPORT=eml/),
        expect.stringMatching(/^PUBLIC_URL is required when NODE_ENV=production/),
        'ADMIN_API_KEY is required when NODE_ENV=production',
        'CONSENT_SECRETS is required when NODE_ENV=production',
        'AGE_GATE_SECRETS is required when NODE_ENV=production',
        'AUDIT_CHECKPOINT_KEYS is required when NODE_ENV=production',
        'NOTIFY_UNSUBSCRIBE_SECRETS is required when NODE_ENV=production',
        'DATA_RIGHTS_SIGNING_KEYS is required when NODE_ENV=production',
        'DATA_RIGHTS_SUBJECT_KEY is required when NODE_ENV=production',
        'VAULT_KEYS is required when NODE_ENV=production',
      ]);
    }
  });

  it('starts in production with its secrets given, writing nothing to disk', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-config-'));
    const config = loadConfig({
      NODE_ENV: 'production',
      ADMIN_API_KEY: SECRET,
      CONSENT_SECRETS: `${SECRET},${SECRET}x`,
      AGE_GATE_SECRETS: SECRET,
      AUDIT_CHECKPOINT_KEYS: SECRET,
      VAULT_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
      DATA_RIGHTS_SIGNING_KEYS: `s1:${Buffer.alloc(32, 4).toString('base64')}`,
      DATA_RIGHTS_SUBJECT_KEY: SECRET,
      NOTIFY_UNSUBSCRIBE_SECRETS: SECRET,
      PUBLIC_URL: 'https://api.harakaflow.test',
      NOTIFY_TRANSPORT: 'eml',
      DATA_DIR: dataDir,
    });
    expect(config.secrets.consentSecrets).toBe(`${SECRET},${SECRET}x`);
    expect(config.secrets.adminApiKey).toBe(SECRET);
    expect(() => statSync(join(dataDir, SECRETS_FILE))).toThrow();
  });

  it('in development generates missing secrets once, mode 0600, warns, and reuses them', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-config-'));
    const warnings: string[] = [];
    const first = loadConfig({ DATA_DIR: dataDir }, (m) => warnings.push(m));
    const file = join(dataDir, SECRETS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.secrets.adminApiKey.length).toBeGreaterThanOrEqual(32);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'ADMIN_API_KEY, CONSENT_SECRETS, AGE_GATE_SECRETS, AUDIT_CHECKPOINT_KEYS, NOTIFY_UNSUBSCRIBE_SECRETS, DATA_RIGHTS_SIGNING_KEYS, DATA_RIGHTS_SUBJECT_KEY, VAULT_KEYS, AUDIT_SIGNING_KEYS, QUOTA_CLIENT_KEY_SECRET',
    );
    expect(warnings[0]).not.toContain(first.secrets.adminApiKey);

    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.secrets.adminApiKey).toBe(first.secrets.adminApiKey);
    expect(second.secrets.consentSecrets).toBe(first.secrets.consentSecrets);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      ADMIN_API_KEY: first.secrets.adminApiKey,
      CONSENT_SECRETS: first.secrets.consentSecrets,
      AGE_GATE_SECRETS: first.secrets.ageGateSecrets,
      AUDIT_CHECKPOINT_KEYS: first.secrets.auditCheckpointKeys,
      NOTIFY_UNSUBSCRIBE_SECRETS: first.secrets.notifyUnsubscribeSecrets,
      DATA_RIGHTS_SIGNING_KEYS: first.secrets.dataRightsSigningKeys,
      DATA_RIGHTS_SUBJECT_KEY: first.secrets.dataRightsSubjectKey,
      VAULT_KEYS: first.secrets.vaultKeys,
      AUDIT_SIGNING_KEYS: first.secrets.auditSigningKeys,
      QUOTA_CLIENT_KEY_SECRET: first.secrets.quotaClientKeySecret,
    });
  });

  it('prefers the environment over the development file', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-config-'));
    loadConfig({ DATA_DIR: dataDir });
    expect(loadConfig({ DATA_DIR: dataDir, ADMIN_API_KEY: SECRET }).secrets.adminApiKey).toBe(SECRET);
  });

  it('stops on a corrupt secrets file instead of silently replacing the secrets', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-config-'));
    writeFileSync(join(dataDir, SECRETS_FILE), '{ not json');
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(/secrets\.json is not valid JSON/);
  });
});
