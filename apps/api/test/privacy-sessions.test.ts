// Issue 17 item 4, without a browser: the privacy centre's session cookie reaches the page's routes
// only, every state-changing request with it needs its CSRF token and the site's Origin, sign-in
// counts failures like a Bearer key, sign-out and a deletion request revoke it; and the
// no-JavaScript consent form. (The same flows in Chromium: privacy-centre.browser.test.ts.)
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { signup, testApp } from './helpers.js';

const ORIGIN = 'https://api.harakaflow.test'; // testConfig's PUBLIC_URL
let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const setCookies = (headers: Record<string, unknown>) => {
  const h = headers['set-cookie'];
  return (Array.isArray(h) ? h : h === undefined ? [] : [h]).map(String);
};

async function signIn(apiKey: string, on: FastifyInstance = app) {
  const res = await on.inject({
    method: 'POST',
    url: '/v1/privacy/session',
    headers: { origin: ORIGIN },
    payload: { apiKey },
  });
  expect(res.statusCode).toBe(201);
  const cookie = setCookies(res.headers).find((c) => c.startsWith('hf_session='))!;
  return { cookie: cookie.split(';')[0]!, setCookie: cookie, csrf: res.json().csrfToken as string, body: res.json() };
}

describe('privacy centre sessions', () => {
  it('exchange a key for an HttpOnly, SameSite=Strict cookie that reaches only the page’s routes', async () => {
    const { account, apiKey } = await signup(app);
    const s = await signIn(apiKey);
    expect(s.setCookie).toMatch(/HttpOnly/);
    expect(s.setCookie).toMatch(/SameSite=Strict/);
    expect(s.setCookie).toMatch(/Path=\//);
    expect(s.body).toMatchObject({
      account: { id: account.id },
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      deletionPending: false,
    });
    // Only a digest of the token is stored.
    const token = s.cookie.split('=')[1]!;
    const stored = resultRows<{ token_hash: string }>(
      await database.db.execute(sql`select token_hash from app.sessions where account_id = ${account.id}::uuid`),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.token_hash).not.toContain(token);

    const headers = { cookie: s.cookie };
    expect((await app.inject({ url: '/v1/me', headers })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/privacy/requests', headers })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/privacy/session', headers })).json()).toMatchObject({
      account: { id: account.id },
      csrfToken: s.csrf,
    });
    // Not a substitute for the Bearer key anywhere else.
    for (const url of ['/v1/usage', '/v1/webhooks/endpoints'])
      expect((await app.inject({ url, headers })).statusCode, url).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: { ...headers, 'x-csrf-token': s.csrf, origin: ORIGIN },
          payload: { sessionId: 'wa-1', to: '+254711000001', text: 'hi' },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('refuse a state-changing request without the session’s CSRF token or from another origin (HF_AUTH_CSRF)', async () => {
    const { apiKey } = await signup(app);
    const s = await signIn(apiKey);
    const other = await signIn((await signup(app)).apiKey);
    const file = (headers: Record<string, string | undefined>) =>
      app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: { cookie: s.cookie, ...(headers as Record<string, string>) },
        payload: { kind: 'restriction' },
      });
    for (const headers of [
      {},
      { origin: ORIGIN },
      { 'x-csrf-token': s.csrf },
      { 'x-csrf-token': s.csrf, origin: 'https://evil.example' },
      { 'x-csrf-token': other.csrf, origin: ORIGIN },
      { 'x-csrf-token': 'x'.repeat(43), origin: ORIGIN },
    ]) {
      const res = await file(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().code).toBe('HF_AUTH_CSRF');
    }
    expect((await file({ 'x-csrf-token': s.csrf, origin: ORIGIN })).statusCode).toBe(202);
  });

  it('refuse a sign-in from another origin, and count wrong keys as failed authentications', async () => {
    const cross = await app.inject({
      method: 'POST',
      url: '/v1/privacy/session',
      headers: { origin: 'https://evil.example' },
      payload: { apiKey: 'hf_whatever' },
    });
    expect(cross.statusCode).toBe(403);
    const { app: strict } = await testApp(database, { quotaAuthFailuresPerMinute: 5 });
    onTestFinished(() => strict.close());
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await strict.inject({
        method: 'POST',
        url: '/v1/privacy/session',
        headers: { origin: ORIGIN },
        payload: { apiKey: `hf_wrong_${i}` },
        remoteAddress: '198.51.100.77',
      });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
    // Past the failed-authentication limit the client is refused before any key is looked up.
    expect(codes).toContain(429);
    for (const payload of [{}, { apiKey: '' }, { apiKey: 'x'.repeat(600) }, { apiKey: 'k', extra: true }]) {
      expect(
        (await app.inject({ method: 'POST', url: '/v1/privacy/session', headers: { origin: ORIGIN }, payload }))
          .statusCode,
      ).toBe(400);
    }
  });

  it('end at sign-out, at expiry and when deletion is requested; any cookie value is harmless', async () => {
    const first = await signup(app);
    const a = await signIn(first.apiKey);
    const out = await app.inject({
      method: 'DELETE',
      url: '/v1/privacy/session',
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, origin: ORIGIN },
    });
    expect(out.statusCode).toBe(204);
    expect(setCookies(out.headers).join()).toMatch(/hf_session=;/);
    expect((await app.inject({ url: '/v1/privacy/session', headers: { cookie: a.cookie } })).statusCode).toBe(401);

    const b = await signIn(first.apiKey);
    await database.db.execute(
      sql`update app.sessions set expires_at = now() - interval '1 second' where revoked_at is null and account_id = ${first.account.id}::uuid`,
    );
    expect((await app.inject({ url: '/v1/me', headers: { cookie: b.cookie } })).statusCode).toBe(401);

    // A grace period before the purge (the tests' default purges at once), so the key can sign in again.
    const { app: graceful } = await testApp(database, { dataRightsPurgeAfterDays: 7 });
    onTestFinished(() => graceful.close());
    const c = await signIn(first.apiKey, graceful);
    const d = await signIn(first.apiKey, graceful);
    const deletion = await graceful.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: { cookie: c.cookie, 'x-csrf-token': c.csrf, origin: ORIGIN },
      payload: { kind: 'deletion' },
    });
    expect(deletion.statusCode).toBe(202);
    expect(setCookies(deletion.headers).join()).toMatch(/hf_session=;/);
    // Every session of the account, not only the one that asked.
    for (const s of [c, d])
      expect((await graceful.inject({ url: '/v1/privacy/session', headers: { cookie: s.cookie } })).statusCode).toBe(
        401,
      );
    // The key can still sign in to see and cancel the deletion.
    expect((await signIn(first.apiKey, graceful)).body.deletionPending).toBe(true);

    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), async (value) => {
        const res = await app.inject({ url: '/v1/me', headers: { cookie: `hf_session=${encodeURIComponent(value)}` } });
        expect(res.statusCode).toBe(401);
      }),
      { numRuns: 40 },
    );
  });
});

describe('the no-JavaScript consent form', () => {
  it('records the choice in the ledger and answers 303 to the page; refuses another site and bad values', async () => {
    const form = (body: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/privacy/consent',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: body,
      });
    const before = Number(
      resultRows<{ n: string }>(await database.db.execute(sql`select count(*)::text as n from consent.records`))[0]!.n,
    );
    const ok = await form('analytics=denied', { origin: ORIGIN, cookie: 'hf_aid=visitor-1' });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/privacy');
    const cookies = setCookies(ok.headers);
    expect(cookies.some((c) => c.startsWith('hf_consent='))).toBe(true);
    // Refusing expires the analytics cookie the browser holds.
    expect(cookies.some((c) => /^hf_aid=;/.test(c))).toBe(true);
    const after = Number(
      resultRows<{ n: string }>(await database.db.execute(sql`select count(*)::text as n from consent.records`))[0]!.n,
    );
    expect(after).toBe(before + 1);

    const cross = await form('analytics=granted', { origin: 'https://evil.example' });
    expect(cross.statusCode).toBe(403);
    expect(cross.json().code).toBe('HF_AUTH_CSRF');
    for (const body of ['analytics=maybe', '', 'other=1', 'analytics=granted&analytics=denied'.repeat(100)]) {
      const res = await form(body, { origin: ORIGIN });
      expect([400, 413]).toContain(res.statusCode);
      expect(res.json().code).toMatch(/^HF_/);
    }
    const page = await app.inject({
      url: '/privacy',
      headers: {
        cookie: setCookies(ok.headers)
          .find((c) => c.startsWith('hf_consent='))!
          .split(';')[0]!,
      },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('data-decided="true"');
    expect((await app.inject({ url: '/' })).headers.location).toBe('/privacy');
  });
});
