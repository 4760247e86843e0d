// Issue 18 item 6 (found by the soak): while Postgres restarted, the usage meter's timed flush
// rejected with nothing to catch it (`setTimeout(() => void this.flush())`): an unhandled
// rejection, and the reference app (close-with-grace) shut the replica down. The failed flush also
// left its promise chain rejected, so no later flush wrote anything again. Now a timed flush that
// fails is reported and retried after the interval, the counts are kept, and the next flush writes
// them. The outage is a TCP proxy of the test's own, cut.
import { createDatabase } from '@harakaflow/db';
import { postgresUrl, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaMigrations } from '../../src/index.js';
import { UsageMeter } from '../../src/usage.js';

describe.skipIf(!postgresUrl)('the usage meter when the server ends its connection', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase({ migrations: [quotaMigrations] });
  });
  afterAll(() => database.close());

  it('reports a failed timed flush instead of leaving it unhandled, keeps the counts, and writes them at the retry', async () => {
    // The meter's connection is terminated by the server mid-query, as a Postgres restart does.
    const name = `hf-usage-test-${process.pid}-${Date.now()}`;
    const handle = await createDatabase({ url: database.url!, max: 1, applicationName: name });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const errors: unknown[] = [];
    const meter = new UsageMeter(handle.db, 100, (error) => errors.push(error));
    const account = '00000000-0000-4000-8000-000000000001';
    try {
      expect(await handle.ping()).toBe(true);
      // A slow query holds the one connection; the timed flush's insert is pipelined behind it.
      const slow = handle.db.execute(sql`select pg_sleep(3)`).catch(() => 'cut');
      meter.add(account, 'requests', 3);
      await new Promise((r) => setTimeout(r, 300));
      await database.db.execute(
        sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${name}`,
      );
      expect(await slow).toBe('cut');
      await until(() => errors.length > 0);
      expect(errors.length).toBeGreaterThanOrEqual(1); // reported to the plugin's logger, not thrown into the void
      meter.add(account, 'requests', 2);
      let usage: Record<string, number> = {};
      await until(async () => {
        usage = await meter.usage(account, { from: '2000-01-01', to: '2999-12-31' }).catch(() => ({}));
        return usage.requests === 5;
      });
      expect(usage).toEqual({ requests: 5 });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await meter.close();
      await handle.close();
    }
  });
});
