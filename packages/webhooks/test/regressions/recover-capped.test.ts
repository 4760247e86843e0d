// Security review M1: recover queued every failed delivery since `since` in one statement, all due
// now, and the dispatcher claims the oldest due first across accounts: 50,000 rows recovered by one
// account went ahead of every other account's events. Now a call queues the oldest 1,000 and says
// how many remain; past the first 20 they are due one every 100 ms, after what the account already
// has waiting, so another account's new event is claimed in the next batch.
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { memorySecretStore, WebhookService } from '../../src/index.js';
import { deliveryFixture } from '../fixture.js';

const fixture = deliveryFixture();

const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await fixture.db.db.execute(query)) as unknown as
    Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};
/** A time column as milliseconds since the epoch (the drivers hand timestamps back differently). */
const ms = (column: ReturnType<typeof sql>) => sql`round(extract(epoch from ${column}) * 1000)::float8`;

it('queues the oldest 1,000 a call, spread out after the first 20, and says how many remain; another account goes first', async () => {
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  let now = t0;
  const s = new WebhookService({
    db: fixture.db.db,
    secrets: memorySecretStore(),
    policy: { allowHttp: true, allowPrivate: true },
    eventTypes: ['message.accepted'],
    now: () => new Date(now),
  });
  const { endpoint } = await s.create('acct-big', { url: fixture.receiver.url, events: ['*'] });
  await s.create('acct-other', { url: fixture.receiver.url, events: ['*'] });
  // 2,500 deliveries that used their attempts, a second apart in creation.
  await fixture.db.db
    .execute(sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, attempts, next_attempt_at, created_at)
    select gen_random_uuid(), ${endpoint.id}, 'acct-big', 'message.accepted', '{"data":{"n":' || g || '}}', 'failed', 8, '2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z'::timestamptz + g * interval '1 second'
    from generate_series(1, 2500) g`);

  expect(await s.recover('acct-big', endpoint.id, '2026-09-01T00:00:00Z')).toEqual({
    queued: 1000,
    remaining: 1500,
    status: 'pending',
  });
  const first = await rows(
    sql`select (payload::jsonb -> 'data' ->> 'n')::int as n, ${ms(sql`next_attempt_at`)} as at from webhooks.deliveries where status = 'pending' order by next_attempt_at, created_at`,
  );
  // The oldest first: 1 to 1,000.
  expect(first.map((r) => r.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  // The first 20 due now, then one every 100 ms: the last 98 s later.
  expect(first.slice(0, 20).every((r) => r.at === t0)).toBe(true);
  expect(first[20]!.at).toBe(t0 + 100);
  expect(first[999]!.at).toBe(t0 + 98_000);

  // Another account's event a millisecond later is in the next batch of 21, not behind 1,000.
  now = t0 + 1;
  await s.emit('acct-other', 'message.accepted', { other: true });
  expect(await s.dispatch(21)).toBe(21);
  expect(await rows(sql`select status from webhooks.deliveries where account_id = 'acct-other'`)).toEqual([
    { status: 'delivered' },
  ]);
  expect(fixture.receiver.received.filter((r) => r.body.includes('"other":true'))).toHaveLength(1);

  // A second call at once queues the next 1,000 behind the first call's, not beside them.
  const second = await s.recover('acct-big', endpoint.id, '2026-09-01T00:00:00Z');
  expect(second).toEqual({ queued: 1000, remaining: 500, status: 'pending' });
  const [range] =
    await rows(sql`select ${ms(sql`min(next_attempt_at)`)} as first, ${ms(sql`max(next_attempt_at)`)} as last from webhooks.deliveries
    where account_id = 'acct-big' and (payload::jsonb -> 'data' ->> 'n')::int between 1001 and 2000`);
  expect(range).toEqual({ first: t0 + 98_100, last: t0 + 98_100 + 98_000 });
  expect(await s.recover('acct-big', endpoint.id, '2026-09-01T00:00:00Z')).toEqual({
    queued: 500,
    remaining: 0,
    status: 'pending',
  });
  expect(await s.recover('acct-big', endpoint.id, '2026-09-01T00:00:00Z')).toEqual({
    queued: 0,
    remaining: 0,
    status: 'pending',
  });
});

it('releases a large backlog of held deliveries the same way when the endpoint is enabled', async () => {
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  const s = new WebhookService({
    db: fixture.db.db,
    secrets: memorySecretStore(),
    policy: { allowHttp: true, allowPrivate: true },
    eventTypes: ['message.accepted'],
    now: () => new Date(t0),
  });
  const { endpoint } = await s.create('acct-big', { url: fixture.receiver.url, events: ['*'] });
  await fixture.db.db.execute(sql`update webhooks.endpoints set status = 'disabled'`);
  await fixture.db.db
    .execute(sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, next_attempt_at, created_at)
    select gen_random_uuid(), ${endpoint.id}, 'acct-big', 'message.accepted', '{}', 'held', '2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z'::timestamptz + g * interval '1 second'
    from generate_series(1, 120) g`);
  expect(await s.enable('acct-big', endpoint.id)).toMatchObject({ released: 120 });
  const [due] = await rows(
    sql`select count(*) filter (where next_attempt_at = ${new Date(t0).toISOString()}::timestamptz)::int as at_once, ${ms(sql`max(next_attempt_at)`)} as last from webhooks.deliveries where status = 'pending'`,
  );
  expect(due).toEqual({ at_once: 20, last: t0 + 100 * 100 });
});
