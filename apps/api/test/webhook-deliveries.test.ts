// Issue 34 in the reference app, end to end over HTTP with a real receiver and a real SMTP server:
// the delivery log, resend (same webhook-id, fresh timestamp and signature) and recover, limits and
// audit events; an endpoint disabled by a 410 or by WEBHOOKS_DISABLE_AFTER_DAYS of failures is
// emailed about (`webhook.endpoint_disabled`), its deliveries held, and sent once it is enabled.
import { resultRows } from '@harakaflow/db';
import { startSmtp, testDatabase, until, type Receiver, type TestDatabase } from '@harakaflow/testing';
import { verifyWebhook } from '@harakaflow/webhooks';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN_KEY, mailsOf, problemsOf, signup, startReceiver, testApp, verifyByMail } from './helpers.js';
import { parseConfig } from '@harakaflow/api';

let database: TestDatabase;
let app: FastifyInstance;
let logs: Awaited<ReturnType<typeof testApp>>['logs'];
let smtp: Awaited<ReturnType<typeof startSmtp>>;
beforeAll(async () => {
  database = await testDatabase();
  smtp = await startSmtp();
  ({ app, logs } = await testApp(database, { smtpUrl: smtp.url, webhooksDisableAfterDays: 2 }));
});
afterAll(async () => {
  await app.close();
  await smtp.close();
  await database.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
type Delivery = {
  id: string;
  webhookId: string;
  status: string;
  event: string;
  attemptCount: number;
  attempts: { statusCode: number | null; response: string | null }[];
  payload?: { data: Record<string, unknown> };
};

/** A receiver of this test's own (closed when it ends), an account and an endpoint on it; the endpoint's secret. */
async function setup(answer: Parameters<typeof startReceiver>[0] = 204) {
  const receiver = await startReceiver(answer);
  onTestFinished(() => receiver.close());
  const { account, apiKey } = await signup(app);
  const created = await app.inject({
    method: 'POST',
    url: '/v1/webhooks/endpoints',
    headers: bearer(apiKey),
    payload: { url: receiver.url, events: ['message.accepted'] },
  });
  expect(created.statusCode).toBe(201);
  const { endpoint, secret } = created.json() as { endpoint: { id: string }; secret: string };
  const send = async (text: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(apiKey),
      payload: { sessionId: 'wa-1', to: '+254712345678', text },
    });
    expect(res.statusCode).toBe(202);
    return res.json().messageId as string;
  };
  const log = async (query = '') => {
    const res = await app.inject({
      url: `/v1/webhooks/endpoints/${endpoint.id}/deliveries${query}`,
      headers: bearer(apiKey),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { deliveries: Delivery[]; nextCursor: string | null };
  };
  return { receiver, account, apiKey, endpoint, secret, send, log };
}

/** Dispatches until this endpoint's log shows `done` (the app's own loop may be sending too). */
async function until204(log: () => Promise<{ deliveries: Delivery[] }>, done: (d: Delivery[]) => boolean) {
  await until(async () => {
    while ((await app.webhooks.dispatch()) > 0);
    return done((await log()).deliveries);
  });
}

const received = (receiver: Receiver, messageId: string) => receiver.received.filter((r) => r.body.includes(messageId));

describe('the delivery log', () => {
  it('shows every delivery of the endpoint with its attempts, page by page, and one with its payload', async () => {
    const { apiKey, endpoint, send, log } = await setup();
    const ids = [await send('one'), await send('two'), await send('three')];
    await until204(log, (d) => d.length === 3 && d.every((x) => x.status === 'delivered'));
    const first = await log('?limit=2');
    expect(first.deliveries).toHaveLength(2);
    const second = await log(`?limit=2&cursor=${first.nextCursor}`);
    expect(second).toMatchObject({ nextCursor: null });
    const all = [...first.deliveries, ...second.deliveries];
    expect(all.map((d) => (d as { payload?: unknown }).payload)).toEqual([undefined, undefined, undefined]);
    expect(all[0]).toMatchObject({
      event: 'message.accepted',
      status: 'delivered',
      attemptCount: 1,
      attempts: [{ statusCode: 204, response: null }],
      nextAttemptAt: null,
    });
    const one = await app.inject({ url: `/v1/webhooks/deliveries/${all[2]!.id}`, headers: bearer(apiKey) });
    expect(one.statusCode).toBe(200);
    expect(one.json().delivery).toMatchObject({
      id: all[2]!.id,
      endpointId: endpoint.id,
      payload: { type: 'message.accepted', data: { messageId: ids[0] } },
    });
    expect((await log('?status=failed')).deliveries).toEqual([]);
    expect((await log('?event=message.accepted&from=2020-01-01T00:00:00Z')).deliveries).toHaveLength(3);
    expect((await log(`?to=2020-01-01T00:00:00Z`)).deliveries).toHaveLength(0);
  });

  it('answers another account 404 for the endpoint and its deliveries, the admin 403, and bad input 400 with a code', async () => {
    const { apiKey, endpoint, send, log } = await setup();
    await send('mine');
    await until204(log, (d) => d.length === 1 && d[0]!.status === 'delivered');
    const [delivery] = (await log()).deliveries;
    const other = await signup(app);
    const asOther = async (method: 'GET' | 'POST', url: string, payload?: object) =>
      (await app.inject({ method, url, headers: bearer(other.apiKey), ...(payload ? { payload } : {}) })).json();
    expect(await asOther('GET', `/v1/webhooks/endpoints/${endpoint.id}/deliveries`)).toMatchObject({
      statusCode: 404,
      code: 'HF_WEBHOOK_ENDPOINT_NOT_FOUND',
    });
    expect(await asOther('GET', `/v1/webhooks/deliveries/${delivery!.id}`)).toMatchObject({
      statusCode: 404,
      code: 'HF_WEBHOOK_DELIVERY_NOT_FOUND',
    });
    expect(await asOther('POST', `/v1/webhooks/deliveries/${delivery!.id}/resend`)).toMatchObject({
      statusCode: 404,
      code: 'HF_WEBHOOK_DELIVERY_NOT_FOUND',
    });
    expect(
      await asOther('POST', `/v1/webhooks/endpoints/${endpoint.id}/recover`, { since: '2020-01-01T00:00:00Z' }),
    ).toMatchObject({ statusCode: 404, code: 'HF_WEBHOOK_ENDPOINT_NOT_FOUND' });
    expect(await asOther('POST', `/v1/webhooks/endpoints/${endpoint.id}/enable`)).toMatchObject({
      statusCode: 404,
      code: 'HF_WEBHOOK_ENDPOINT_NOT_FOUND',
    });
    const asAdmin = await app.inject({ url: `/v1/webhooks/deliveries/${delivery!.id}`, headers: bearer(ADMIN_KEY) });
    expect(asAdmin.json()).toMatchObject({ statusCode: 403, code: 'HF_AUTH_FORBIDDEN' });
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(
      (await app.inject({ url: `/v1/webhooks/deliveries/${unknown}`, headers: bearer(apiKey) })).json(),
    ).toMatchObject({ statusCode: 404, code: 'HF_WEBHOOK_DELIVERY_NOT_FOUND' });
    const bad: [string, string][] = [
      [`/v1/webhooks/endpoints/${endpoint.id}/deliveries?status=lost`, 'HF_VALIDATION_FAILED'],
      [`/v1/webhooks/endpoints/${endpoint.id}/deliveries?event=message.deleted`, 'HF_VALIDATION_FAILED'],
      [`/v1/webhooks/endpoints/${endpoint.id}/deliveries?from=yesterday`, 'HF_VALIDATION_FAILED'],
      [`/v1/webhooks/endpoints/${endpoint.id}/deliveries?limit=0`, 'HF_VALIDATION_FAILED'],
      [`/v1/webhooks/endpoints/${endpoint.id}/deliveries?page=2`, 'HF_VALIDATION_FAILED'],
      [`/v1/webhooks/endpoints/${endpoint.id}/deliveries?cursor=nope`, 'HF_WEBHOOK_INVALID_QUERY'],
      [
        `/v1/webhooks/endpoints/${endpoint.id}/deliveries?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z`,
        'HF_WEBHOOK_INVALID_QUERY',
      ],
      ['/v1/webhooks/deliveries/not-a-uuid', 'HF_VALIDATION_FAILED'],
    ];
    for (const [url, code] of bad)
      expect((await app.inject({ url, headers: bearer(apiKey) })).json(), url).toMatchObject({ statusCode: 400, code });
  });
});

describe('resend and recover', () => {
  it('resends with the same webhook-id and a fresh timestamp and signature that verify; a pending one is 409; audited and limited', async () => {
    const { receiver, apiKey, secret, send, log } = await setup({ status: 200, body: 'thanks' });
    const messageId = await send('hello');
    await until204(log, (d) => d.some((x) => x.status === 'delivered'));
    const [delivery] = (await log()).deliveries;
    const first = received(receiver, messageId)[0]!;
    // The next second, so the new timestamp differs (measured, not slept).
    await until(() => Math.floor(Date.now() / 1000) > Number(first.headers['webhook-timestamp']));
    const resent = await app.inject({
      method: 'POST',
      url: `/v1/webhooks/deliveries/${delivery!.id}/resend`,
      headers: bearer(apiKey),
    });
    expect(resent.statusCode).toBe(202);
    expect(resent.json().delivery).toMatchObject({
      id: delivery!.id,
      webhookId: delivery!.webhookId,
      status: 'pending',
    });
    await until204(log, (d) => d[0]!.status === 'delivered' && d[0]!.attemptCount === 2);
    const [again] = received(receiver, messageId).slice(1);
    expect(again!.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again!.headers['webhook-id']).toBe(delivery!.webhookId);
    expect(again!.body).toBe(first.body);
    expect(Number(again!.headers['webhook-timestamp'])).toBeGreaterThan(Number(first.headers['webhook-timestamp']));
    expect(again!.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);
    expect(verifyWebhook(again!.body, again!.headers, secret)).toEqual({
      ok: true,
      id: delivery!.webhookId,
      timestamp: Number(again!.headers['webhook-timestamp']),
    });
    expect((await log()).deliveries[0]!.attempts.map((a) => a.response)).toEqual(['thanks', 'thanks']);

    // A delivery still on its way (its first attempt failed: retried in 5 s) cannot be sent again.
    receiver.answer(500);
    await send('keep failing');
    await until204(log, (d) => d.some((x) => x.attemptCount >= 1 && x.status === 'pending'));
    const pending = (await log('?status=pending')).deliveries[0]!;
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/webhooks/deliveries/${pending.id}/resend`,
          headers: bearer(apiKey),
        })
      ).json(),
    ).toMatchObject({
      statusCode: 409,
      code: 'HF_WEBHOOK_DELIVERY_NOT_RESENDABLE',
    });
    await app.audit.flush();
    const audited = await app.audit.query({ action: 'webhook.delivery.resent', limit: 10 });
    expect(audited.events.filter((e) => e.resource === `webhook-delivery:${delivery!.id}`)).toHaveLength(1);
    // Limited: 60 a minute per account, whatever the answers (the 409s count too).
    const answers: number[] = [];
    for (let i = 0; i < 60; i++)
      answers.push(
        (
          await app.inject({
            method: 'POST',
            url: `/v1/webhooks/deliveries/${pending.id}/resend`,
            headers: bearer(apiKey),
          })
        ).statusCode,
      );
    expect(answers.slice(0, 58).every((s) => s === 409)).toBe(true);
    expect(answers.at(-1)).toBe(429);
    expect(logs.text()).not.toContain(secret.slice(6));
  });

  it('recovers every failed delivery since a time; a future or malformed since is 400; limited to 10 an hour', async () => {
    const { receiver, apiKey, account, endpoint, log } = await setup(204);
    // Three deliveries that used their eight attempts (the retries take 28 hours: the package's tests
    // go through them), made two days, one hour and a minute ago.
    const ages = ['2 days', '1 hour', '1 minute'];
    for (const [n, age] of ages.entries()) {
      const payload = JSON.stringify({ type: 'message.accepted', timestamp: new Date().toISOString(), data: { n } });
      await database.db
        .execute(sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, attempts, next_attempt_at, last_status_code, created_at)
        values (gen_random_uuid(), ${endpoint.id}, ${account.id}, 'message.accepted', ${payload}, 'failed', 8, now(), 500, now() - ${age}::interval)`);
    }
    const recover = (since: unknown) =>
      app.inject({
        method: 'POST',
        url: `/v1/webhooks/endpoints/${endpoint.id}/recover`,
        headers: bearer(apiKey),
        payload: { since },
      });
    expect((await recover(new Date(Date.now() + 3_600_000).toISOString())).json()).toMatchObject({
      statusCode: 400,
      code: 'HF_WEBHOOK_INVALID_QUERY',
    });
    expect((await recover('last week')).json()).toMatchObject({ statusCode: 400, code: 'HF_VALIDATION_FAILED' });
    expect((await recover(12)).json()).toMatchObject({ statusCode: 400, code: 'HF_VALIDATION_FAILED' });
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const done = await recover(since);
    expect(done.statusCode).toBe(202);
    expect(done.json()).toEqual({ queued: 2, remaining: 0, status: 'pending' });
    await until204(log, (d) => d.filter((x) => x.status === 'delivered').length === 2);
    // The two made since then went out; the older one did not.
    expect(receiver.received.map((r) => JSON.parse(r.body).data.n).sort()).toEqual([1, 2]);
    expect((await log('?status=failed')).deliveries).toHaveLength(1);
    await app.audit.flush();
    const [event] = (await app.audit.query({ action: 'webhook.endpoint.recovered', limit: 10 })).events.filter(
      (e) => e.resource === `webhook-endpoint:${endpoint.id}`,
    );
    expect(event?.details).toMatchObject({ since, queued: 2 });
    // Ten an hour: the four above count (their 400s too), six more pass (nothing left to queue), then 429.
    const answers: number[] = [];
    for (let i = 0; i < 8; i++) answers.push((await recover(since)).statusCode);
    expect(answers).toEqual([202, 202, 202, 202, 202, 202, 429, 429]);
    expect((await recover(since)).json()).toMatchObject({ statusCode: 429, code: 'HF_QUOTA_EXCEEDED' });
  });
});

describe('endpoints that fail loudly', () => {
  it('a 410 disables the endpoint, emails the account, holds its deliveries; enabling sends them with their ids', async () => {
    const { receiver, account, apiKey, endpoint, send, log } = await setup(410);
    await verifyByMail(app, smtp, account, apiKey);
    const firstId = await send('gone?');
    await until(async () => {
      while ((await app.webhooks.dispatch()) > 0);
      return (
        (await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(apiKey) })).json().endpoints[0].status ===
        'disabled'
      );
    });
    const secondId = await send('while disabled');
    expect((await log('?status=held')).deliveries).toHaveLength(2);
    const listed = (await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(apiKey) })).json().endpoints[0];
    expect(listed).toMatchObject({ status: 'disabled', disabledReason: 'the endpoint answered 410 Gone' });
    // The email: its own kind, the origin and the way back, never the URL's path.
    await until(async () => {
      await app.notify.dispatch();
      return mailsOf(smtp, 'webhook.endpoint_disabled', account.email).length === 1;
    });
    const [mail] = mailsOf(smtp, 'webhook.endpoint_disabled', account.email);
    const origin = new URL(receiver.url).origin;
    expect(mail!.headers.subject).toBe(`HarakaFlow: your webhook endpoint ${origin} was disabled`);
    expect(mail!.text).toContain(`/v1/webhooks/endpoints/${endpoint.id}/enable`);
    expect(mail!.text).toContain('it answered 410 Gone');
    expect(mail!.text).not.toContain('/hook');
    await app.audit.flush();
    const disabled = (await app.audit.query({ action: 'webhook.endpoint.disabled', limit: 50 })).events.filter(
      (e) => e.resource === `webhook-endpoint:${endpoint.id}`,
    );
    expect(disabled.map((e) => e.details)).toEqual([{ reason: '410 Gone', held: 1 }]);
    expect(received(receiver, secondId)).toHaveLength(0);

    receiver.answer(204);
    const enabled = await app.inject({
      method: 'POST',
      url: `/v1/webhooks/endpoints/${endpoint.id}/enable`,
      headers: bearer(apiKey),
    });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json()).toMatchObject({
      released: 2,
      endpoint: { id: endpoint.id, status: 'active', disabledReason: null, failingSince: null },
    });
    await until204(log, (d) => d.length === 2 && d.every((x) => x.status === 'delivered'));
    const [gone, resent] = received(receiver, firstId);
    expect(resent!.headers['webhook-id']).toBe(gone!.headers['webhook-id']);
    expect(received(receiver, secondId)).toHaveLength(1);
    await app.audit.flush();
    expect(
      (await app.audit.query({ action: 'webhook.endpoint.enabled', limit: 50 })).events
        .filter((e) => e.resource === `webhook-endpoint:${endpoint.id}`)
        .map((e) => e.details),
    ).toEqual([{ released: 2, status: 'active' }]);
  });

  it('an endpoint failing every attempt for WEBHOOKS_DISABLE_AFTER_DAYS is disabled the same way', async () => {
    const { account, apiKey, endpoint, send, log } = await setup(503);
    await verifyByMail(app, smtp, account, apiKey);
    await send('first');
    await until204(log, (d) => (d[0]?.attemptCount ?? 0) >= 1);
    const [{ failing_since: since }] = (await rows(
      sql`select failing_since from webhooks.endpoints where id = ${endpoint.id}`,
    )) as [{ failing_since: unknown }];
    expect(since).not.toBeNull();
    // Failing for three days (this app's limit is 2): the next failure disables it.
    await database.db.execute(
      sql`update webhooks.endpoints set failing_since = now() - interval '3 days' where id = ${endpoint.id}`,
    );
    await send('second');
    await until204(log, (d) => d.length === 2 && d.every((x) => x.status === 'held'));
    expect(
      (await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(apiKey) })).json().endpoints[0],
    ).toMatchObject({ status: 'disabled', disabledReason: 'every attempt failed for 2 days' });
    await until(async () => {
      await app.notify.dispatch();
      return mailsOf(smtp, 'webhook.endpoint_disabled', account.email).length === 1;
    });
    expect(mailsOf(smtp, 'webhook.endpoint_disabled', account.email)[0]!.text).toContain(
      'every delivery attempt failed since',
    );
  });
});

describe('WEBHOOKS_DISABLE_AFTER_DAYS', () => {
  it('is 5 by default, a whole number of days from 1 to 30', () => {
    expect(parseConfig({ NODE_ENV: 'test' }).webhooksDisableAfterDays).toBe(5);
    expect(parseConfig({ NODE_ENV: 'test', WEBHOOKS_DISABLE_AFTER_DAYS: '12' }).webhooksDisableAfterDays).toBe(12);
    for (const value of ['0', '31', '1.5', 'five'])
      expect(problemsOf({ NODE_ENV: 'test', WEBHOOKS_DISABLE_AFTER_DAYS: value }), value).toEqual([
        expect.stringMatching(/^WEBHOOKS_DISABLE_AFTER_DAYS /),
      ]);
  });
});
