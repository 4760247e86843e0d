// Issue 13 item 11, in the app: hitting the day's message quota banned the whole account.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

describe('the day message quota', () => {
  it('20 refused messages at the cap: /v1/me and /v1/usage still 200, usage and the limiter agree', async () => {
    const { app } = await testApp(database, { quotaFreeMessagesPerDay: 2, quotaBanAfter: 5 });
    try {
      const { apiKey } = await signup(app);
      const headers = { authorization: `Bearer ${apiKey}` };
      const send = () =>
        app.inject({
          method: 'POST',
          url: '/v1/messages',
          headers,
          payload: { sessionId: 's1', to: '+254700000002', text: 'hi' },
        });
      expect((await send()).statusCode).toBe(202);
      expect((await send()).statusCode).toBe(202);
      for (let i = 0; i < 20; i++) expect((await send()).statusCode).toBe(429);
      expect((await app.inject({ url: '/v1/me', headers })).statusCode).toBe(200);
      const usage = await app.inject({ url: '/v1/usage', headers });
      expect(usage.statusCode).toBe(200);
      const midnight = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`).getTime() + 86_400_000;
      expect(usage.json().messages.perDay).toMatchObject({
        limit: 2,
        used: 2,
        remaining: 0,
        resetAt: new Date(midnight).toISOString(),
      });
    } finally {
      await app.close();
    }
  });
});
