// Issue 34 item 3: endpoints that fail loudly, nothing dropped silently. Days of failures (or a 410)
// disable an endpoint once across replicas and hold its deliveries; enabling sends them; events
// for a disabled endpoint are held too, and the retention class removes held ones in time. On real
// Postgres: two replicas seeing the same 410, and a delivery queued while the endpoint is enabled.
import { createDatabase } from '@harakaflow/db';
import { captureLogs, postgresUrl, until } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import webhooks, { memorySecretStore, WebhookService, type DisabledEndpoint } from '../src/index.js';
import { deliveryFixture } from './fixture.js';

const fixture = deliveryFixture();
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const DAY = 86_400_000;
const local = { allowHttp: true, allowPrivate: true };
const service = (over: Partial<ConstructorParameters<typeof WebhookService>[0]> = {}) =>
  new WebhookService({
    db: fixture.db.db,
    secrets: memorySecretStore(),
    policy: local,
    eventTypes: ['message.accepted'],
    ...over,
  });
const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await fixture.db.db.execute(query)) as unknown as
    Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};
const statuses = async () =>
  (await rows(sql`select status, count(*)::int as n from webhooks.deliveries group by status order by status`)).map(
    (r) => `${String(r.status)}:${String(r.n)}`,
  );

describe('disabling', () => {
  it('disables an endpoint failing every attempt for disableAfterDays, once, holding its deliveries; a success resets the clock', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    vi.setSystemTime(t0);
    fixture.receiver.answer(503);
    const told: DisabledEndpoint[] = [];
    const s = service({ disableAfterDays: 5, onDisabled: (e) => void told.push(e) });
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', { n: 1 });
    await s.dispatch();
    expect((await s.list('acct-1'))[0]!.failingSince?.toISOString()).toBe(new Date(t0).toISOString());
    // Day 3: a success ends the run of failures (the first delivery's retry goes out with the second).
    vi.setSystemTime(t0 + 3 * DAY);
    fixture.receiver.answer(204);
    await s.emit('acct-1', 'message.accepted', { n: 2 });
    await s.dispatch();
    expect((await s.list('acct-1'))[0]!.failingSince).toBeNull();
    // Failing again from day 3; day 7 is 4 days of it: still active.
    fixture.receiver.answer(503);
    await s.emit('acct-1', 'message.accepted', { n: 3 });
    await s.dispatch();
    vi.setSystemTime(t0 + 7 * DAY);
    await s.emit('acct-1', 'message.accepted', { n: 4 });
    await s.dispatch();
    expect((await s.list('acct-1'))[0]!.status).toBe('active');
    expect(told).toEqual([]);
    // Day 8, 5 days after the failures began again: disabled, its pending deliveries held, told once.
    vi.setSystemTime(t0 + 8 * DAY);
    await s.emit('acct-1', 'message.accepted', { n: 5 });
    await s.dispatch();
    expect((await s.list('acct-1'))[0]).toMatchObject({
      status: 'disabled',
      disabledReason: 'every attempt failed for 5 days',
    });
    // Held: the three that were failing (3, 4 and 5); 1 and 2 went out on day 3.
    expect(told).toEqual([
      {
        id: endpoint.id,
        accountId: 'acct-1',
        url: fixture.receiver.url,
        reason: 'failing',
        disabledAt: new Date(t0 + 8 * DAY),
        failingSince: new Date(t0 + 3 * DAY),
        held: 3,
      },
    ]);
    expect(await statuses()).toEqual(['delivered:2', 'held:3']);
    // Nothing is sent while disabled, and new events wait with the rest.
    const sent = fixture.receiver.received.length;
    expect(await s.emit('acct-1', 'message.accepted', { n: 6 })).toBe(1);
    vi.setSystemTime(t0 + 9 * DAY);
    expect(await s.dispatch()).toBe(0);
    expect(fixture.receiver.received).toHaveLength(sent);
    expect(await statuses()).toEqual(['delivered:2', 'held:4']);

    // Enabled: the held deliveries go at once, with their ids; the endpoint is active and not failing.
    fixture.receiver.answer(204);
    expect(await s.enable('acct-2', endpoint.id)).toBeNull();
    const enabled = await s.enable('acct-1', endpoint.id);
    expect(enabled).toMatchObject({
      released: 4,
      endpoint: { status: 'active', disabledReason: null, failingSince: null },
    });
    while ((await s.dispatch()) > 0);
    expect(await statuses()).toEqual(['delivered:6']);
    expect(
      fixture.receiver.received
        .slice(sent)
        .map((r) => JSON.parse(r.body).data.n)
        .sort(),
    ).toEqual([3, 4, 5, 6]);
    expect(told).toHaveLength(1);
  });

  it('does not count attempts that failed on our side (the secret could not be read)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    vi.setSystemTime(t0);
    const secrets = memorySecretStore();
    const s = service({ secrets, disableAfterDays: 1 });
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await secrets.delete('acct-1', endpoint.id);
    for (let day = 0; day < 3; day++) {
      vi.setSystemTime(t0 + day * DAY);
      await s.emit('acct-1', 'message.accepted', { day });
      await s.dispatch();
    }
    expect(await rows(sql`select distinct error from webhooks.attempts`)).toEqual([{ error: 'HF_WEBHOOK_NO_SECRET' }]);
    expect((await s.list('acct-1'))[0]).toMatchObject({ status: 'active', failingSince: null });
  });

  it('holds a queued delivery whose endpoint another replica disabled, cancels one whose endpoint is gone, and spends no attempt', async () => {
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', { n: 1 });
    await fixture.db.db.execute(sql`update webhooks.endpoints set status = 'disabled'`);
    expect(await s.dispatch()).toBe(1);
    expect(await rows(sql`select status, attempts from webhooks.deliveries`)).toEqual([
      { status: 'held', attempts: 0 },
    ]);
    expect(fixture.receiver.received).toHaveLength(0);
    await s.remove('acct-1', endpoint.id);
    expect(await rows(sql`select status from webhooks.deliveries`)).toEqual([{ status: 'cancelled' }]);
  });

  it("keeps a paused account's deliveries waiting without spending their attempts", async () => {
    const s = service();
    await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', {});
    await s.pauseAccount('acct-1', true);
    for (let i = 0; i < 3; i++) {
      await s.dispatch();
      await fixture.db.db.execute(sql`update webhooks.deliveries set next_attempt_at = now()`);
    }
    expect(await rows(sql`select status, attempts from webhooks.deliveries`)).toEqual([
      { status: 'pending', attempts: 0 },
    ]);
    await s.pauseAccount('acct-1', false);
    await s.dispatch();
    expect(await statuses()).toEqual(['delivered:1']);
  });

  it('removes held deliveries with the retention class once old enough, and never pending ones', async () => {
    answer410();
    const s = service();
    await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', {});
    await s.emit('acct-1', 'message.accepted', {});
    await s.dispatch(1);
    expect(await statuses()).toEqual(['held:2']);
    await fixture.db.db.execute(sql`update webhooks.deliveries set created_at = now() - interval '31 days'`);
    await fixture.db.db
      .execute(sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, next_attempt_at, created_at)
      values (gen_random_uuid(), gen_random_uuid(), 'acct-1', 'message.accepted', '{}', 'pending', now(), now() - interval '31 days')`);
    const cutoff = new Date(Date.now() - 30 * DAY);
    expect(await s.purgeSettled(cutoff, 100, [], true)).toBe(2);
    expect(await s.purgeSettled(cutoff, 100, ['acct-1'])).toBe(0); // a legal hold on the account keeps them
    expect(await s.purgeSettled(cutoff, 100)).toBe(2);
    expect(await statuses()).toEqual(['pending:1']);
    expect(await rows(sql`select count(*)::int as n from webhooks.attempts`)).toEqual([{ n: 0 }]);
  });
});

function answer410() {
  fixture.receiver.answer(410);
}

describe('the plugin', () => {
  it('audits the disabling, then calls onEndpointDisabled; a failing hook is logged, not the delivery', async () => {
    answer410();
    const logs = captureLogs();
    const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
    onTestFinished(() => app.close());
    const told: string[] = [];
    await app.register(webhooks, {
      db: fixture.db.db,
      secrets: memorySecretStore(),
      eventTypes: ['message.accepted'],
      allowHttp: true,
      allowPrivateDestinations: true,
      dispatch: false,
      onEndpointDisabled: async (e) => {
        told.push(e.id);
        throw Object.assign(new Error('smtp down at smtp://user:pw@mail.example'), { code: 'ECONNREFUSED' });
      },
    });
    await app.ready();
    const { endpoint } = await app.webhooks.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await app.webhooks.emit('acct-1', 'message.accepted', {});
    expect(await app.webhooks.dispatch()).toBe(1);
    expect(told).toEqual([endpoint.id]);
    const event = (logs.lines() as { securityEvent?: { action: string } }[]).find(
      (l) => l.securityEvent?.action === 'webhook.endpoint.disabled',
    );
    expect(event?.securityEvent).toMatchObject({ subjectId: 'acct-1', details: { reason: '410 Gone', held: 1 } });
    expect(logs.text()).toContain('ECONNREFUSED');
    expect(logs.text()).not.toContain('user:pw');
    expect(await statuses()).toEqual(['held:1']);
  });

  it('still tells the account when the audit write fails (security review L3)', async () => {
    answer410();
    const logs = captureLogs();
    const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
    onTestFinished(() => app.close());
    // The audit recorder's interface (@harakaflow/core), as @harakaflow/audit decorates it, with its store unreachable.
    app.decorate('audit', {
      record: () =>
        Promise.reject(Object.assign(new Error('audit store down at postgres://u:pw@db'), { code: 'ECONNREFUSED' })),
    });
    const told: string[] = [];
    await app.register(webhooks, {
      db: fixture.db.db,
      secrets: memorySecretStore(),
      eventTypes: ['message.accepted'],
      allowHttp: true,
      allowPrivateDestinations: true,
      dispatch: false,
      onEndpointDisabled: (e) => void told.push(e.id),
    });
    await app.ready();
    const { endpoint } = await app.webhooks.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await app.webhooks.emit('acct-1', 'message.accepted', {});
    expect(await app.webhooks.dispatch()).toBe(1);
    expect(told).toEqual([endpoint.id]);
    expect(logs.text()).toContain('could not audit a disabled endpoint');
    expect(logs.text()).not.toContain('u:pw');
  });
});

describe.skipIf(!postgresUrl)('on real Postgres, across replicas', () => {
  it('two replicas that both see a 410 disable the endpoint once and tell the account once', async () => {
    answer410();
    const secrets = memorySecretStore();
    const one = await createDatabase({ url: fixture.db.url, max: 4 });
    const two = await createDatabase({ url: fixture.db.url, max: 4 });
    onTestFinished(() => Promise.all([one.close(), two.close()]).then(() => undefined));
    const told: string[] = [];
    const a = new WebhookService({
      db: one.db,
      secrets,
      policy: local,
      eventTypes: ['message.accepted'],
      onDisabled: (e) => void told.push(`a:${e.held}`),
    });
    const b = new WebhookService({
      db: two.db,
      secrets,
      policy: local,
      eventTypes: ['message.accepted'],
      onDisabled: (e) => void told.push(`b:${e.held}`),
    });
    await a.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    for (let i = 0; i < 40; i++) await a.emit('acct-1', 'message.accepted', { i });
    await Promise.all([a.dispatch(20), b.dispatch(20)]);
    expect(told).toHaveLength(1);
    expect(await statuses()).toEqual(['held:40']);
  });

  it('an event queued for a disabled endpoint while it is being enabled is released with the rest, never left held', async () => {
    const other = await createDatabase({ url: fixture.db.url, max: 2 });
    onTestFinished(() => other.close());
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await fixture.db.db.execute(sql`update webhooks.endpoints set status = 'disabled'`);
    const enabler = new WebhookService({
      db: other.db,
      secrets: memorySecretStore(),
      policy: local,
      eventTypes: ['message.accepted'],
    });
    let enabled: Promise<{ released: number } | null> | undefined;
    // The event is queued in a transaction of the caller's (as POST /v1/messages does), still open
    // when the endpoint is enabled on another connection: enabling must wait for it.
    await fixture.db.db.transaction(async (tx) => {
      expect(
        await s.emit('acct-1', 'message.accepted', { late: true }, { db: tx as unknown as typeof fixture.db.db }),
      ).toBe(1);
      enabled = enabler.enable('acct-1', endpoint.id);
      await until(
        async () =>
          (
            await rows(
              sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%webhooks%'`,
            )
          )[0]!.n === 1,
      );
    });
    expect(await enabled).toMatchObject({ released: 1 });
    expect(await statuses()).toEqual(['pending:1']);
    await s.dispatch();
    expect(await statuses()).toEqual(['delivered:1']);
  });
});
