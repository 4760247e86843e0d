// Issue 34 items 1 and 2: the delivery log (every attempt, at most 1 KiB of the answer and never a
// signature or secret; keyset pages; strict filters) and resend / recover (the same webhook-id,
// a fresh timestamp and signature), on the core alone: no Fastify.
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memorySecretStore, verifyWebhook, WebhookService } from '../src/index.js';
import { RESPONSE_EXCERPT_BYTES, responseExcerpt } from '../src/internals.js';
import { deliveryFixture } from './fixture.js';

const fixture = deliveryFixture();
afterEach(() => {
  vi.useRealTimers();
});

const service = (over: Partial<ConstructorParameters<typeof WebhookService>[0]> = {}) =>
  new WebhookService({
    db: fixture.db.db,
    secrets: memorySecretStore(),
    policy: { allowHttp: true, allowPrivate: true },
    eventTypes: ['message.accepted', 'quota.warning'],
    ...over,
  });
const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await fixture.db.db.execute(query)) as unknown as
    Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};
async function drain(s: WebhookService) {
  while ((await s.dispatch()) > 0);
}

describe('the delivery log', () => {
  it('records each attempt with its status, duration and at most 1 KiB of the answer, never a signature or a secret', async () => {
    const s = service();
    const { endpoint, secret } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    // A fixture.receiver that echoes the request (headers first), prints the secret, and pads past 1 KiB.
    fixture.receiver.answer((r) => ({
      status: 500,
      body: `${JSON.stringify(r.headers)} ${secret} ${secret.slice(6).replaceAll('/', '\\/')} ${'é'.repeat(3000)}`,
    }));
    await s.emit('acct-1', 'message.accepted', { n: 1 });
    await s.dispatch();
    const signature = String(fixture.receiver.received[0]!.headers['webhook-signature']);
    const mac = signature.slice(3);
    const [attempt] = await rows(sql`select status_code, error, duration_ms, response_excerpt from webhooks.attempts`);
    expect(attempt).toMatchObject({ status_code: 500, error: null });
    expect(Number(attempt!.duration_ms)).toBeGreaterThanOrEqual(0);
    const excerpt = String(attempt!.response_excerpt);
    expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(RESPONSE_EXCERPT_BYTES);
    expect(Buffer.byteLength(excerpt)).toBeGreaterThan(RESPONSE_EXCERPT_BYTES - 4); // cut on a character, not short
    expect(excerpt).toContain('"webhook-id"');
    expect(excerpt).toContain('[redacted]');
    // Nowhere in the package's tables: not the signature, its MAC, the secret or its base64 part.
    const everything = JSON.stringify([
      await rows(sql`select * from webhooks.attempts`),
      await rows(sql`select * from webhooks.deliveries`),
      await rows(sql`select * from webhooks.endpoints`),
    ]);
    for (const value of [signature, mac, secret, secret.slice(6), secret.slice(6).replaceAll('/', '\\/')])
      expect(everything).not.toContain(value);

    const log = await s.listDeliveries('acct-1', endpoint.id);
    expect(log!.deliveries).toHaveLength(1);
    expect(log!.deliveries[0]).toMatchObject({
      event: 'message.accepted',
      status: 'pending',
      webhookId: fixture.receiver.received[0]!.headers['webhook-id'],
      attemptCount: 1,
      attempts: [{ statusCode: 500, error: null, response: excerpt }],
    });
    expect(Date.parse(log!.deliveries[0]!.nextAttemptAt!)).toBeGreaterThan(Date.now());
  });

  it('keeps an excerpt of any bytes within 1 KiB of UTF-8, without NUL, and never throws (property)', () => {
    // Secrets and MACs are base64 (the one such string in "[redacted]" left out).
    const secret = fc.stringMatching(/^[A-Za-z0-9+/]{8,44}$/).filter((s) => s !== 'redacted');
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(secret, { maxLength: 3 }),
        fc.uint8Array({ maxLength: 3000 }),
        (before, secrets, after) => {
          // Any bytes around the secrets, which an echo would put anywhere.
          const body = Buffer.concat([before, Buffer.from(secrets.join(' ')), after]);
          const excerpt = responseExcerpt(body, secrets);
          if (!body.length) return excerpt === null;
          const text = excerpt!;
          return (
            Buffer.byteLength(text) <= RESPONSE_EXCERPT_BYTES &&
            !text.includes('\u0000') &&
            secrets.every((s) => !text.includes(s))
          );
        },
      ),
    );
  });

  it('pages an endpoint newest first with an opaque cursor, exactly once each, to the microsecond', async () => {
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    for (let i = 0; i < 7; i++) await s.emit('acct-1', i % 2 ? 'quota.warning' : 'message.accepted', { i });
    // Creation times one microsecond apart, and two equal: a millisecond cursor would skip or repeat.
    await fixture.db.db
      .execute(sql`update webhooks.deliveries d set created_at = '2026-06-01T00:00:00Z'::timestamptz + make_interval(secs => least(x.n, 5) / 1000000.0)
      from (select id, (row_number() over (order by created_at))::int as n from webhooks.deliveries) x where x.id = d.id`);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.listDeliveries('acct-1', endpoint.id, { limit: 2, cursor });
      seen.push(...page!.deliveries.map((d) => d.id));
      cursor = page!.nextCursor ?? undefined;
      if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(7);
    const order = (await rows(sql`select id from webhooks.deliveries order by created_at desc, id desc`)).map(
      (r) => r.id,
    );
    expect(seen).toEqual(order);
  });

  it('filters by status, event and creation time; another account sees nothing', async () => {
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    fixture.receiver.answer((r) => ({ status: r.body.includes('"ok":true') ? 204 : 500 }));
    await s.emit('acct-1', 'message.accepted', { ok: true });
    await s.emit('acct-1', 'quota.warning', { ok: false });
    await s.dispatch();
    await fixture.db.db.execute(
      sql`update webhooks.deliveries set created_at = '2026-06-01T00:00:00Z' where event_type = 'message.accepted'`,
    );
    await fixture.db.db.execute(
      sql`update webhooks.deliveries set created_at = '2026-06-02T00:00:00Z' where event_type = 'quota.warning'`,
    );
    const events = async (filter: Parameters<WebhookService['listDeliveries']>[2]) =>
      (await s.listDeliveries('acct-1', endpoint.id, filter))!.deliveries.map((d) => d.event);
    expect(await events({ status: 'delivered' })).toEqual(['message.accepted']);
    expect(await events({ status: 'pending' })).toEqual(['quota.warning']);
    expect(await events({ status: 'failed' })).toEqual([]);
    expect(await events({ event: 'quota.warning' })).toEqual(['quota.warning']);
    expect(await events({ from: '2026-06-01T12:00:00Z' })).toEqual(['quota.warning']);
    expect(await events({ to: '2026-06-02T00:00:00Z' })).toEqual(['message.accepted']);
    expect(await events({ from: '2026-06-01T00:00:00+00:00', to: '2026-06-03T00:00:00Z' })).toEqual([
      'quota.warning',
      'message.accepted',
    ]);
    // Another account: the endpoint and its deliveries are not found, as unknown ones are.
    const mine = (await s.listDeliveries('acct-1', endpoint.id))!.deliveries[0]!;
    expect(await s.listDeliveries('acct-2', endpoint.id)).toBeNull();
    expect(await s.getDelivery('acct-2', mine.id)).toBeNull();
    expect(await s.listDeliveries('acct-1', '00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await s.getDelivery('acct-1', 'not-a-uuid')).toBeNull();
    const one = await s.getDelivery('acct-1', mine.id);
    expect(one).toMatchObject({
      id: mine.id,
      payload: { type: 'quota.warning', data: { ok: false } },
      attempts: [{ statusCode: 500 }],
    });
  });

  it('refuses a filter or cursor it does not know with HF_WEBHOOK_INVALID_QUERY, before any query', async () => {
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    const at = (t: string, id = '00000000-0000-4000-8000-000000000000') =>
      Buffer.from(`${t}|${id}`).toString('base64url');
    const bad = [
      { status: 'lost' },
      { event: 'message.deleted' },
      { from: 'yesterday' },
      { from: '0000-01-01T00:00:00Z' },
      { to: '2026-02-30' },
      { to: '2026-02-30T00:00:00Z' },
      { from: '2026-06-01T00:00:00' },
      { from: '2026-06-02T00:00:00Z', to: '2026-06-01T00:00:00Z' },
      { limit: 0 },
      { limit: 101 },
      { cursor: 'not a cursor' },
      { cursor: at('2026-02-30T00:00:00.000000Z') },
      { cursor: at('1969-12-31T23:59:59.999999Z') },
      { cursor: at('2026-06-01T00:00:00.000000Z', "x' or 1=1 --") },
      { cursor: `${at('2026-06-01T00:00:00.000000Z')}${Buffer.from('|x').toString('base64url')}` },
    ];
    for (const filter of bad)
      await expect(s.listDeliveries('acct-1', endpoint.id, filter), JSON.stringify(filter)).rejects.toMatchObject({
        code: 'HF_WEBHOOK_INVALID_QUERY',
        statusCode: 400,
      });
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (cursor) => {
        const outcome = await s.listDeliveries('acct-1', endpoint.id, { cursor }).then(
          () => 'ok',
          (e: { code?: string }) => e.code,
        );
        return outcome === 'ok' || outcome === 'HF_WEBHOOK_INVALID_QUERY';
      }),
      { numRuns: 200 },
    );
  });
});

describe('resend and recover', () => {
  it('resends a delivered delivery with the same webhook-id and a fresh, valid timestamp and signature', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    vi.setSystemTime(t0);
    const s = service();
    const { secret } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', { m: 1 });
    await s.dispatch();
    const [first] = fixture.receiver.received;
    const id = (await rows(sql`select id from webhooks.deliveries`))[0]!.id as string;
    vi.setSystemTime(t0 + 600_000);
    const resent = await s.resend('acct-1', id);
    expect(resent).toMatchObject({ id, status: 'pending', nextAttemptAt: new Date(t0 + 600_000).toISOString() });
    await s.dispatch();
    const second = fixture.receiver.received[1]!;
    expect(second.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second.body).toBe(first!.body);
    expect(Number(second.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp'])).toBe(600);
    expect(second.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature']);
    // The receiver's Standard Webhooks check: the resend verifies now; the first would be refused now (too old).
    expect(verifyWebhook(second.body, second.headers, secret, { now: t0 + 600_000 })).toEqual({
      ok: true,
      id: first!.headers['webhook-id'],
      timestamp: (t0 + 600_000) / 1000,
    });
    expect(verifyWebhook(first!.body, first!.headers, secret, { now: t0 + 600_000 })).toMatchObject({
      ok: false,
      code: 'HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
    });
    expect(await s.getDelivery('acct-1', id)).toMatchObject({ status: 'delivered', attemptCount: 2 });
  });

  it("refuses to resend a pending, held or cancelled delivery (409), and finds no other account's", async () => {
    fixture.receiver.answer(500);
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', {});
    const id = (await rows(sql`select id from webhooks.deliveries`))[0]!.id as string;
    await expect(s.resend('acct-1', id)).rejects.toMatchObject({
      code: 'HF_WEBHOOK_DELIVERY_NOT_RESENDABLE',
      statusCode: 409,
    });
    await fixture.db.db.execute(sql`update webhooks.deliveries set status = 'held'`);
    await expect(s.resend('acct-1', id)).rejects.toMatchObject({
      code: 'HF_WEBHOOK_DELIVERY_NOT_RESENDABLE',
      message: expect.stringContaining('held'),
    });
    expect(await s.resend('acct-2', id)).toBeNull();
    expect(await s.resend('acct-1', '00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await s.remove('acct-1', endpoint.id)).toBe(true);
    expect(await rows(sql`select status from webhooks.deliveries`)).toEqual([{ status: 'cancelled' }]);
    await expect(s.resend('acct-1', id)).rejects.toMatchObject({ code: 'HF_WEBHOOK_DELIVERY_NOT_RESENDABLE' });
    expect(fixture.receiver.received).toHaveLength(0);
  });

  it('recovers every failed delivery created since a time, and only those', async () => {
    fixture.receiver.answer(500);
    const s = service();
    const { endpoint } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    for (let day = 1; day <= 3; day++) await s.emit('acct-1', 'message.accepted', { day });
    await s.emit('acct-1', 'quota.warning', { delivered: true });
    // Three given up (their last retry), one delivered.
    await fixture.db.db.execute(
      sql`update webhooks.deliveries set attempts = 7, created_at = ('2026-06-0' || (payload::jsonb -> 'data' ->> 'day') || 'T00:00:00Z')::timestamptz where event_type = 'message.accepted'`,
    );
    fixture.receiver.answer((r) => ({ status: r.body.includes('delivered') ? 200 : 500 }));
    await s.dispatch();
    expect(
      await rows(sql`select status, count(*)::int as n from webhooks.deliveries group by status order by status`),
    ).toEqual([
      { status: 'delivered', n: 1 },
      { status: 'failed', n: 3 },
    ]);
    await expect(s.recover('acct-1', endpoint.id, new Date(Date.now() + 60_000))).rejects.toMatchObject({
      code: 'HF_WEBHOOK_INVALID_QUERY',
    });
    await expect(s.recover('acct-1', endpoint.id, 'last week')).rejects.toMatchObject({
      code: 'HF_WEBHOOK_INVALID_QUERY',
    });
    expect(await s.recover('acct-2', endpoint.id, '2026-06-02T00:00:00Z')).toBeNull();
    expect(await s.recover('acct-1', endpoint.id, '2026-06-02T00:00:00Z')).toEqual({
      queued: 2,
      remaining: 0,
      status: 'pending',
    });
    fixture.receiver.received.length = 0;
    fixture.receiver.answer(204);
    await drain(s);
    expect(fixture.receiver.received.map((r) => JSON.parse(r.body).data.day).sort()).toEqual([2, 3]);
    expect(
      await rows(sql`select status, count(*)::int as n from webhooks.deliveries group by status order by status`),
    ).toEqual([
      { status: 'delivered', n: 3 },
      { status: 'failed', n: 1 },
    ]);
  });
});
