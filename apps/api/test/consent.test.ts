// Policy §7 in the reference app: the analytics visitor cookie hf_aid leaves the server only with consent.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const cookieNames = (headers: Record<string, unknown>) =>
  [headers['set-cookie'] ?? []].flat().map((h) => String(h).slice(0, String(h).indexOf('=')));
const consentCookie = (headers: Record<string, unknown>) => {
  const found = [headers['set-cookie'] ?? []]
    .flat()
    .map(String)
    .find((h) => h.startsWith('hf_consent='));
  return found?.slice(0, found.indexOf(';'));
};

describe('consent in the reference app', () => {
  it('sets hf_aid on /v1/ping and /v1/me by default (opt-out), once per visitor', async () => {
    const { app } = await testApp(database);
    const { apiKey } = await signup(app);
    expect(cookieNames((await app.inject('/v1/ping')).headers)).toEqual(['hf_aid']);
    expect(
      cookieNames((await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } })).headers),
    ).toEqual(['hf_aid']);
    expect(cookieNames((await app.inject({ url: '/v1/ping', headers: { cookie: 'hf_aid=known' } })).headers)).toEqual(
      [],
    );
    await app.close();
  });

  it('never sends hf_aid when analytics is refused: by the default, by GPC, or by the person', async () => {
    const denied = await testApp(database, { consentDefaultAnalytics: 'denied' });
    expect(cookieNames((await denied.app.inject('/v1/ping')).headers)).not.toContain('hf_aid');
    await denied.app.close();

    const { app } = await testApp(database);
    expect(cookieNames((await app.inject({ url: '/v1/ping', headers: { 'sec-gpc': '1' } })).headers)).not.toContain(
      'hf_aid',
    );

    const put = await app.inject({ method: 'PUT', url: '/v1/consent', payload: { analytics: false } });
    expect(put.statusCode).toBe(200);
    const refused = consentCookie(put.headers)!;
    for (const url of ['/v1/ping', '/v1/consent']) {
      expect(cookieNames((await app.inject({ url, headers: { cookie: refused } })).headers)).not.toContain('hf_aid');
    }
    await app.close();
  });

  it('serves the consent API anonymously, its errors in the API shape, and the GPC statement', async () => {
    const { app } = await testApp(database);
    const state = await app.inject('/v1/consent');
    expect(state.statusCode).toBe(200);
    expect(state.json()).toMatchObject({
      categories: ['essential', 'analytics'],
      source: 'default',
      policyVersion: '2026-04-20',
    });
    const bad = await app.inject({ method: 'PUT', url: '/v1/consent', payload: { analytics: 'yes' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      statusCode: 400,
      code: 'HF_CONSENT_INVALID_BODY',
      error: 'Bad Request',
      message: expect.any(String),
    });
    const malformed = await app.inject({
      method: 'PUT',
      url: '/v1/consent',
      payload: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.json().code).toBe('HF_CONSENT_INVALID_BODY');
    expect((await app.inject('/.well-known/gpc.json')).json()).toEqual({ gpc: true, lastUpdate: '2026-04-20' });
    await app.close();
  });
});
