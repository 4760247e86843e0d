// Issue 30 item 12, the app's part:
// - /docs/json (every route, the admin ones included) was served in production: now only with
//   OPENAPI_PUBLIC=1 there;
// - the no-JavaScript consent form took a POST without Origin: now it needs this site's Origin or,
//   from a browser that sends none, Sec-Fetch-Site: same-origin;
// - the page said privacy@harakaflow.com where the policy (§6, §8, §12) says privacy@harakaflow.io:
//   now PRIVACY_CONTACT, defaulting to the policy's, on the page and in the OpenAPI document (the
//   messages: packages/notify/test/privacy-contact.test.ts).
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { parseConfig } from '../../src/index.js';
import { problemsOf, testApp } from '../helpers.js';

const ORIGIN = 'https://api.harakaflow.test'; // testConfig's PUBLIC_URL
let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

async function appWith(overrides: Parameters<typeof testApp>[1] = {}) {
  const { app } = await testApp(database, overrides);
  onTestFinished(() => app.close());
  return app;
}

describe('the OpenAPI document in production', () => {
  it('is not served with NODE_ENV=production, unless OPENAPI_PUBLIC=1', async () => {
    const production = await appWith({ env: 'production' });
    for (const url of ['/docs/json', '/docs', '/docs/']) {
      const res = await production.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe('HF_NOT_FOUND');
    }
    const open = await appWith({ env: 'production', openapiPublic: true });
    const doc = await open.inject('/docs/json');
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toBe('3.1.0');
    // Outside production it is always there.
    expect((await (await appWith()).inject('/docs/json')).statusCode).toBe(200);
  });

  it('OPENAPI_PUBLIC is a flag', () => {
    expect(parseConfig({}).openapiPublic).toBe(false);
    expect(parseConfig({ OPENAPI_PUBLIC: '1' }).openapiPublic).toBe(true);
    expect(problemsOf({ OPENAPI_PUBLIC: 'yes' })).toEqual([expect.stringContaining('OPENAPI_PUBLIC')]);
  });
});

describe('the no-JavaScript consent form', () => {
  it('needs this site’s Origin, or Sec-Fetch-Site: same-origin when the browser sends none', async () => {
    const app = await appWith();
    const count = async () =>
      Number(
        resultRows<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from consent.records`))[0]!.n,
      );
    const form = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/privacy/consent',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: 'analytics=granted',
      });
    const before = await count();
    const refused: Record<string, string>[] = [
      {},
      { origin: 'null' },
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'none' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
    ];
    for (const headers of refused) {
      const res = await form(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().code).toBe('HF_AUTH_CSRF');
    }
    expect(await count()).toBe(before); // nothing recorded
    const accepted: Record<string, string>[] = [{ origin: ORIGIN }, { 'sec-fetch-site': 'same-origin' }];
    for (const headers of accepted) {
      const res = await form(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(303);
    }
    expect(await count()).toBe(before + 2);
  });
});

describe('PRIVACY_CONTACT', () => {
  it('defaults to the policy’s address, shown on the page and in the OpenAPI document', async () => {
    expect(parseConfig({}).privacyContact).toBe('privacy@harakaflow.io');
    const app = await appWith();
    const page = await app.inject({ url: '/privacy', headers: { 'accept-encoding': 'identity' } });
    expect(page.body).toContain('<a href="mailto:privacy@harakaflow.io">privacy@harakaflow.io</a>');
    expect(page.body).not.toContain('harakaflow.com');
    expect((await app.inject('/docs/json')).json().info.contact).toEqual({
      name: 'HarakaFlow privacy team',
      email: 'privacy@harakaflow.io',
    });
  });

  it('is one setting: another address replaces it everywhere; a value that is not an address is refused', async () => {
    const app = await appWith({ privacyContact: 'dpo@example.test' });
    const page = await app.inject({ url: '/privacy', headers: { 'accept-encoding': 'identity' } });
    expect(page.body).toContain('mailto:dpo@example.test');
    expect(page.body).not.toContain('privacy@harakaflow');
    expect((await app.inject('/docs/json')).json().info.contact.email).toBe('dpo@example.test');
    expect(parseConfig({ PRIVACY_CONTACT: 'dpo@example.test' }).privacyContact).toBe('dpo@example.test');
    for (const bad of ['privacy', 'a@b', '<x@y.io>', 'x@y.io"><script>'])
      expect(problemsOf({ PRIVACY_CONTACT: bad }), bad).toEqual([expect.stringContaining('PRIVACY_CONTACT')]);
  });
});
