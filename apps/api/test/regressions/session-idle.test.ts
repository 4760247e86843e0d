// Issue 30 item 11: a privacy-centre session lived 12 hours whatever happened; a browser left open
// on a shared computer stayed signed in all day. Now 30 minutes without a request also end it.
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_IDLE_MS } from '../../src/data/sessions.js';
import { signup, testApp } from '../helpers.js';

const ORIGIN = 'https://api.harakaflow.test'; // testConfig's PUBLIC_URL
let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
});
afterAll(async () => {
  await app.close();
  await database.close();
});

async function signIn() {
  const { account, apiKey } = await signup(app);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/privacy/session',
    headers: { origin: ORIGIN },
    payload: { apiKey },
  });
  expect(res.statusCode).toBe(201);
  const cookie = String(
    ([] as string[]).concat(res.headers['set-cookie'] as string[]).find((c) => c.startsWith('hf_session=')),
  ).split(';')[0]!;
  return { accountId: account.id, cookie };
}

/** Pretends the session's last request was `minutes` ago. */
const idleFor = (accountId: string, minutes: number) =>
  database.db.execute(
    sql`update app.sessions set last_seen_at = now() - make_interval(mins => ${minutes}) where account_id = ${accountId}::uuid`,
  );
const lastSeen = async (accountId: string) =>
  new Date(
    1000 *
      Number(
        resultRows<{ s: number }>(
          await database.db.execute(
            sql`select extract(epoch from last_seen_at)::float8 as s from app.sessions where account_id = ${accountId}::uuid`,
          ),
        )[0]!.s,
      ),
  );

describe('privacy-centre sessions end after 30 minutes idle', () => {
  it('a session idle for 31 minutes is over; the 12-hour expiry has not come', async () => {
    expect(SESSION_IDLE_MS).toBe(30 * 60_000);
    const { accountId, cookie } = await signIn();
    expect((await app.inject({ url: '/v1/privacy/session', headers: { cookie } })).statusCode).toBe(200);
    await idleFor(accountId, 31);
    const res = await app.inject({ url: '/v1/privacy/session', headers: { cookie } });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('HF_AUTH_REQUIRED');
    // Asking again does not revive it.
    expect((await app.inject({ url: '/v1/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('a request within 30 minutes keeps it going and moves its idle clock', async () => {
    const { accountId, cookie } = await signIn();
    await idleFor(accountId, 29);
    expect((await app.inject({ url: '/v1/privacy/session', headers: { cookie } })).statusCode).toBe(200);
    expect(Date.now() - (await lastSeen(accountId)).getTime()).toBeLessThan(60_000);
    await idleFor(accountId, 29);
    expect((await app.inject({ url: '/v1/me', headers: { cookie } })).statusCode).toBe(200);
  });
});
