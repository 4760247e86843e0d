import { buildApp, ConfigError, parseConfig, type AppConfig } from '@harakaflow/api';
import { AuditSigningKeys } from '@harakaflow/audit';
import {
  captureLogs,
  startReceiver as startTestReceiver,
  startSmtp,
  testDatabase,
  until,
  type Answer,
  type Received,
  type TestDatabase,
} from '@harakaflow/testing';
import { checkResponsesAgainstDocument } from './contract.js';
import type { FastifyInstance } from 'fastify';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';
export const CONSENT_SECRET = 'test-consent-secret-0123456789abcdef0123';
export const AGE_GATE_SECRET = 'test-age-gate-secret-0123456789abcdef012';
export const AUDIT_KEY = 'test-audit-checkpoint-0123456789abcdef01';
export const META_APP_SECRET = 'test-meta-app-secret-0123456789';
export const VAULT_KEYS = `test-k1:${Buffer.alloc(32, 7).toString('base64')}`;

/** A fixed Ed25519 seed: tests verify signatures against the published key. */
export const DATA_RIGHTS_SIGNING_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;

/** A fixed Ed25519 seed for the audit log's signed checkpoints (issue 33), under the tests' origin. */
export const AUDIT_SIGNING_KEYS = `test-audit:${Buffer.alloc(32, 8).toString('base64')}`;
export const AUDIT_LOG_ORIGIN = 'api.harakaflow.test/audit';

/** The configuration table's defaults (apps/api/src/config/variables.ts), as a server with no environment would have them. */
const { secretValues: _unused, ...DEFAULTS } = parseConfig({ NODE_ENV: 'test' });

/** The table's defaults, and what tests need otherwise (each said why). */
export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return {
    ...DEFAULTS,
    port: 0,
    // Only notify's .eml files land here (no SMTP_URL in tests that do not start a server).
    dataDir: join(tmpdir(), `hf-api-test-data-${process.pid}`),
    // Spilling needs a database outage; the audit package's own tests cover it.
    auditSpillDir: join(tmpdir(), `hf-api-test-spill-${process.pid}`),
    metaAppSecret: META_APP_SECRET,
    metaVerifyToken: 'test-meta-verify-token-0123',
    // Tests deliver to a receiver on 127.0.0.1 over http.
    webhooksAllowPrivateDestinations: true,
    webhooksAllowHttp: true,
    // Generous: tests that exercise quotas lower them.
    quotaAnonRpm: 100_000,
    quotaFreeMessagesPerDay: 100_000,
    quotaBanAfter: 1000,
    quotaFreeRpm: 100_000,
    quotaAuthFailuresPerMinute: 1000,
    // Each test process its own keys, in a Redis other runs (and the benchmark) share.
    quotaKeyPrefix: `hf-test:${process.pid}:quota:`,
    // A store call may take 500 ms (QUOTA_STORE_TIMEOUT_MS; Redis's default is 50): with a second
    // suite beside this one on two cores, Redis calls outlasted 50 ms, the insurance limiter answered
    // and the message quota refused with 503, as each must for a store it cannot reach in time.
    quotaStoreTimeoutMs: 500,
    // At once: tests of the grace period set their own.
    dataRightsPurgeAfterDays: 0,
    notifyFrom: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    // Runs only when a test asks.
    retentionIntervalMinutes: 0,
    // Signed checkpoints, as development has them (generated there).
    auditLogOrigin: AUDIT_LOG_ORIGIN,
    auditSigningKeys: new AuditSigningKeys(AUDIT_SIGNING_KEYS, AUDIT_LOG_ORIGIN),
    secrets: {
      adminApiKey: ADMIN_KEY,
      consentSecrets: CONSENT_SECRET,
      ageGateSecrets: AGE_GATE_SECRET,
      vaultKeys: VAULT_KEYS,
      auditCheckpointKeys: AUDIT_KEY,
      dataRightsSigningKeys: DATA_RIGHTS_SIGNING_KEYS,
      dataRightsSubjectKey: 'test-data-rights-subject-key-0123456789abcdef',
      notifyUnsubscribeSecrets: 'test-notify-unsubscribe-0123456789abcdef',
      auditSigningKeys: AUDIT_SIGNING_KEYS,
    },
    ...overrides,
  };
}

/** The problems parseConfig reports for `env` (each names its variable); none: []. */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

/** The reference app on the file's test database, with its logs captured. */
export async function testApp(
  database: TestDatabase,
  overrides: Partial<AppConfig> = {},
  before?: (app: FastifyInstance) => void | Promise<void>,
) {
  const logs = captureLogs();
  const app = await buildApp(testConfig(overrides), { database, logStream: logs.stream });
  checkResponsesAgainstDocument(app);
  await before?.(app);
  await app.ready();
  return { app, logs };
}

/**
 * One app on its own database for a test file: built before the file's tests, closed after them.
 * Read `app` and `database` inside tests (they are set once beforeAll has run).
 */
export function appForFile(overrides: Partial<AppConfig> = {}): { app: FastifyInstance; database: TestDatabase } {
  const under = {} as { app: FastifyInstance; database: TestDatabase };
  beforeAll(async () => {
    under.database = await testDatabase();
    ({ app: under.app } = await testApp(under.database, overrides));
  });
  afterAll(async () => {
    await under.app?.close();
    await under.database?.close();
  });
  return under;
}

let counter = 0;
export function signupBody(overrides: Record<string, unknown> = {}) {
  counter++;
  return {
    name: 'Amina Otieno',
    email: `amina.${process.pid}.${counter}.${Date.now()}@example.com`,
    businessName: 'Otieno Logistics',
    dateOfBirth: '1990-04-12',
    ...overrides,
  };
}

export async function signup(app: FastifyInstance, overrides: Record<string, unknown> = {}, remoteAddress?: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    payload: signupBody(overrides),
    ...(remoteAddress ? { remoteAddress } : {}),
  });
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.statusCode} ${response.body}`);
  return response.json() as { account: { id: string; email: string }; apiKey: string };
}

/** The messages of a kind (the X-HarakaFlow-Notification header) an SMTP capture received for `to`. */
export function mailsOf(smtp: { received: Received[] }, kind: string, to: string): Received[] {
  return smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === kind && m.to.includes(to));
}

/**
 * Verifies an account's address as a person would (issue 30 item 6): waits for the verification
 * message at the SMTP capture, reads the code in it, and sends it with the account's key.
 */
export async function verifyByMail(
  app: FastifyInstance,
  smtp: { received: Received[] },
  account: { email: string },
  apiKey: string,
): Promise<void> {
  await until(async () => {
    await app.notify.dispatch();
    return mailsOf(smtp, 'account.email.verification', account.email).length > 0;
  });
  const code = /^([0-9A-Z]{4}-[0-9A-Z]{4})\r?$/m.exec(
    mailsOf(smtp, 'account.email.verification', account.email).at(-1)!.text,
  )![1]!;
  const verified = await app.inject({
    method: 'POST',
    url: '/v1/account/email/verify',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { code },
  });
  if (verified.statusCode !== 200) throw new Error(`verification failed: ${verified.statusCode} ${verified.body}`);
}

/** A webhook receiver on 127.0.0.1 that records what it is sent and answers `answer` (a status, or what each request gets). */
export const startReceiver = (answer: Answer = 204) => startTestReceiver(answer);

/** The app sending mail to an SMTP server of this test's own; both closed when the test finishes. */
export async function mailApp(database: TestDatabase, overrides: Partial<AppConfig> = {}) {
  const smtp = await startSmtp();
  onTestFinished(() => smtp.close());
  const { app, logs } = await testApp(database, { smtpUrl: smtp.url, ...overrides });
  onTestFinished(() => app.close());
  return { app, logs, smtp };
}

/** Dispatches the notify outbox until a round sends nothing. */
export async function dispatchAll(app: { notify: { dispatch(): Promise<number> } }): Promise<void> {
  while ((await app.notify.dispatch()) > 0);
}
