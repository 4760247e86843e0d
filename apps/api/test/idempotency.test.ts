// Issue 18 item 6: Idempotency-Key on POST /v1/messages (the IETF draft): the same key and body from
// the same account within 24 hours answers the first response again and sends nothing, on any
// replica; another body is 422; a failed first attempt leaves the key free; bad keys are 400.
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyFingerprint, parseIdempotencyKey } from '../src/data/idempotency.js';
import { signup, testApp } from './helpers.js';

let database: TestDatabase;
let a: Awaited<ReturnType<typeof testApp>>['app'];
let b: Awaited<ReturnType<typeof testApp>>['app'];
beforeAll(async () => {
  database = await testDatabase();
  [a, b] = await Promise.all([testApp(database).then((x) => x.app), testApp(database).then((x) => x.app)]);
});
afterAll(async () => {
  await a.close();
  await b.close();
  await database.close();
});

const send = (
  app: typeof a,
  apiKey: string,
  key: string | undefined,
  body: object = { sessionId: 'wa-1', to: '+254711000001', text: 'Habari' },
) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { authorization: `Bearer ${apiKey}`, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: body,
  });
const logged = async (accountId: string) =>
  Number(
    resultRows<{ n: string }>(
      await database.db.execute(
        sql`select count(*)::text as n from app.message_log where account_id = ${accountId}::uuid`,
      ),
    )[0]!.n,
  );

describe('Idempotency-Key on POST /v1/messages', () => {
  it('answers a retry, on either replica, with the first response, and sends the message once', async () => {
    const { account, apiKey } = await signup(a);
    const first = await send(a, apiKey, '"order-7781"');
    expect(first.statusCode).toBe(202);
    const again = await send(b, apiKey, '"order-7781"');
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    // A bare token is the same key as its sf-string; the same JSON written another way is the same body.
    expect(
      (await send(a, apiKey, 'order-7781', { text: 'Habari', to: '+254711000001', sessionId: 'wa-1' })).json(),
    ).toEqual(first.json());
    expect(await logged(account.id)).toBe(1);
    // Another account's identical key is its own.
    const other = await signup(a);
    expect((await send(a, other.apiKey, 'order-7781')).json().messageId).not.toBe(first.json().messageId);
    // Without a key every request is a new message.
    await send(a, apiKey, undefined);
    expect(await logged(account.id)).toBe(2);
  });

  it('sends once when both replicas get the same key at the same moment', async () => {
    const { account, apiKey } = await signup(a);
    const replies = await Promise.all([
      send(a, apiKey, 'burst-1'),
      send(b, apiKey, 'burst-1'),
      send(a, apiKey, 'burst-1'),
      send(b, apiKey, 'burst-1'),
    ]);
    expect(await logged(account.id)).toBe(1);
    for (const r of replies) expect([202, 409]).toContain(r.statusCode);
    expect(replies.filter((r) => r.statusCode === 202 && r.headers['idempotent-replayed'] === undefined)).toHaveLength(
      1,
    );
    for (const r of replies.filter((r) => r.statusCode === 409))
      expect(r.json().code).toBe('HF_IDEMPOTENCY_KEY_IN_PROGRESS');
  });

  it('refuses the same key with another body (422), frees a key whose first attempt failed, and refuses bad keys (400)', async () => {
    const { account, apiKey } = await signup(a);
    expect((await send(a, apiKey, 'k-1')).statusCode).toBe(202);
    const reused = await send(a, apiKey, 'k-1', { sessionId: 'wa-1', to: '+254711000002', text: 'Other' });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe('HF_IDEMPOTENCY_KEY_REUSED');
    // A first attempt that fails validation leaves the key free for a corrected retry.
    expect((await send(a, apiKey, 'k-2', { sessionId: 'wa-1', to: 'not-a-number', text: 'x' })).statusCode).toBe(400);
    expect((await send(a, apiKey, 'k-2', { sessionId: 'wa-1', to: 'not-a-number', text: 'x' })).statusCode).toBe(400);
    expect(
      resultRows(await database.db.execute(sql`select 1 from app.idempotency_keys where key = 'k-2'`)),
    ).toHaveLength(0);
    for (const bad of ['', '""', 'x'.repeat(256), 'with space', 'é']) {
      const res = await send(a, apiKey, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().code).toMatch(/^HF_/);
    }
    // A key past its 24 hours is new again.
    await database.db.execute(
      sql`update app.idempotency_keys set created_at = now() - interval '25 hours' where key = 'k-1'`,
    );
    const fresh = await send(a, apiKey, 'k-1', { sessionId: 'wa-1', to: '+254711000002', text: 'Other' });
    expect(fresh.statusCode).toBe(202);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect(await logged(account.id)).toBe(2);
  });

  it('parses keys and fingerprints bodies without throwing anything but its own error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        try {
          const key = parseIdempotencyKey(value);
          expect(key.length).toBeGreaterThan(0);
          expect(key.length).toBeLessThanOrEqual(255);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('HF_IDEMPOTENCY_KEY_INVALID');
        }
      }),
    );
    expect(bodyFingerprint({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(bodyFingerprint({ a: [1, { c: 3, d: 2 }], b: 1 }));
    expect(bodyFingerprint({ a: 1 })).not.toBe(bodyFingerprint({ a: 2 }));
  });
});
