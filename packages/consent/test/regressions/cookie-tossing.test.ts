// Issue 12 item 4: with several valid consent cookies the newest won, so an attacker who tossed
// their own fresh, genuinely signed grant into a victim's browser from a sibling subdomain
// (Domain=.example.com) overrode the victim's refusal, and their GPC signal. Now the most
// restrictive decision wins, and in production the cookie is `__Host-hf_consent`, which a sibling
// subdomain cannot set; a legacy `hf_consent` is read as a refusal only.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consentApp, consentMigrations } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [consentMigrations] });
});
afterAll(() => database.close());

type App = Awaited<ReturnType<typeof consentApp>>;
const setCookies = (headers: Record<string, unknown>): string[] => [headers['set-cookie'] ?? []].flat().map(String);
const cookieOf = (headers: Record<string, unknown>, name: string) => {
  const found = setCookies(headers).find((h) => h.startsWith(`${name}=`));
  return found?.slice(0, found.indexOf(';'));
};
async function decide(app: App, analytics: boolean, name: string, headers: Record<string, string> = {}) {
  const response = await app.inject({ method: 'PUT', url: '/consent', payload: { analytics }, headers });
  expect(response.statusCode).toBe(200);
  return cookieOf(response.headers, name)!;
}

describe('cookie tossing', () => {
  it('a tossed fresh grant does not override a refusal, whichever comes first', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const app = await consentApp(database);
      const refusal = await decide(app, false, 'hf_consent');
      vi.setSystemTime(Date.now() + 60_000); // the attacker's grant is newer
      const grant = await decide(app, true, 'hf_consent');
      for (const header of [`${refusal}; ${grant}`, `${grant}; ${refusal}`]) {
        const response = await app.inject({ url: '/page', headers: { cookie: header } });
        expect(response.json().allowsAnalytics, header).toBe(false);
        expect(
          setCookies(response.headers).some((h) => h.startsWith('hf_aid=')),
          header,
        ).toBe(false);
      }
      await app.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("a tossed grant made under GPC does not beat the victim's GPC refusal", async () => {
    const app = await consentApp(database);
    const first = await app.inject({ url: '/page', headers: { 'sec-gpc': '1' } });
    const gpcRefusal = cookieOf(first.headers, 'hf_consent')!;
    const tossed = await decide(app, true, 'hf_consent', { 'sec-gpc': '1' }); // the attacker's own browser
    const response = await app.inject({
      url: '/page',
      headers: { 'sec-gpc': '1', cookie: `${tossed}; ${gpcRefusal}` },
    });
    expect(response.json().allowsAnalytics).toBe(false);
    await app.close();
  });

  it('in production the cookie is __Host-hf_consent: Secure, Path=/, no Domain', async () => {
    const app = await consentApp(database, { secure: true });
    const response = await app.inject({ method: 'PUT', url: '/consent', payload: { analytics: false } });
    const header = setCookies(response.headers).find((h) => h.startsWith('__Host-hf_consent='))!;
    expect(header).toMatch(/; Path=\/;/);
    expect(header).toMatch(/; Secure/);
    expect(header).not.toMatch(/Domain=/i);
    const state = await app.inject({ url: '/page', headers: { cookie: header.slice(0, header.indexOf(';')) } });
    expect(state.json().allowsAnalytics).toBe(false);
    await app.close();
  });

  it('in production a legacy hf_consent counts as a refusal only', async () => {
    const dev = await consentApp(database); // the same secrets, the old name
    const legacyRefusal = await decide(dev, false, 'hf_consent');
    const legacyGrant = await decide(dev, true, 'hf_consent');
    await dev.close();
    const app = await consentApp(database, { secure: true, defaultAnalytics: 'denied' });
    // Someone who refused before the rename stays refused (under the opt-out default too)...
    const optOut = await consentApp(database, { secure: true });
    const refused = await optOut.inject({ url: '/page', headers: { cookie: legacyRefusal } });
    expect(refused.json().allowsAnalytics).toBe(false);
    // ...and the decision moves to the new name, the host's legacy cookie cleared.
    expect(setCookies(refused.headers).some((h) => h.startsWith('__Host-hf_consent='))).toBe(true);
    expect(setCookies(refused.headers).some((h) => /^hf_consent=; Max-Age=0/.test(h))).toBe(true);
    // A legacy grant (tossable from a sibling subdomain) grants nothing: the default stands.
    const granted = await app.inject({ url: '/page', headers: { cookie: legacyGrant } });
    expect(granted.json().allowsAnalytics).toBe(false);
    // Nor does it lift a __Host- refusal.
    const hostRefusal = await decide(app, false, '__Host-hf_consent');
    const both = await optOut.inject({ url: '/page', headers: { cookie: `${legacyGrant}; ${hostRefusal}` } });
    expect(both.json().allowsAnalytics).toBe(false);
    await Promise.all([app.close(), optOut.close()]);
  });

  it('refuses a __Host- name without secure', async () => {
    await expect(consentApp(database, { secure: false, cookieName: '__Host-x' })).rejects.toMatchObject({
      code: 'HF_CONSENT_INVALID_OPTION',
    });
  });
});
