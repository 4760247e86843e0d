// Policy §3 in the reference app: customers' webhook endpoints (secrets in the vault), signed
// deliveries of message.accepted, rotation, and Meta's inbound webhook verified before parsing.
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { hubSignature, verifyWebhook } from '@harakaflow/webhooks';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, META_APP_SECRET, signup, startReceiver, testApp } from './helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let logs: Awaited<ReturnType<typeof testApp>>['logs'];
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let hookUrl: string;
let received: Awaited<ReturnType<typeof startReceiver>>['received'];

beforeAll(async () => {
  database = await testDatabase();
  ({ app, logs } = await testApp(database));
  receiver = await startReceiver(200);
  hookUrl = receiver.url;
  received = receiver.received;
});
afterAll(async () => {
  receiver.close();
  await app.close();
  await database.close();
});
beforeEach(() => {
  received.length = 0;
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/**
 * Until the receiver holds a delivery `matching`: this test dispatches, and so does the app's own
 * dispatcher (woken as each event is emitted), which may hold the delivery when this one finds none.
 */
async function deliveredTo(matching: (r: (typeof received)[number]) => boolean) {
  await until(async () => {
    while ((await app.webhooks.dispatch()) > 0);
    return received.some(matching);
  });
  return received.filter(matching).at(-1)!;
}

describe('webhook endpoints API', () => {
  it('creates an endpoint whose whsec_ secret is shown once and stored only encrypted', async () => {
    const { apiKey } = await signup(app);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: bearer(apiKey),
      payload: { url: hookUrl, events: ['message.accepted'] },
    });
    expect(res.statusCode).toBe(201);
    const { endpoint, secret } = res.json();
    expect(secret).toMatch(/^whsec_/);
    expect(endpoint).toMatchObject({ url: hookUrl, events: ['message.accepted'], status: 'active' });
    const listed = await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(apiKey) });
    expect(listed.json().endpoints.map((e: { id: string }) => e.id)).toEqual([endpoint.id]);
    expect(listed.body).not.toContain('whsec_');
    const dump = JSON.stringify([
      await database.db.execute(sql`select * from webhooks.endpoints`),
      await database.db.execute(sql`select *, encode(ciphertext, 'escape') as raw from vault.secrets`),
    ]);
    expect(dump).not.toContain(secret.slice(6));
    expect(logs.text()).not.toContain(secret.slice(6));
  });

  it("keeps another account's endpoints out of reach, and refuses the admin and bad input", async () => {
    const owner = await signup(app);
    const other = await signup(app);
    const { endpoint } = (
      await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(owner.apiKey),
        payload: { url: hookUrl, events: ['*'] },
      })
    ).json();
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`,
          headers: bearer(other.apiKey),
        })
      ).json().code,
    ).toBe('HF_WEBHOOK_ENDPOINT_NOT_FOUND');
    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: `/v1/webhooks/endpoints/${endpoint.id}`,
          headers: bearer(other.apiKey),
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(other.apiKey) })).json().endpoints,
    ).toEqual([]);
    expect((await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(ADMIN_KEY) })).statusCode).toBe(403);
    const bad = [
      [{ url: 'ftp://example.com/x', events: ['*'] }, 'HF_WEBHOOK_DESTINATION_REFUSED'],
      [{ url: 'https://user:pw@example.com/x', events: ['*'] }, 'HF_WEBHOOK_DESTINATION_REFUSED'],
      [{ url: hookUrl, events: ['nope'] }, 'HF_VALIDATION_FAILED'],
      [{ url: hookUrl, events: [] }, 'HF_VALIDATION_FAILED'],
      [{ url: hookUrl }, 'HF_VALIDATION_FAILED'],
    ] as const;
    for (const [payload, code] of bad) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(owner.apiKey),
        payload,
      });
      expect(res.json(), JSON.stringify(payload)).toMatchObject({ statusCode: 400, code });
    }
    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: `/v1/webhooks/endpoints/${endpoint.id}`,
          headers: bearer(owner.apiKey),
        })
      ).statusCode,
    ).toBe(204);
  });
});

describe('POST /v1/messages and message.accepted', () => {
  it('accepts a message, logs it without its text, and delivers a signed message.accepted; rotation signs with both secrets', async () => {
    const { account, apiKey } = await signup(app);
    const { secret } = (
      await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(apiKey),
        payload: { url: hookUrl, events: ['message.accepted'] },
      })
    ).json();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(apiKey),
      payload: { sessionId: 'wa-1', to: '+254712345678', text: 'Habari, your order is ready' },
    });
    expect(res.statusCode).toBe(202);
    const { messageId } = res.json();
    const log = (await database.db.execute(
      sql`select account_id, session_id, "to", chars from app.message_log`,
    )) as unknown as Record<string, unknown>[] | { rows: Record<string, unknown>[] };
    expect(Array.isArray(log) ? log : log.rows).toEqual([
      { account_id: account.id, session_id: 'wa-1', to: '+254712345678', chars: 27 },
    ]);
    expect(JSON.stringify(log)).not.toContain('Habari');

    const delivery = await deliveredTo((r) => r.body.includes(messageId));
    expect(verifyWebhook(delivery.body, delivery.headers, secret)).toMatchObject({ ok: true });
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: 'message.accepted',
      data: { messageId, sessionId: 'wa-1', to: '+254712345678' },
    });

    const endpointId = (await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(apiKey) })).json()
      .endpoints[0].id;
    const rotated = (
      await app.inject({
        method: 'POST',
        url: `/v1/webhooks/endpoints/${endpointId}/rotate-secret`,
        headers: bearer(apiKey),
      })
    ).json();
    expect(rotated.secret).toMatch(/^whsec_/);
    const again = (
      await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: bearer(apiKey),
        payload: { sessionId: 'wa-1', to: '+254712345678', text: 'again' },
      })
    ).json().messageId as string;
    const next = await deliveredTo((r) => r.body.includes(again));
    expect(String(next.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWebhook(next.body, next.headers, secret).ok).toBe(true);
    expect(verifyWebhook(next.body, next.headers, rotated.secret).ok).toBe(true);
  });

  it('validates the body: E.164 recipient, non-empty text of at most 4096 characters', async () => {
    const { apiKey } = await signup(app);
    const bad = [
      { sessionId: 'wa-1', to: '0712345678', text: 'x' },
      { sessionId: 'wa-1', to: '+0712345678', text: 'x' },
      { sessionId: 'wa-1', to: '+2547123456789012', text: 'x' },
      { sessionId: 'wa-1', to: '+254712345678', text: '' },
      { sessionId: 'wa-1', to: '+254712345678', text: '   ' },
      { sessionId: 'wa-1', to: '+254712345678', text: 'x'.repeat(4097) },
      { sessionId: 'bad session', to: '+254712345678', text: 'x' },
      { sessionId: 'wa-1', to: '+254712345678', text: 'x', extra: 1 },
    ];
    for (const payload of bad) {
      const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(apiKey), payload });
      expect(res.json(), JSON.stringify(payload).slice(0, 80)).toMatchObject({
        statusCode: 400,
        code: 'HF_VALIDATION_FAILED',
      });
    }
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/messages',
          payload: { sessionId: 'wa-1', to: '+254712345678', text: 'x' },
        })
      ).statusCode,
    ).toBe(401);
  });
});

describe('POST /v1/webhooks/inbound/meta', () => {
  it('verifies X-Hub-Signature-256 before parsing, acknowledges a replay without processing it again, refuses forgeries', async () => {
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [] }] });
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature(body, META_APP_SECRET) };
    const first = await app.inject({ method: 'POST', url: '/v1/webhooks/inbound/meta', payload: body, headers });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: true });
    expect(
      (await app.inject({ method: 'POST', url: '/v1/webhooks/inbound/meta', payload: body, headers })).json(),
    ).toEqual({ duplicate: true });
    const forged = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/inbound/meta',
      payload: body.replace('"1"', '"2"'),
      headers,
    });
    expect(forged.json()).toMatchObject({ statusCode: 401, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
    const unsigned = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/inbound/meta',
      payload: body,
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.json()).toMatchObject({ statusCode: 401, code: 'HF_WEBHOOK_MISSING_HEADER' });
    await app.audit.flush();
    const { events } = await app.audit.query({ action: 'webhook.inbound.received', limit: 10 });
    expect(events).toHaveLength(1);
    expect((await app.audit.query({ action: 'webhook.inbound.duplicate', limit: 10 })).events).toHaveLength(1);
  });

  it("answers Meta's callback check only with the right token", async () => {
    const ok = await app.inject({
      url: '/v1/webhooks/inbound/meta?hub.mode=subscribe&hub.verify_token=test-meta-verify-token-0123&hub.challenge=1158201444',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('1158201444');
    const wrong = await app.inject({
      url: '/v1/webhooks/inbound/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
    });
    expect(wrong.json()).toMatchObject({ statusCode: 403, code: 'HF_WEBHOOK_VERIFY_REFUSED' });
  });
});

describe('erasure', () => {
  it("removes an account's endpoints, their secrets, deliveries and message log when it is erased", async () => {
    const { account, apiKey } = await signup(app);
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: bearer(apiKey),
      payload: { url: hookUrl, events: ['*'] },
    });
    await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(apiKey),
      payload: { sessionId: 'wa-1', to: '+254712345678', text: 'x' },
    });
    const report = await app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${account.id}/minor`,
      headers: bearer(ADMIN_KEY),
      payload: {},
    });
    expect(report.statusCode).toBe(200);
    expect(report.json().counts).toMatchObject({ webhooks: 2 });
    const left = (await database.db.execute(sql`select
      (select count(*)::int from webhooks.endpoints where account_id = ${account.id}) as endpoints,
      (select count(*)::int from webhooks.deliveries where account_id = ${account.id}) as deliveries,
      (select count(*)::int from app.message_log where account_id = ${account.id}) as messages,
      (select count(*)::int from vault.secrets where account_id = ${account.id}) as secrets`)) as unknown as
      Record<string, number>[] | { rows: Record<string, number>[] };
    expect((Array.isArray(left) ? left : left.rows)[0]).toEqual({
      endpoints: 0,
      deliveries: 0,
      messages: 0,
      secrets: 0,
    });
  });
});
