/**
 * What verify-packages runs in each scratch project (ES modules, as a user writes them): the import
 * without a database driver, then the plugin registered with the options its README shows, `ready()`,
 * and one use of what it decorates. Each check throws when the package does not behave. A script
 * runs on PGlite, or on real Postgres through postgres.js when CHECK_DATABASE_URL is set.
 */
export interface PackageCheck {
  /** Run before any driver is installed. Default: the package imports. */
  withoutDriver?: string;
  /** Run after @electric-sql/pglite is installed, as an app calling createDatabase does. */
  script?: string;
  /** Packages installed beside it though it does not depend on them. */
  siblings?: string[];
}

const prelude = `
import Fastify from 'fastify';
import { createDatabase, migrate } from '@harakaflow/db';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const must = (ok, what) => { if (!ok) throw new Error('check failed: ' + what); };
const secret = () => randomBytes(32).toString('hex');
// PGlite, or the database verify-packages made for this check on a real server (postgres.js).
const handle = await createDatabase(process.env.CHECK_DATABASE_URL ? { url: process.env.CHECK_DATABASE_URL, max: 2 } : {});
const db = handle.db;
const app = Fastify();
`;
const end = `
await app.close();
await handle.close();
`;

export const CHECKS: Record<string, PackageCheck> = {
  '@harakaflow/core': {
    withoutDriver: `
import Fastify from 'fastify';
import { canonicalJson, defaultSubject, securityEvent } from '@harakaflow/core';
if (canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) !== '{"a":[2,{"c":4,"d":3}],"b":1}') throw new Error('canonicalJson');
const app = Fastify();
app.get('/', async (request) => { await securityEvent(app, request, { action: 'scratch.checked' }); return { subject: defaultSubject(request) ?? null }; });
await app.ready();
const response = await app.inject('/');
if (response.json().subject !== null) throw new Error('defaultSubject without a principal');
await app.close();`,
  },
  '@harakaflow/db': {
    // The entry loads no driver; createDatabase names the missing one.
    withoutDriver: `
import { createDatabase } from '@harakaflow/db';
for (const options of [{}, { url: 'postgres://nobody@127.0.0.1:1/none' }]) {
  const error = await createDatabase(options).then(() => null, (e) => e);
  if (error?.code !== 'HF_DB_DRIVER_MISSING') throw new Error('expected HF_DB_DRIVER_MISSING, got ' + (error?.code ?? 'no error'));
}`,
    script: `
import { createDatabase, migrate, resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
const url = process.env.CHECK_DATABASE_URL;
const handle = await createDatabase(url ? { url, max: 2 } : {});
if (handle.driver !== (url ? 'postgres' : 'pglite') || !(await handle.ping())) throw new Error(handle.driver + ' does not answer');
const [row] = resultRows(await handle.db.execute(sql\`select 41 + 1 as n\`));
if (Number(row.n) !== 42) throw new Error('select');
await migrate(handle.db, []);
await handle.close();`,
  },
  '@harakaflow/age-gate': {
    script: `${prelude}
const { default: ageGate, ageGateMigrations } = await import('@harakaflow/age-gate');
await migrate(db, [ageGateMigrations]);
await app.register(ageGate, { db, secrets: [secret()], protectPrefixes: ['/v1'], secure: false, sweepIntervalMs: 0 });
app.get('/v1/thing', async () => ({ ok: true }));
await app.ready();
must(typeof app.ageGate.screen === 'function', 'app.ageGate');
must((await app.inject('/v1/thing')).statusCode === 403, 'an unverified subject is refused under protectPrefixes');
${end}`,
  },
  '@harakaflow/audit': {
    script: `${prelude}
const { default: audit, auditMigrations } = await import('@harakaflow/audit');
await migrate(db, [auditMigrations]);
await app.register(audit, { db, checkpointKeys: [secret()], spillDir: mkdtempSync(join(tmpdir(), 'scratch-spill-')) });
app.get('/', async (request) => { await request.audit.record({ action: 'scratch.checked', outcome: 'success', durability: 'sync' }); return 'ok'; });
await app.ready();
must((await app.inject('/')).statusCode === 200, 'a synchronous security event commits');
${end}`,
  },
  '@harakaflow/consent': {
    script: `${prelude}
const { default: cookie } = await import('@fastify/cookie');
const { default: consent, consentMigrations } = await import('@harakaflow/consent');
await migrate(db, [consentMigrations]);
await app.register(cookie);
await app.register(consent, { db, secrets: [secret()], secure: false, policies: [{ version: '2026-01-01', publishedAt: '2026-01-01', effectiveAt: '2026-01-01', material: true }], cookies: { hf_aid: 'analytics' } });
await app.ready();
const response = await app.inject('/consent');
must(response.statusCode === 200 && response.json().catalogue.cookies.hf_aid === 'analytics', 'GET /consent');
${end}`,
  },
  '@harakaflow/credential-vault': {
    script: `${prelude}
const { default: vault, vaultMigrations } = await import('@harakaflow/credential-vault');
await migrate(db, [vaultMigrations]);
await app.register(vault, { db, keys: 'k1:' + randomBytes(32).toString('base64') });
await app.ready();
const place = { accountId: 'acct', sessionId: 's1', name: 'creds' };
await app.vault.put(place, Buffer.from('secret value'));
must((await app.vault.get(place))?.value.toString() === 'secret value', 'a sealed value opens again');
${end}`,
  },
  '@harakaflow/data-rights': {
    script: `${prelude}
const { default: dataRights, dataRightsMigrations } = await import('@harakaflow/data-rights');
await migrate(db, [dataRightsMigrations]);
const keys = new Map();
const keyStore = { put: async (n, v) => void keys.set(n, v), get: async (n) => keys.get(n) ?? null, delete: async (n) => void keys.delete(n) };
await app.register(dataRights, { db, signingKeys: 'k1:' + randomBytes(32).toString('base64'), subjectKey: randomBytes(32), keyStore, accountExists: async () => true, sweepIntervalMs: 0 });
await app.ready();
const request = await app.dataRights.file({ kind: 'access', subject: { kind: 'account', accountId: randomUUID() }, filedBy: 'self', verification: 'api-key' });
must(typeof request.id === 'string', 'a request is filed');
${end}`,
  },
  '@harakaflow/notify': {
    script: `${prelude}
const { default: notify, notifyMigrations } = await import('@harakaflow/notify');
await migrate(db, [notifyMigrations]);
await app.register(notify, {
  db, dispatch: false, from: 'Scratch <no-reply@example.com>', publicUrl: 'https://example.com', unsubscribeSecrets: [secret()],
  outboxDir: mkdtempSync(join(tmpdir(), 'scratch-outbox-')), recipientOf: async () => ({ address: 'owner@example.com', name: 'Owner', businessName: 'Shop' }),
});
await app.ready();
const id = await app.notify.enqueue({ kind: 'quota.warning', accountId: 'acct', data: { quota: 'free.minute', percent: 80, used: 48, limit: 60, resetAt: new Date().toISOString() } });
must(typeof id === 'string', 'a notification is queued');
${end}`,
  },
  '@harakaflow/quota': {
    // The memory store needs no database: the whole check runs without a driver.
    withoutDriver: `
import Fastify from 'fastify';
const { default: quota } = await import('@harakaflow/quota');
const app = Fastify();
await app.register(quota, { anonymous: { requestsPerMinute: 2 } });
app.get('/', async () => 'ok');
await app.ready();
const codes = [];
for (let i = 0; i < 3; i++) codes.push((await app.inject('/')).statusCode);
if (codes.join() !== '200,200,429') throw new Error('per-IP limit: ' + codes.join());
await app.close();`,
  },
  '@harakaflow/retention': {
    script: `${prelude}
const { default: retention, retentionMigrations } = await import('@harakaflow/retention');
await migrate(db, [retentionMigrations]);
await app.register(retention, { db, intervalMinutes: 0 });
await app.ready();
const result = await app.retention.runner.run({ dryRun: true });
must(result && typeof result === 'object', 'a dry run');
${end}`,
  },
  '@harakaflow/webhooks': {
    script: `${prelude}
const { default: webhooks, webhooksMigrations, signWebhook, verifyWebhook, generateSecret } = await import('@harakaflow/webhooks');
await migrate(db, [webhooksMigrations]);
const kept = new Map();
const secrets = { put: async (a, e, s, v) => void kept.set(a + e + s, v), get: async (a, e, s) => kept.get(a + e + s) ?? null, delete: async (a, e) => { for (const k of kept.keys()) if (k.startsWith(a + e)) kept.delete(k); } };
await app.register(webhooks, { db, secrets, dispatch: false, eventTypes: ['message.accepted'] });
await app.ready();
const created = await app.webhooks.create('acct', { url: 'https://203.0.114.7/hook', events: ['message.accepted'] });
must(typeof created.secret === 'string', 'an endpoint is created');
const whsec = generateSecret();
const headers = signWebhook({ id: 'msg_1', timestamp: new Date(), payload: '{}', secrets: [whsec] });
must(verifyWebhook('{}', headers, [whsec]).ok, 'a signature verifies');
${end}`,
  },
};
