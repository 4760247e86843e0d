// Policy notices after their machinery became notify's announcements (issue 32 item 4; review
// finding 2): the keys already stored (`policy_notices.version`, the outbox's
// `policy.upcoming:<version>:<account>`) keep their meaning, so a run interrupted by the old
// version resumes under the new one without telling anyone twice.
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { TEST_OPTIONS } from './helpers.js';
import notify, { notifyMigrations, type Recipient } from '../src/index.js';
import * as notifySchema from '../src/schema.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
});
afterAll(() => database.close());

const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));

describe('policy notices resumed from what an earlier version stored', () => {
  it('queue only the accounts not yet told, under the same keys, and complete the run', async () => {
    await database.truncate('notify');
    const effectiveAt = new Date(Date.now() + 20 * 86_400_000);
    const version = `v-${randomUUID().slice(0, 8)}`;
    const people: ({ accountId: string } & Recipient)[] = ['a', 'b', 'c'].map((n) => ({
      accountId: `acct-${n}`,
      address: `${n}@example.com`,
      name: n,
      businessName: `${n} Ltd`,
    }));
    // The earlier version started the run and queued the first account's notice, then stopped.
    await database.db
      .insert(notifySchema.policyNotices)
      .values({ version, effectiveAt, startedAt: new Date(Date.now() - 60_000) });
    await database.db.insert(notifySchema.outbox).values({
      id: randomUUID(),
      kind: 'policy.upcoming',
      accountId: 'acct-a',
      address: 'a@example.com',
      data: {},
      dedupeKey: `policy.upcoming:${version}:acct-a`,
      nextAttemptAt: new Date(),
      createdAt: new Date(),
    });
    const app = Fastify();
    await app.register(notify, {
      db: database.db,
      ...TEST_OPTIONS,
      transport: {
        description: 'none',
        send: async () => ({ outcome: 'sent', smtpCode: 250, providerMessageId: null }),
        close: () => {},
      } as never,
      policies: {
        versions: [
          {
            version: 'baseline',
            publishedAt: '2025-01-01T00:00:00Z',
            effectiveAt: '2025-01-01T00:00:00Z',
            material: true,
          },
          {
            version,
            publishedAt: new Date(Date.now() - 3_600_000).toISOString(),
            effectiveAt: effectiveAt.toISOString(),
            material: true,
          },
        ],
        recipients: async (after) => people.filter((p) => after === null || p.accountId > after),
        policyUrl: 'https://api.harakaflow.test/privacy',
      },
    });
    await app.ready();
    onTestFinished(() => app.close());
    expect(await rows(sql`select dedupe_key from notify.outbox order by dedupe_key`)).toEqual(
      ['a', 'b', 'c'].map((n) => ({ dedupe_key: `policy.upcoming:${version}:acct-${n}` })),
    );
    const [state] = await rows(
      sql`select recipients, completed_at from notify.policy_notices where version = ${version}`,
    );
    expect(state).toMatchObject({ recipients: 2 });
    expect(state!.completed_at).not.toBeNull();
  });
});
