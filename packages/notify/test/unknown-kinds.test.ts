// A rolling deploy that adds a kind (review of issue 32 item 4, finding 1): a newer replica queues
// `subprocessors.upcoming` while older ones still dispatch. An older version settled a row of a
// kind it did not know as `suppressed` ('unknown kind'), for good: a legal notice lost. Now a
// replica claims only the kinds it knows, and one that knows the kind sends what an older one
// settled that way.
import { resultRows } from '@harakaflow/db';
import { startSmtp, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { TEST_OPTIONS } from './helpers.js';
import notify, { notifyMigrations } from '../src/index.js';
import * as notifySchema from '../src/schema.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('notify'));

async function build() {
  const smtp = await startSmtp();
  onTestFinished(() => smtp.close());
  const app = Fastify();
  await app.register(notify, {
    db: database.db,
    ...TEST_OPTIONS,
    smtpUrl: smtp.url,
  });
  await app.ready();
  onTestFinished(() => app.close());
  return { app, smtp };
}

const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const data = {
  name: 'Amina',
  businessName: 'Otieno Logistics',
  change: 'From 2027-03-01, Example SMS Gateway Ltd will process phone number for us.',
  effectiveDate: '2027-03-01',
  noticeDays: '30',
  registerUrl: 'https://api.harakaflow.test/privacy/subprocessors',
  objectUrl: 'https://api.harakaflow.test/privacy/request?kind=objection',
};
const row = (kind: string, over: Partial<typeof notifySchema.outbox.$inferInsert> = {}) => ({
  id: randomUUID(),
  kind,
  accountId: 'acct-1',
  address: 'amina@example.com',
  data,
  dedupeKey: `${kind}:${randomUUID()}`,
  nextAttemptAt: new Date(Date.now() - 1000),
  createdAt: new Date(Date.now() - 60_000),
  ...over,
});

describe('kinds a replica does not know', () => {
  it('are left for a replica that knows them: not claimed, not settled', async () => {
    const { app, smtp } = await build();
    const future = row('a.kind.of.a.later.version');
    await database.db.insert(notifySchema.outbox).values(future);
    expect(await app.notify.dispatch()).toBe(0);
    expect(
      await rows(sql`select status, attempts, settled_at, last_error from notify.outbox where id = ${future.id}`),
    ).toEqual([{ status: 'pending', attempts: 0, settled_at: null, last_error: null }]);
    expect(smtp.received).toEqual([]);
  });

  it('what an older version settled as an unknown kind is sent once a replica knows the kind (at startup); unknown ones stay as they are', async () => {
    const settledAt = new Date(Date.now() - 30_000);
    const lost = row('subprocessors.upcoming', {
      status: 'suppressed',
      lastError: 'unknown kind',
      settledAt,
      attempts: 1,
    });
    const stillUnknown = row('a.kind.of.a.later.version', {
      status: 'suppressed',
      lastError: 'unknown kind',
      settledAt,
      attempts: 1,
    });
    const optedOut = row('quota.warning', {
      status: 'suppressed',
      lastError: 'the address complained',
      settledAt,
      attempts: 1,
    });
    await database.db.insert(notifySchema.outbox).values([lost, stillUnknown, optedOut]);
    const { app, smtp } = await build(); // its onReady revives
    while ((await app.notify.dispatch()) > 0);
    expect(smtp.received.map((m) => [m.to[0], m.headers['x-harakaflow-notification']])).toEqual([
      ['amina@example.com', 'subprocessors.upcoming'],
    ]);
    const after = await rows(sql`select id, status, last_error from notify.outbox order by id`);
    expect(after).toEqual(
      expect.arrayContaining([
        { id: lost.id, status: 'sent', last_error: null },
        { id: stillUnknown.id, status: 'suppressed', last_error: 'unknown kind' },
        { id: optedOut.id, status: 'suppressed', last_error: 'the address complained' },
      ]),
    );
    expect(await app.notify.reviveUnknownKinds()).toBe(0);
  });
});
