// Issue 12 item 11: webhook signing secrets lived at session `webhook-endpoints`, name
// `<id>.current`, which the credentials routes accepted: a GET answered 500 and logged part of
// the secret, a PUT replaced it, after which every delivery of that endpoint stayed pending forever
// with no attempt row. Each consumer now has its own vault namespace (in the associated data), the
// customer routes reach only `whatsapp`, and a secret that cannot be opened is a failed attempt.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { verifyWebhook } from '@harakaflow/webhooks';
import { VAULT_NAMESPACE, VAULT_SESSION } from '@harakaflow/webhooks/internals';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, startReceiver, testApp } from '../helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let logs: Awaited<ReturnType<typeof testApp>>['logs'];
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  database = await testDatabase();
  ({ app, logs } = await testApp(database));
  receiver = await startReceiver(200);
});
afterAll(async () => {
  receiver.close();
  await app.close();
  await database.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await database.db.execute(query)) as unknown as
    Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};
async function endpoint(apiKey: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/webhooks/endpoints',
    headers: bearer(apiKey),
    payload: { url: receiver.url, events: ['message.accepted'] },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { endpoint: { id: string }; secret: string };
}
const send = (apiKey: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(apiKey),
    payload: { sessionId: 's1', to: '+254700000001', text: 'hi' },
  });

describe('vault namespaces', () => {
  it('the credentials routes cannot reach a webhook secret, by the legacy session or the new one', async () => {
    const { apiKey } = await signup(app);
    const { endpoint: e, secret } = await endpoint(apiKey);
    for (const [method, url] of [
      ['GET', `/v1/whatsapp/sessions/webhook-endpoints/credentials/${e.id}.current`],
      ['PUT', `/v1/whatsapp/sessions/webhook-endpoints/credentials/${e.id}.current`],
      ['DELETE', `/v1/whatsapp/sessions/webhook-endpoints/credentials/${e.id}.current`],
      ['DELETE', '/v1/whatsapp/sessions/webhook-endpoints'],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        headers: bearer(apiKey),
        ...(method === 'PUT' ? { payload: { value: 'whsec_attacker' } } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(400);
      expect(res.json().code).toBe('HF_VAULT_RESERVED_NAMESPACE');
    }
    // The namespace's own session id names nothing in `whatsapp`.
    expect(
      (
        await app.inject({
          url: `/v1/whatsapp/sessions/${VAULT_SESSION}/credentials/${e.id}.current`,
          headers: bearer(apiKey),
        })
      ).statusCode,
    ).toBe(404);
    const stored = await rows(sql`select namespace, session_id from vault.secrets where name = ${`${e.id}.current`}`);
    expect(stored).toEqual([{ namespace: VAULT_NAMESPACE, session_id: VAULT_SESSION }]);
    // Deliveries are still signed with the endpoint's own secret.
    receiver.received.length = 0;
    await send(apiKey);
    while ((await app.webhooks.dispatch()) > 0);
    const got = receiver.received.at(-1)!;
    expect(verifyWebhook(got.body, got.headers as Record<string, string>, secret).ok).toBe(true);
    expect(logs.text()).not.toContain(secret.slice(6, 20));
  });

  it('a record moved to another namespace does not open there: the namespace is in the associated data', async () => {
    const { account } = await signup(app);
    await app.vault.put(
      { namespace: 'webhooks', accountId: account.id, sessionId: 'x', name: 'n' },
      Buffer.from('secret'),
    );
    await database.db.execute(
      sql`update vault.secrets set namespace = 'whatsapp' where account_id = ${account.id} and session_id = 'x'`,
    );
    await expect(app.vault.get({ accountId: account.id, sessionId: 'x', name: 'n' })).rejects.toMatchObject({
      code: 'HF_VAULT_DECRYPT_FAILED',
    });
  });

  it('a secret the earlier version stored at the legacy place is read and moved into the namespace', async () => {
    const { apiKey, account } = await signup(app);
    const { endpoint: e, secret } = await endpoint(apiKey);
    // As the earlier version left it: the default namespace, session webhook-endpoints.
    const place = {
      accountId: account.id,
      sessionId: VAULT_SESSION,
      name: `${e.id}.current`,
      namespace: VAULT_NAMESPACE,
    };
    await app.vault.move(place, { accountId: account.id, sessionId: 'webhook-endpoints', name: `${e.id}.current` });
    receiver.received.length = 0;
    await send(apiKey);
    while ((await app.webhooks.dispatch()) > 0);
    const got = receiver.received.at(-1)!;
    expect(verifyWebhook(got.body, got.headers as Record<string, string>, secret).ok).toBe(true);
    expect(await rows(sql`select namespace, session_id from vault.secrets where name = ${`${e.id}.current`}`)).toEqual([
      { namespace: VAULT_NAMESPACE, session_id: VAULT_SESSION },
    ]);
  });

  it('a delivery whose secret cannot be opened is a failed attempt with a code, on the retry schedule', async () => {
    const { apiKey } = await signup(app);
    const { endpoint: e } = await endpoint(apiKey);
    await database.db.execute(
      sql`update vault.secrets set ciphertext = set_byte(ciphertext, length(ciphertext) - 2, get_byte(ciphertext, length(ciphertext) - 2) # 1) where name = ${`${e.id}.current`}`,
    );
    await send(apiKey);
    while ((await app.webhooks.dispatch()) > 0);
    const [delivery] = await rows(
      sql`select id, status, attempts, next_attempt_at, last_error from webhooks.deliveries where endpoint_id = ${e.id}::uuid`,
    );
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HF_VAULT_DECRYPT_FAILED' });
    expect(new Date(delivery!.next_attempt_at as string).getTime()).toBeGreaterThan(Date.now());
    const attempts = await rows(
      sql`select error from webhooks.attempts where delivery_id = ${delivery!.id as string}::uuid`,
    );
    expect(attempts).toEqual([{ error: 'HF_VAULT_DECRYPT_FAILED' }]);
  });
});
