// Issue 29 item 3: the plan's messages per day are exact under concurrency. Before, 10 concurrent
// POST /v1/messages of one account with its quotas in Postgres got 503 HF_QUOTA_UNAVAILABLE: the
// Drizzle store of rate-limiter-flexible serialized every consume of one account on its row, past the
// store's timeout. Now each consume is one atomic statement (Postgres) or script (Redis): 50
// concurrent sends are each answered 202 or 429, and exactly the day's limit is accepted.
import { redisUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { AppConfig } from '@harakaflow/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApp } from '../helpers.js';

const DAY_LIMIT = 20;
const SENDS = 50;

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

async function concurrentSends(overrides: Partial<AppConfig>) {
  const { app } = await testApp(database, { quotaFreeMessagesPerDay: DAY_LIMIT, ...overrides });
  try {
    const { apiKey } = await signup(app);
    const headers = { authorization: `Bearer ${apiKey}` };
    const codes = await Promise.all(
      Array.from({ length: SENDS }, (_, i) =>
        app
          .inject({
            method: 'POST',
            url: '/v1/messages',
            headers,
            payload: { sessionId: 's1', to: '+254700000002', text: `hi ${i}` },
          })
          .then((r) => r.statusCode),
      ),
    );
    const counts: Record<number, number> = {};
    for (const code of codes) counts[code] = (counts[code] ?? 0) + 1;
    expect(counts).toEqual({ 202: DAY_LIMIT, 429: SENDS - DAY_LIMIT });
    const usage = await app.inject({ url: '/v1/usage', headers });
    expect(usage.json()).toMatchObject({ messages: { perDay: { limit: DAY_LIMIT, used: DAY_LIMIT, remaining: 0 } } });
  } finally {
    await app.close();
  }
}

describe('50 concurrent sends of one account', () => {
  it('quotas in Postgres: each answered 202 or 429, exactly the day limit accepted', async (context) => {
    if (!database.url) return context.skip(); // PGlite: one connection, nothing runs concurrently
    await concurrentSends({ databaseUrl: database.url }); // the app keeps its quotas in Postgres when DATABASE_URL is set
  });

  it.skipIf(!redisUrl)('quotas in Redis: the same', async () => {
    await concurrentSends({ redisUrl });
  });
});
