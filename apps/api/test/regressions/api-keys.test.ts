// Issue 30 item 11: an API key could be neither rotated nor revoked short of deleting the account.
// Now POST /v1/keys (the new key shown once), GET /v1/keys (id, prefix, created, last used) and
// DELETE /v1/keys/:id (refused at once on this replica, within AUTH_CACHE_MS on the others; never
// the last key, HF_API_KEY_LAST), at most 5 live keys per account, exact under concurrency.
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { signup, testApp } from '../helpers.js';

const ORIGIN = 'https://api.harakaflow.test'; // testConfig's PUBLIC_URL
let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database, { authCacheMs: 5000 }));
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const bearer = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });
const me = (on: FastifyInstance, apiKey: string) => on.inject({ url: '/v1/me', headers: bearer(apiKey) });
const create = (on: FastifyInstance, apiKey: string) =>
  on.inject({ method: 'POST', url: '/v1/keys', headers: bearer(apiKey) });
const list = async (on: FastifyInstance, apiKey: string) =>
  (await on.inject({ url: '/v1/keys', headers: bearer(apiKey) })).json().keys as {
    id: string;
    prefix: string;
    createdAt: string;
    lastUsedAt: string | null;
  }[];
const revoke = (on: FastifyInstance, apiKey: string, id: string) =>
  on.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: bearer(apiKey) });

describe('an account’s API keys', () => {
  it('creates a key shown once, lists id, prefix, created and last used, never a key or its digest', async () => {
    const { apiKey } = await signup(app);
    const created = await create(app, apiKey);
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toEqual({
      id: expect.any(String),
      prefix: body.apiKey.slice(0, 10),
      createdAt: expect.any(String),
      lastUsedAt: null,
      apiKey: expect.stringMatching(/^hf_[A-Za-z0-9_-]{43}$/),
    });
    expect(created.headers['cache-control']).toBe('no-store');
    expect((await me(app, body.apiKey)).statusCode).toBe(200);

    const keys = await list(app, apiKey);
    expect(keys.map((k) => k.id)).toContain(body.id);
    for (const k of keys) expect(Object.keys(k).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'prefix']);
    const raw = JSON.stringify(keys);
    expect(raw).not.toContain(body.apiKey);
    expect(raw).not.toContain(apiKey);
    // The last use is written off the request path: it shows up shortly after.
    await until(async () => (await list(app, apiKey)).find((k) => k.id === body.id)!.lastUsedAt !== null);
    const used = (await list(app, apiKey)).find((k) => k.id === body.id)!;
    expect(Math.abs(Date.parse(used.lastUsedAt!) - Date.now())).toBeLessThan(60_000);
  });

  it('keeps at most 5 live keys, also when requests race', async () => {
    const { apiKey } = await signup(app);
    const results = await Promise.all(Array.from({ length: 8 }, () => create(app, apiKey)));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(4);
    const refused = results.filter((r) => r.statusCode !== 201);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r.json()).toMatchObject({ statusCode: 409, code: 'HF_API_KEY_LIMIT' });
    expect(await list(app, apiKey)).toHaveLength(5);
    // One revoked: one more may be made.
    const keys = await list(app, apiKey);
    expect((await revoke(app, apiKey, keys.at(-1)!.id)).statusCode).toBe(204);
    expect((await create(app, apiKey)).statusCode).toBe(201);
  });

  it('revokes a key at once on this replica and within AUTH_CACHE_MS on another; ends the account’s privacy-centre sessions', async () => {
    const { app: other } = await testApp(database, { authCacheMs: 1500 });
    onTestFinished(() => other.close());
    const { apiKey } = await signup(app);
    const second = (await create(app, apiKey)).json() as { id: string; apiKey: string };
    // Both replicas have the key cached.
    expect((await me(app, second.apiKey)).statusCode).toBe(200);
    expect((await me(other, second.apiKey)).statusCode).toBe(200);
    const signIn = await app.inject({
      method: 'POST',
      url: '/v1/privacy/session',
      headers: { origin: ORIGIN },
      payload: { apiKey: second.apiKey },
    });
    const cookie = String(
      ([] as string[]).concat(signIn.headers['set-cookie'] as string[]).find((c) => c.startsWith('hf_session=')),
    ).split(';')[0]!;
    expect((await app.inject({ url: '/v1/privacy/session', headers: { cookie } })).statusCode).toBe(200);

    expect((await revoke(app, apiKey, second.id)).statusCode).toBe(204);
    // This replica: at once.
    const refused = await me(app, second.apiKey);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('HF_AUTH_INVALID');
    expect((await app.inject({ url: '/v1/privacy/session', headers: { cookie } })).statusCode).toBe(401);
    // The other replica: within its AUTH_CACHE_MS.
    const revokedAt = Date.now();
    await until(async () => (await me(other, second.apiKey)).statusCode === 401);
    expect(Date.now() - revokedAt).toBeLessThan(1500 + 1000);
    // The key that remains works; the revoked one is no longer listed.
    expect((await me(app, apiKey)).statusCode).toBe(200);
    expect((await list(app, apiKey)).map((k) => k.id)).not.toContain(second.id);
  });

  it('never revokes the last key, even when two revocations race', async () => {
    const { account, apiKey } = await signup(app);
    const [only] = await list(app, apiKey);
    const last = await revoke(app, apiKey, only!.id);
    expect(last.statusCode).toBe(409);
    expect(last.json()).toMatchObject({
      code: 'HF_API_KEY_LAST',
      statusCode: 409,
      error: expect.any(String),
      message: expect.any(String),
    });
    expect((await me(app, apiKey)).statusCode).toBe(200);

    const second = (await create(app, apiKey)).json() as { id: string; apiKey: string };
    const [a, b] = await Promise.all([revoke(app, apiKey, only!.id), revoke(app, second.apiKey, second.id)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([204, 409]);
    const live = resultRows<{ n: number }>(
      await database.db.execute(
        sql`select count(*)::int as n from app.api_keys where account_id = ${account.id}::uuid and revoked_at is null`,
      ),
    );
    expect(Number(live[0]!.n)).toBe(1);
  });

  it('answers 404 for another account’s key or an unknown one, 400 for a malformed id, and takes no session cookie', async () => {
    const mine = await signup(app);
    const theirs = await signup(app);
    const [theirKey] = await list(app, theirs.apiKey);
    await create(app, mine.apiKey);
    for (const id of [theirKey!.id, '00000000-0000-4000-8000-000000000000']) {
      const res = await revoke(app, mine.apiKey, id);
      expect(res.statusCode, id).toBe(404);
      expect(res.json().code).toBe('HF_API_KEY_NOT_FOUND');
    }
    expect((await revoke(app, mine.apiKey, 'not-a-uuid')).json()).toMatchObject({
      statusCode: 400,
      code: 'HF_VALIDATION_FAILED',
    });
    expect((await me(app, theirs.apiKey)).statusCode).toBe(200);
    // A privacy-centre session is not a key: it cannot list, mint or revoke keys.
    const signIn = await app.inject({
      method: 'POST',
      url: '/v1/privacy/session',
      headers: { origin: ORIGIN },
      payload: { apiKey: mine.apiKey },
    });
    const cookie = String(
      ([] as string[]).concat(signIn.headers['set-cookie'] as string[]).find((c) => c.startsWith('hf_session=')),
    ).split(';')[0]!;
    const csrf = signIn.json().csrfToken as string;
    expect((await app.inject({ url: '/v1/keys', headers: { cookie } })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/keys', headers: { cookie, origin: ORIGIN, 'x-csrf-token': csrf } }))
        .statusCode,
    ).toBe(401);
  });
});
