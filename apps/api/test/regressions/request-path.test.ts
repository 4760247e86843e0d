// Issue 29 item 4 (the app's own share of a request): the request id and the security headers are
// set together by the first hook, so every answer carries them. Before, `x-request-id` was set by
// auth's hook, which runs after quota's IP ban: a banned client's 403 had no request id, though
// the README promises one on every response. Also the auth cache's shortcuts of this issue: a
// cached key skips the admin-key comparison (a hit is never the admin key), and an admin action
// forgets the cache through a listener on its own response instead of a hook on every request.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { publicAccount, type Account } from '../../src/data/accounts.js';
import { bearerToken } from '../../src/http/auth.js';
import { ADMIN_KEY, signup, testApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

describe('every answer carries its request id and the API headers', () => {
  it("a banned client's refusal too (quota's IP ban answers before authentication)", async () => {
    const { app } = await testApp(database, { quotaAuthFailuresPerMinute: 3, quotaBanAfter: 2 });
    onTestFinished(() => app.close());
    const ip = '198.51.100.61';
    // Wrong keys until the client is banned (3 failures, then refusals that count toward the ban).
    let code = '';
    for (let i = 0; i < 100 && code !== 'HF_QUOTA_BANNED'; i++) {
      const r = await app.inject({
        url: '/v1/me',
        headers: { authorization: `Bearer hf_${randomBytes(32).toString('base64url')}` },
        remoteAddress: ip,
      });
      code = (r.json() as { code?: string }).code ?? '';
    }
    expect(code).toBe('HF_QUOTA_BANNED');
    const ids = new Set<string>();
    for (const url of ['/v1/ping', '/v1/me', '/nope']) {
      const r = await app.inject({ url, remoteAddress: ip });
      expect(r.statusCode, url).toBe(403);
      expect(r.json(), url).toMatchObject({ statusCode: 403, code: 'HF_QUOTA_BANNED' });
      expect(r.headers['x-request-id'], url).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
      ids.add(String(r.headers['x-request-id']));
      expect(r.headers, url).toMatchObject(API_HEADERS);
    }
    expect(ids.size).toBe(3);
    // Another client is served, with its own id.
    const served = await app.inject({ url: '/v1/ping', remoteAddress: '198.51.100.62' });
    expect(served.statusCode).toBe(200);
    expect(served.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(ids.has(String(served.headers['x-request-id']))).toBe(false);
  });
});

describe('the auth cache on the request path', () => {
  it('the admin key and a cached account key on one replica each keep their own principal', async () => {
    const { app } = await testApp(database, { authCacheMs: 60_000 });
    onTestFinished(() => app.close());
    const { account, apiKey } = await signup(app);
    const me = (key: string) => app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${key}` } });
    for (let i = 0; i < 3; i++) {
      const mine = await me(apiKey); // resolved once, then from the cache
      expect(mine.statusCode).toBe(200);
      expect(mine.json().account).toMatchObject({ id: account.id, email: account.email });
      // The admin principal is never an account, cached or not.
      const admin = await me(ADMIN_KEY);
      expect(admin.statusCode).toBe(403);
      expect(admin.json().code).toBe('HF_AUTH_FORBIDDEN');
      expect(
        (await app.inject({ url: '/v1/audit/events', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode,
      ).toBe(200);
      expect(
        (await app.inject({ url: '/v1/admin/privacy/requests', headers: { authorization: `Bearer ${apiKey}` } }))
          .statusCode,
      ).toBe(403);
      // The audit log answers the account its own trail only (issue 33 item 4), never the admin's view.
      const own = await app.inject({ url: '/v1/audit/events', headers: { authorization: `Bearer ${apiKey}` } });
      expect(own.statusCode).toBe(200);
      expect(
        (own.json() as { events: { subjectId: string | null }[] }).events.every((e) => e.subjectId === account.id),
      ).toBe(true);
    }
  });

  it('an admin action answered on this replica forgets every cached key (its outcome may touch any account)', async () => {
    const { app } = await testApp(database, { authCacheMs: 60_000 });
    onTestFinished(() => app.close());
    const { account, apiKey } = await signup(app);
    const me = () => app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } });
    expect((await me()).statusCode).toBe(200);
    // Revoked behind the app's back (as an operator would): the cache still answers.
    await database.db.execute(sql`update app.api_keys set revoked_at = now() where account_id = ${account.id}::uuid`);
    expect((await me()).statusCode).toBe(200);
    // An admin read changes nothing: the cache keeps answering.
    expect(
      (await app.inject({ url: '/v1/audit/events', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode,
    ).toBe(200);
    expect((await me()).statusCode).toBe(200);
    // Any state-changing admin request, even one that finds nothing, empties it once answered.
    const missing = await app.inject({
      method: 'POST',
      url: '/v1/admin/accounts/00000000-0000-4000-8000-000000000000/minor',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: {},
    });
    expect(missing.statusCode).toBe(404);
    expect((await me()).statusCode).toBe(401);
  });

  it('publicAccount: one frozen view per account row, a new row a new view', () => {
    const row = {
      id: '0190f0f0-0000-7000-8000-000000000001',
      name: 'Amina',
      email: 'a@example.com',
      businessName: null,
      createdAt: new Date('2026-01-02T03:04:05.006Z'),
    } as unknown as Account;
    const view = publicAccount(row);
    expect(view).toEqual({
      id: row.id,
      name: 'Amina',
      email: 'a@example.com',
      emailVerified: false,
      businessName: null,
      createdAt: '2026-01-02T03:04:05.006Z',
    });
    expect(Object.isFrozen(view)).toBe(true);
    expect(publicAccount(row)).toBe(view);
    const corrected = { ...row, name: 'Amina W.' } as Account;
    expect(publicAccount(corrected).name).toBe('Amina W.');
    expect(publicAccount(row).name).toBe('Amina');
  });
});

describe('bearerToken', () => {
  // What the header parser accepted before it stopped building a match array: the reference.
  const reference = (header: string) => /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header)?.[1] ?? null;

  it('takes the token after the scheme in any case, and nothing malformed', () => {
    const key = `hf_${'k'.repeat(43)}`;
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) expect(bearerToken(`${scheme} ${key}`)).toBe(key);
    for (const bad of [
      '',
      'Bearer',
      'Bearer ',
      `Bearer  ${key}`,
      `Bearer ${key} `,
      `Bearer ${key}\n`,
      `Basic ${key}`,
      `Bearer${key}`,
      `Bearer ${'x'.repeat(513)}`,
      `Bearer a b`,
      `Bearer é`,
    ]) {
      expect(bearerToken(bad), JSON.stringify(bad)).toBeNull();
    }
    expect(bearerToken(`Bearer ${'x'.repeat(512)}`)).toBe('x'.repeat(512));
  });

  it('agrees with the match-array parser on any header', () => {
    const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Basic ', 'Bearer', '');
    const token = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.stringMatching(/^[\x21-\x7e]{0,520}$/),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(scheme, token, (s, t) => bearerToken(s + t) === reference(s + t)),
      { numRuns: 2000 },
    );
  });
});
