// Issue 29 item 4: a legacy `hf_consent` was searched for in the raw Cookie header after ";" or
// "; " only, so a refusal sent after ";  " (two spaces: a client that builds its own header) was
// not seen and a `__Host-hf_consent` grant beside it decided. The legacy names are now looked up
// in the cookies @fastify/cookie parsed, which trims names: the refusal counts.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentApp, consentMigrations } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [consentMigrations] });
});
afterAll(() => database.close());

type App = Awaited<ReturnType<typeof consentApp>>;
async function decide(app: App, analytics: boolean, name: string): Promise<string> {
  const response = await app.inject({ method: 'PUT', url: '/consent', payload: { analytics } });
  expect(response.statusCode).toBe(200);
  const found = [response.headers['set-cookie'] ?? []]
    .flat()
    .map(String)
    .find((h) => h.startsWith(`${name}=`))!;
  return found.slice(0, found.indexOf(';'));
}

describe('a legacy refusal, however the header is spaced', () => {
  it.each([';', '; ', ';  ', ';\t'])('counts after %j', async (separator) => {
    const dev = await consentApp(database); // the old name
    const legacyRefusal = await decide(dev, false, 'hf_consent');
    await dev.close();
    const app = await consentApp(database, { secure: true });
    const hostGrant = await decide(app, true, '__Host-hf_consent');
    for (const cookie of [
      `${hostGrant}${separator}${legacyRefusal}`,
      `theme=dark${separator}${legacyRefusal}${separator}${hostGrant}`,
    ]) {
      const response = await app.inject({ url: '/page', headers: { cookie } });
      expect(response.json().allowsAnalytics, cookie).toBe(false);
    }
    await app.close();
  });
});
