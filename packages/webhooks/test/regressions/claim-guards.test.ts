// Security review L1 and L2, on real Postgres with two connections, in the interleavings they named:
// - L1: an attempt's result marked its delivery failed (or rescheduled it) whatever had happened to
//   the row meanwhile: a final attempt still in flight when its endpoint was disabled and enabled
//   again turned the released, pending delivery into a failed one. Now the update is conditional on
//   the claim the attempt made (pending, with the attempt count it claimed).
// - L2: the retention purge read the ids of old settled deliveries, then deleted by id: a delivery
//   resent in between (pending again) was deleted. Now the delete checks the status again.
import { createDatabase } from '@harakaflow/db';
import { postgresUrl, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { memorySecretStore, WebhookService, webhooksMigrations } from '../../src/index.js';
import { disableEndpoint, resendDelivery } from '../../src/internals.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [webhooksMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('webhooks'));

const local = { allowHttp: true, allowPrivate: true };
const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await db.db.execute(query)) as unknown as Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};
/** A second replica: its own pool on the same database. */
async function replica() {
  const other = await createDatabase({ url: db.url, max: 2 });
  onTestFinished(() => other.close());
  return {
    db: other.db,
    service: new WebhookService({
      db: other.db,
      secrets: memorySecretStore(),
      policy: local,
      eventTypes: ['message.accepted'],
    }),
  };
}

describe.skipIf(!postgresUrl)('on real Postgres', () => {
  it('a late final attempt does not mark failed a delivery released meanwhile (L1)', async () => {
    // A receiver of this test's own that answers when the test says.
    const waiting: ServerResponse[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => waiting.push(res));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => {
      server.closeAllConnections();
      server.close();
    });
    const s = new WebhookService({
      db: db.db,
      secrets: memorySecretStore(),
      policy: local,
      eventTypes: ['message.accepted'],
    });
    const { endpoint } = await s.create('acct-1', {
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
      events: ['*'],
    });
    await s.emit('acct-1', 'message.accepted', {});
    // Its seventh retry used: the attempt about to be made is its last.
    await db.db.execute(sql`update webhooks.deliveries set attempts = 7`);
    const batch = s.dispatch();
    await until(() => waiting.length === 1);
    expect(await rows(sql`select status, attempts from webhooks.deliveries`)).toEqual([
      { status: 'pending', attempts: 8 },
    ]);

    // Meanwhile, on another replica: the endpoint disabled (another delivery's 410), then enabled by
    // its account: the delivery is released, pending from the start of the schedule, due now.
    const other = await replica();
    expect(await disableEndpoint(other.db, endpoint.id, 'the endpoint answered 410 Gone', new Date())).toMatchObject({
      held: 1,
    });
    expect(await other.service.enable('acct-1', endpoint.id)).toMatchObject({ released: 1 });

    // The late attempt fails: recorded as an attempt, but the released delivery is not its to settle.
    waiting[0]!.writeHead(500).end();
    expect(await batch).toBe(1);
    expect(await rows(sql`select status, attempts, last_status_code from webhooks.deliveries`)).toEqual([
      { status: 'pending', attempts: 0, last_status_code: null },
    ]);
    expect(await rows(sql`select status_code from webhooks.attempts`)).toEqual([{ status_code: 500 }]);
  });

  it('the retention purge keeps a delivery resent between its read and its delete (L2)', async () => {
    const s = new WebhookService({
      db: db.db,
      secrets: memorySecretStore(),
      policy: local,
      eventTypes: ['message.accepted'],
    });
    const { endpoint } = await s.create('acct-1', { url: 'http://127.0.0.1:9/hook', events: ['*'] });
    const [{ id } = { id: '' }] =
      (await rows(sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, attempts, next_attempt_at, created_at)
      values (gen_random_uuid(), ${endpoint.id}, 'acct-1', 'message.accepted', '{}', 'failed', 8, now(), now() - interval '31 days') returning id`)) as {
        id: string;
      }[];
    await db.db.execute(
      sql`insert into webhooks.attempts (id, delivery_id, attempted_at, status_code, duration_ms) values (gen_random_uuid(), ${id}, now(), 500, 3)`,
    );
    const other = await replica();
    const cutoff = new Date(Date.now() - 30 * 86_400_000);
    let purged: Promise<number> | undefined;
    // The account resends it; before that commits, the purge (another replica) has read its id and
    // waits on the row to delete it.
    await db.db.transaction(async (tx) => {
      expect(await resendDelivery(tx as unknown as typeof db.db, 'acct-1', id, new Date())).toBe('pending');
      purged = other.service.purgeSettled(cutoff, 100);
      await until(
        async () =>
          (
            await rows(
              sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%delete%deliveries%'`,
            )
          )[0]!.n === 1,
      );
    });
    expect(await purged).toBe(0);
    expect(await rows(sql`select status, attempts from webhooks.deliveries`)).toEqual([
      { status: 'pending', attempts: 0 },
    ]);
    expect(await rows(sql`select status_code from webhooks.attempts`)).toEqual([{ status_code: 500 }]);
  });
});
