// Issue 18 item 5: API key resolutions cached for AUTH_CACHE_MS. The replica that changes what a key
// may do stops honouring the old answer at once; another replica within its AUTH_CACHE_MS.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/index.js';
import { signup, testApp } from './helpers.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const me = (app: Awaited<ReturnType<typeof testApp>>['app'], apiKey: string) =>
  app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } });

describe('AUTH_CACHE_MS', () => {
  it('a deletion requested on one replica takes effect there at once, and on another within its cache time', async () => {
    const { app: a } = await testApp(database, { authCacheMs: 5000, dataRightsPurgeAfterDays: 7 });
    const { app: b } = await testApp(database, { authCacheMs: 5000, dataRightsPurgeAfterDays: 7 });
    onTestFinished(async () => {
      await a.close();
      await b.close();
    });
    const { apiKey } = await signup(a);
    expect((await me(a, apiKey)).statusCode).toBe(200);
    expect((await me(b, apiKey)).statusCode).toBe(200); // b has the key cached now
    const filed = await a.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { kind: 'deletion' },
    });
    expect(filed.statusCode).toBe(202);
    // The replica that changed it: at once.
    expect((await me(a, apiKey)).json().code).toBe('HF_DATA_RIGHTS_PENDING_DELETION');
    // The other: its cached answer until it expires (5 s here), then the new one.
    expect((await me(b, apiKey)).statusCode).toBe(200);
    let code = '';
    for (const started = Date.now(); code !== 'HF_DATA_RIGHTS_PENDING_DELETION' && Date.now() - started < 15_000;) {
      code = (await me(b, apiKey)).json().code ?? '';
      if (code !== 'HF_DATA_RIGHTS_PENDING_DELETION') await new Promise((r) => setTimeout(r, 200));
    }
    expect(code).toBe('HF_DATA_RIGHTS_PENDING_DELETION');
  });

  it('with 0, every request asks the database; unknown keys are never cached', async () => {
    const { app } = await testApp(database, { authCacheMs: 0 });
    onTestFinished(() => app.close());
    const { account, apiKey } = await signup(app);
    expect((await me(app, apiKey)).statusCode).toBe(200);
    // A key revoked in the database (as an operator would): refused by the next request.
    await database.db.execute(sql`update app.api_keys set revoked_at = now() where account_id = ${account.id}::uuid`);
    expect((await me(app, apiKey)).statusCode).toBe(401);

    const { app: cached } = await testApp(database, { authCacheMs: 60_000 });
    onTestFinished(() => cached.close());
    const second = await signup(cached);
    const wrong = `${second.apiKey.slice(0, -2)}xx`;
    expect((await me(cached, wrong)).statusCode).toBe(401);
    expect((await me(cached, second.apiKey)).statusCode).toBe(200);
    // A correction by the account itself is forgotten by its replica when answered.
    const patched = await cached.inject({
      method: 'PATCH',
      url: '/v1/privacy/profile',
      headers: { authorization: `Bearer ${second.apiKey}` },
      payload: { name: 'Amina W. Otieno' },
    });
    expect(patched.statusCode).toBe(200);
    expect((await me(cached, second.apiKey)).json().account.name).toBe('Amina W. Otieno');
  });

  it('refuses a bad AUTH_CACHE_MS, naming it', () => {
    for (const value of ['-1', 'soon', '60001']) {
      expect(
        () => loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-auth-cache-')), AUTH_CACHE_MS: value }),
        value,
      ).toThrow(expect.objectContaining({ problems: [expect.stringContaining('AUTH_CACHE_MS')] }));
    }
    expect(loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-auth-cache-')) }).authCacheMs).toBe(1000);
  });
});
