import cookie from '@fastify/cookie';
import consent from '@harakaflow/consent';
import { encodeDecision } from '@harakaflow/consent/internals';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consentApp, consentCookieOf, consentMigrations, OLD_SECRET, SECRET, setCookieNames } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [consentMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('consent'));

async function decide(
  app: Awaited<ReturnType<typeof consentApp>>,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const response = await app.inject({ method: 'PUT', url: '/consent', payload: body as object, headers });
  expect(response.statusCode).toBe(200);
  return { response, cookie: consentCookieOf(response.headers)! };
}

describe('enforcement at the edge', () => {
  it('lets analytics cookies through by default (the policy’s opt-out model)', async () => {
    const app = await consentApp(database);
    const response = await app.inject('/page');
    expect(setCookieNames(response.headers).sort()).toEqual(['hf_aid', 'hf_session']);
    expect(response.json().consent).toMatchObject({
      categories: ['essential', 'analytics'],
      source: 'default',
      needsReacceptance: false,
    });
    await app.close();
  });

  it('removes analytics cookies under defaultAnalytics: denied, keeping essential ones', async () => {
    const app = await consentApp(database, { defaultAnalytics: 'denied' });
    const response = await app.inject('/page');
    expect(setCookieNames(response.headers)).toEqual(['hf_session']);
    expect(response.json().allowsAnalytics).toBe(false);
    await app.close();
  });

  it('removes a cookie set by another plugin’s hook, not only by handlers', async () => {
    const app = await consentApp(database, {}, async (instance) => {
      await instance.register(
        fp(async (other) => {
          other.addHook('onRequest', async (_request, reply) => {
            reply.setCookie('hf_aid', 'from-another-plugin');
          });
        }),
      );
    });
    const { cookie: refused } = await decide(app, { analytics: false });
    const response = await app.inject({ url: '/unknown', headers: { cookie: refused } });
    expect(setCookieNames(response.headers)).not.toContain('hf_aid');
    expect(setCookieNames(response.headers)).not.toContain('tracker');
    await app.close();
  });

  it.each([
    ['block', []],
    ['allow', ['tracker']],
    ['essential', ['tracker']],
  ] as const)('unknownCookies: %s', async (mode, expected) => {
    const app = await consentApp(database, { unknownCookies: mode });
    const response = await app.inject('/unknown');
    expect(setCookieNames(response.headers)).toEqual(expected);
    await app.close();
  });

  it('always lets a clearing Set-Cookie through', async () => {
    const app = await consentApp(database, { defaultAnalytics: 'denied' }, (instance) => {
      instance.get('/forget', async (_request, reply) => reply.clearCookie('hf_aid').send({}));
    });
    const response = await app.inject('/forget');
    expect([response.headers['set-cookie']].flat()).toEqual([
      expect.stringMatching(/^hf_aid=; Max-Age=0;.*Expires=Thu, 01 Jan 1970/),
    ]);
    await app.close();
  });
});

describe('decisions over HTTP', () => {
  it('records a refusal, sets the consent cookie, and honours it on later requests', async () => {
    const app = await consentApp(database);
    const { response, cookie: refused } = await decide(app, { analytics: false });
    expect(response.json()).toMatchObject({ categories: ['essential'], source: 'user', policyVersion: '2025-01-01' });
    expect([response.headers['set-cookie']].flat()).toEqual([
      expect.stringMatching(/^hf_consent=[^;]+; Max-Age=1572(4799|4800); Path=\/; HttpOnly; SameSite=Lax$/),
    ]); // 182 days, less a second when the clock ticks between the decision and its cookie
    const page = await app.inject({ url: '/page', headers: { cookie: refused } });
    expect(setCookieNames(page.headers)).toEqual(['hf_session']);
    const state = await app.inject({ url: '/consent', headers: { cookie: refused } });
    expect(state.json()).toMatchObject({
      categories: ['essential'],
      source: 'user',
      catalogue: {
        categories: ['essential', 'analytics'],
        cookies: { hf_aid: 'analytics', hf_session: 'essential', hf_consent: 'essential' },
      },
    });
    await app.close();
  });

  it('withdraws: every non-essential category off, catalogued non-essential cookies already set expired', async () => {
    const app = await consentApp(database);
    const { cookie: granted } = await decide(app, { analytics: true });
    const response = await app.inject({
      method: 'DELETE',
      url: '/consent',
      headers: { cookie: `${granted}; hf_aid=visitor-1; hf_session=s1` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ categories: ['essential'], source: 'user' });
    const headers = [response.headers['set-cookie']].flat() as string[];
    expect(headers.find((h) => h.startsWith('hf_aid='))).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expect(headers.some((h) => h.startsWith('hf_session='))).toBe(false);
    expect(headers.some((h) => h.startsWith('hf_consent='))).toBe(true);
    await app.close();
  });

  it('refusing with PUT expires the refused category’s cookies the browser holds; granting leaves them', async () => {
    const app = await consentApp(database);
    const { cookie: granted } = await decide(app, { analytics: true });
    const refuse = await app.inject({
      method: 'PUT',
      url: '/consent',
      headers: { cookie: `${granted}; hf_aid=visitor-1; hf_session=s1` },
      payload: { analytics: false },
    });
    expect(refuse.statusCode).toBe(200);
    const headers = [refuse.headers['set-cookie']].flat() as string[];
    expect(headers.find((h) => h.startsWith('hf_aid='))).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expect(headers.some((h) => h.startsWith('hf_session='))).toBe(false);
    const grant = await app.inject({
      method: 'PUT',
      url: '/consent',
      headers: { cookie: `${granted}; hf_aid=visitor-1` },
      payload: { analytics: true },
    });
    expect(([grant.headers['set-cookie']].flat() as string[]).some((h) => h.startsWith('hf_aid='))).toBe(false);
    await app.close();
  });

  it.each([
    ['a string', 'analytics', 'text/plain'],
    ['malformed JSON', '{"analytics": tru', 'application/json'],
    ['an array', '[true]', 'application/json'],
    ['an empty object', '{}', 'application/json'],
    ['a string for a boolean', '{"analytics": "yes"}', 'application/json'],
    ['a number for a boolean', '{"analytics": 1}', 'application/json'],
    ['an unknown category', '{"marketing": true}', 'application/json'],
    ['a __proto__ key', '{"__proto__": {"analytics": true}}', 'application/json'],
  ])('refuses %s with 400 HF_CONSENT_INVALID_BODY and records nothing', async (_name, payload, contentType) => {
    const app = await consentApp(database);
    const response = await app.inject({
      method: 'PUT',
      url: '/consent',
      payload,
      headers: { 'content-type': contentType },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, code: 'HF_CONSENT_INVALID_BODY' });
    expect(response.headers['set-cookie']).toBeUndefined();
    await app.close();
  });

  it('re-issues a cookie signed with an older secret, signed with the first', async () => {
    const old = await consentApp(database, { secrets: [OLD_SECRET] });
    const { cookie: oldCookie } = await decide(old, { analytics: false });
    await old.close();
    const app = await consentApp(database, { secrets: [SECRET, OLD_SECRET] });
    const response = await app.inject({ url: '/page', headers: { cookie: oldCookie } });
    expect(setCookieNames(response.headers)).toContain('hf_consent');
    expect(setCookieNames(response.headers)).not.toContain('hf_aid');
    const reissued = consentCookieOf(response.headers)!;
    expect(reissued).not.toBe(oldCookie);
    const rotated = await consentApp(database, { secrets: [SECRET] });
    expect((await rotated.inject({ url: '/consent', headers: { cookie: reissued } })).json().source).toBe('user');
    await Promise.all([app.close(), rotated.close()]);
  });
});

describe('hostile Cookie headers mean "no decision", never an error', () => {
  const forged = (decision: object) =>
    'hf_consent=' +
    encodeDecision(
      {
        id: 'BBBBBBBBBBBBBBBBBBBBBB',
        categories: [],
        version: '2025-01-01',
        decidedAt: 1,
        expiresAt: 4e9,
        source: 'user',
        gpc: false,
        ...decision,
      },
      'hf_consent',
      'not-the-secret-0123456789abcdef012345',
    );

  it.each([
    ['=__Host-x=evil'],
    ['hf_consent=garbage'],
    ['__proto__=1; constructor=2'],
    ['hf_consent=%E0%A4%A; x=%'],
    ['hf_consent=' + 'A'.repeat(5000)],
    ['x=' + 'y'.repeat(4100)],
    [''],
  ])('Cookie: %s', async (header) => {
    const app = await consentApp(database, { defaultAnalytics: 'denied' });
    const response = await app.inject({ url: '/page', headers: { cookie: header } });
    expect(response.statusCode).toBe(200);
    expect(response.json().consent).toMatchObject({ source: 'default', categories: ['essential'] });
    await app.close();
  });

  it('a forged grant is no grant', async () => {
    const app = await consentApp(database, { defaultAnalytics: 'denied' });
    const response = await app.inject({ url: '/page', headers: { cookie: forged({ categories: ['analytics'] }) } });
    expect(response.json().allowsAnalytics).toBe(false);
    await app.close();
  });

  it('with duplicate consent cookies, a forged one cannot displace a valid refusal', async () => {
    const app = await consentApp(database);
    const { cookie: refused } = await decide(app, { analytics: false });
    for (const header of [
      `${refused}; ${forged({ categories: ['analytics'] })}`,
      `${forged({ categories: ['analytics'] })}; ${refused}`,
    ]) {
      const response = await app.inject({ url: '/page', headers: { cookie: header } });
      expect(response.statusCode).toBe(200);
      expect(setCookieNames(response.headers)).not.toContain('hf_aid');
    }
    await app.close();
  });
});

describe('Global Privacy Control', () => {
  it('denies analytics under Sec-GPC: 1, records it once, and serves the well-known file', async () => {
    const app = await consentApp(database, { gpcWellKnown: { lastUpdate: '2026-04-20' } });
    const first = await app.inject({ url: '/page', headers: { 'sec-gpc': '1' } });
    expect(setCookieNames(first.headers).sort()).toEqual(['hf_consent', 'hf_session']);
    expect(first.json().consent).toMatchObject({ source: 'gpc', categories: ['essential'] });
    const gpcCookie = consentCookieOf(first.headers)!;
    const second = await app.inject({ url: '/page', headers: { 'sec-gpc': '1', cookie: gpcCookie } });
    expect(setCookieNames(second.headers)).toEqual(['hf_session']);
    expect((await app.inject('/.well-known/gpc.json')).json()).toEqual({ gpc: true, lastUpdate: '2026-04-20' });
    await app.close();
  });

  it.each([['0'], ['true'], ['1 '], ['yes']])('ignores Sec-GPC: %j (only exactly "1" counts)', async (value) => {
    const app = await consentApp(database);
    const response = await app.inject({ url: '/page', headers: { 'sec-gpc': value } });
    expect(setCookieNames(response.headers)).toContain('hf_aid');
    await app.close();
  });

  it('overrides a grant made before the signal was seen', async () => {
    const app = await consentApp(database);
    const { cookie: granted } = await decide(app, { analytics: true });
    const response = await app.inject({ url: '/page', headers: { 'sec-gpc': '1', cookie: granted } });
    expect(setCookieNames(response.headers)).not.toContain('hf_aid');
    expect(response.json().consent.source).toBe('gpc');
    await app.close();
  });

  it('honours an explicit grant made after the signal was seen', async () => {
    const app = await consentApp(database);
    const first = await app.inject({ url: '/page', headers: { 'sec-gpc': '1' } });
    const { cookie: granted } = await decide(
      app,
      { analytics: true },
      { 'sec-gpc': '1', cookie: consentCookieOf(first.headers)! },
    );
    const response = await app.inject({ url: '/page', headers: { 'sec-gpc': '1', cookie: granted } });
    expect(setCookieNames(response.headers)).toContain('hf_aid');
    expect(response.json().consent).toMatchObject({ source: 'user', categories: ['essential', 'analytics'] });
    await app.close();
  });

  it('can be turned off', async () => {
    const app = await consentApp(database, { gpc: false });
    const response = await app.inject({ url: '/page', headers: { 'sec-gpc': '1' } });
    expect(setCookieNames(response.headers)).toContain('hf_aid');
    await app.close();
  });
});

describe('registration', () => {
  it.each([
    [{ secrets: [] }, 'secrets'],
    [{ secrets: ['short'] }, 'secrets[0]'],
    [{ db: undefined }, 'db'],
    [{ defaultAnalytics: 'maybe' }, 'defaultAnalytics'],
    [{ unknownCookies: 'drop' }, 'unknownCookies'],
    [{ cookies: { hf_aid: 'marketing' } }, 'cookies.hf_aid'],
    [{ categories: ['essential'] }, 'categories'],
    [{ maxAgeDays: 500 }, 'maxAgeDays'],
    [{ routePrefix: 'consent' }, 'routePrefix'],
    [{ subject: 'account' }, 'subject'],
  ])('refuses %j naming the option', async (bad, option) => {
    const app = Fastify();
    await app.register(cookie);
    const base = {
      secrets: [SECRET],
      db: database.db,
      policies: [{ version: 'v1', publishedAt: '2025-01-01', effectiveAt: '2025-01-01', material: true }],
    };
    await expect(app.register(consent, { ...base, ...bad } as never).ready()).rejects.toMatchObject({
      code: 'HF_CONSENT_INVALID_OPTION',
      message: expect.stringContaining(`"${option}"`),
    });
    await app.close();
  });

  it('needs @fastify/cookie registered first', async () => {
    const app = Fastify();
    await expect(
      app
        .register(consent, {
          secrets: [SECRET],
          db: database.db,
          policies: [{ version: 'v1', publishedAt: '2025-01-01', effectiveAt: '2025-01-01', material: true }],
        })
        .ready(),
    ).rejects.toThrow(/@fastify\/cookie/);
  });
});
