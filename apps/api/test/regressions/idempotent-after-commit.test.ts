// Issue 18 item 6 (found by the soak): while Postgres restarted, two messages were sent twice. A
// send's message committed, then its answer failed (the database gone before the key's answer was
// stored, or the webhook emit after it); the failed answer dropped the key's claim, and the
// client's retry with the same Idempotency-Key sent the message again. The message, its webhook
// deliveries and the key's answer now commit in one transaction: a retry replays the first answer.
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyReply } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, startReceiver, testApp } from '../helpers.js';

let database: TestDatabase;
let app: Awaited<ReturnType<typeof testApp>>['app'];
let failNext = false;
let dropClaim: string | null = null;
let answerEarly: string | null = null;
let earlyReply: FastifyReply | null = null;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database, {}, (instance) => {
    // The answer lost after the handler's change committed, once: as a database that goes away does.
    instance.addHook('onSend', async (request, reply, payload) => {
      if (failNext && request.url === '/v1/messages' && reply.statusCode === 202) {
        failNext = false;
        throw Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
      }
      return payload;
    });
    // The key's claim gone before the handler's transaction, as when the request was answered
    // early (its onSend drops an uncompleted claim) while the handler still waited on the database.
    instance.addHook('preHandler', async (request, reply) => {
      if (dropClaim && request.url === '/v1/messages') {
        await database.db.execute(sql`delete from app.idempotency_keys where key = ${dropClaim}`);
        dropClaim = null;
      }
      if (answerEarly && request.url === '/v1/messages' && request.headers['idempotency-key'] === answerEarly) {
        answerEarly = null;
        earlyReply = reply;
      }
    });
  }));
  // Inside the send's transaction, before its key is completed: the request is answered (a 503, as
  // an error path or a timeout answers while the handler still waits on the database), and its
  // onSend has begun, before the handler goes on.
  const emit = app.webhooks.emit.bind(app.webhooks);
  app.webhooks.emit = (async (...args: Parameters<typeof emit>) => {
    const reply = earlyReply;
    earlyReply = null;
    if (reply) {
      void reply.code(503).send({
        statusCode: 503,
        code: 'HF_DATABASE_UNAVAILABLE',
        error: 'Service Unavailable',
        message: 'answered early',
      });
      // Time for the answer's onSend hooks to run up to the key's release (no I/O before it). Not
      // until the response has finished: on PGlite (one connection) the release's delete waits for
      // this transaction, which would then wait for it.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return emit(...args);
  }) as typeof emit;
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const rows = async (query: ReturnType<typeof sql>) =>
  Number(resultRows<{ n: string }>(await database.db.execute(query))[0]!.n);

describe('a send whose answer is lost after it committed', () => {
  it('is replayed on retry with the same key: one message, one webhook delivery', async () => {
    const { account, apiKey } = await signup(app);
    const receiver = await startReceiver(200);
    const hook = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { url: receiver.url, events: ['message.accepted'] },
    });
    receiver.close();
    expect(hook.statusCode).toBe(201);
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'order-42' },
        payload: { sessionId: 'wa-1', to: '+254711000001', text: 'Habari' },
      });
    failNext = true;
    const lost = await send();
    expect(lost.statusCode).toBe(503);
    expect(lost.json().code).toBe('HF_DATABASE_UNAVAILABLE');
    const retry = await send();
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(
      await rows(sql`select count(*)::text as n from app.message_log where account_id = ${account.id}::uuid`),
    ).toBe(1);
    expect(retry.json().messageId).toBe(
      resultRows<{ id: string }>(
        await database.db.execute(sql`select id::text from app.message_log where account_id = ${account.id}::uuid`),
      )[0]!.id,
    );
    expect(await rows(sql`select count(*)::text as n from webhooks.deliveries where account_id = ${account.id}`)).toBe(
      1,
    );
  });

  it('a send that fails before it commits leaves no message and no key: the retry is sent once', async () => {
    const { account, apiKey } = await signup(app);
    // Refused before the transaction (an invalid recipient).
    const restricted = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'bad-body' },
      payload: { sessionId: 'wa-1', to: 'not-a-number', text: 'x' },
    });
    expect(restricted.statusCode).toBe(400);
    expect(
      await rows(sql`select count(*)::text as n from app.idempotency_keys where account_id = ${account.id}::uuid`),
    ).toBe(0);
    expect(
      await rows(sql`select count(*)::text as n from app.message_log where account_id = ${account.id}::uuid`),
    ).toBe(0);
  });

  it('a send whose claim was dropped before it committed commits nothing: the retry sends it once (found by the soak on 2 cores)', async () => {
    // The soak on a slower machine: during a Postgres restart a send was answered early (its reply
    // already sent: FST_ERR_REP_ALREADY_SENT), its onSend dropped the uncompleted claim, and the
    // handler's transaction then committed the message with no key to answer for it; the client's
    // retry sent it again (242 messages for 240 keys, 41 of 40 for one account).
    const { account, apiKey } = await signup(app);
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'early-1' },
        payload: { sessionId: 'wa-1', to: '+254711000002', text: 'Habari' },
      });
    dropClaim = 'early-1';
    const first = await send();
    expect(first.statusCode).toBe(409);
    expect(first.json().code).toBe('HF_IDEMPOTENCY_KEY_IN_PROGRESS');
    expect(
      await rows(sql`select count(*)::text as n from app.message_log where account_id = ${account.id}::uuid`),
    ).toBe(0);
    const retry = await send();
    expect(retry.statusCode).toBe(202);
    expect(
      await rows(sql`select count(*)::text as n from app.message_log where account_id = ${account.id}::uuid`),
    ).toBe(1);
  });

  it('a send answered early while its handler still runs commits nothing: the retry sends it once', async () => {
    // The soak on 2 cores, again: the early answer's onSend gave the claim up and cleared the
    // request's tag, so the handler, still running, found no tag, completed nothing and committed
    // the message; the retry, finding no key, sent it a second time.
    const { account, apiKey } = await signup(app);
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'early-2' },
        payload: { sessionId: 'wa-1', to: '+254711000003', text: 'Habari' },
      });
    answerEarly = 'early-2';
    const first = await send();
    // The early 503, or (on PGlite, whose one connection holds the early answer's onSend until the
    // send's transaction ends) the 409 of the completion that found its claim given up.
    expect([503, 409]).toContain(first.statusCode);
    // The handler goes on after the answer: give it time to commit (or roll back).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      await rows(sql`select count(*)::text as n from app.message_log where account_id = ${account.id}::uuid`),
    ).toBe(0);
    const retry = await send();
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(
      await rows(sql`select count(*)::text as n from app.message_log where account_id = ${account.id}::uuid`),
    ).toBe(1);
  });
});
