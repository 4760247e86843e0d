// Issue 13 item 15: operators could not see an outage's effect on the audit log. /health answers
// { status, database, audit: { backlog, spilledBytes, dropped } }, /health/live is 200 while the
// process can serve, /health/ready is 503 while the database is unreachable. The outage is a TCP
// proxy of the test's own, cut (the machine's Postgres, which other files use, stays up).
import { postgresUrl, tcpProxy, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/index.js';
import { testConfig } from '../helpers.js';

describe.skipIf(!postgresUrl)('health while the database is cut', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase();
  });
  afterAll(() => database.close());

  it('ready and health say so, live stays 200; the audit backlog is shown; all of it comes back', async () => {
    const target = new URL(database.url!);
    const proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const app = await buildApp(testConfig({ databaseUrl: proxy.through(database.url!) }));
    try {
      await app.ready();
      expect((await app.inject('/health')).json()).toMatchObject({ status: 'ok', database: 'up' });
      proxy.cut();
      for (let i = 0; i < 20; i++) await app.inject('/v1/ping'); // access events that cannot be written
      const health = await app.inject('/health');
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({
        status: 'unavailable',
        database: 'down',
        audit: { backlog: expect.any(Number) },
      });
      expect(health.json().audit.backlog).toBeGreaterThan(0);
      expect((await app.inject('/health/ready')).statusCode).toBe(503);
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      await proxy.restore();
      // The first attempts after the outage may meet connections cut mid-query: retry until it holds.
      for (let attempt = 0; ; attempt++) {
        try {
          await app.audit.flush();
          break;
        } catch (error) {
          if (attempt > 40) throw error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      let back = await app.inject('/health/ready');
      for (let attempt = 0; back.statusCode !== 200 && attempt < 20; attempt++) {
        await new Promise((r) => setTimeout(r, 250));
        back = await app.inject('/health/ready');
      }
      expect(back.statusCode).toBe(200);
      expect((await app.inject('/health')).json()).toMatchObject({ status: 'ok', database: 'up' });
    } finally {
      await app.close();
      await proxy.close();
    }
  }, 600_000); // a hang guard, not a measurement
});
