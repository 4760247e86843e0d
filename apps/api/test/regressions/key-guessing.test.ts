// Issue 12 item 7: a 401 was sent from auth's onRequest hook before any limit ran, so 300
// account-key guesses and 300 ADMIN_API_KEY guesses from one IP all got 401, each costing a
// database lookup, and no ban followed. Failed authentications now count against the client IP
// (QUOTA_AUTH_FAILURES_PER_MINUTE); past the limit the client is refused before its key is looked
// up, and those refusals count toward the ban escalation.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApp } from '../helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let selects = 0;

beforeAll(async () => {
  database = await testDatabase();
  // Every account lookup is a select: count them.
  const db = new Proxy(database.db, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (property === 'select') selects++;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  ({ app } = await testApp({ ...database, db } as TestDatabase, { quotaAuthFailuresPerMinute: 10, quotaBanAfter: 5 }));
});
afterAll(async () => {
  await app.close();
  await database.close();
});

async function guess(remoteAddress: string, token: string) {
  return app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` }, remoteAddress });
}

describe('key guessing is limited per client IP', () => {
  it('300 account-key guesses: at most 10 reach the lookup, then 429, then a ban that a valid key does not lift', async () => {
    const { apiKey } = await signup(app, {}, '198.51.100.200');
    const before = selects;
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++)
      statuses.push((await guess('198.51.100.7', `hf_live_${randomBytes(24).toString('base64url')}`)).statusCode);
    expect(selects - before).toBeLessThanOrEqual(10);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5); // QUOTA_BAN_AFTER refusals, then the ban
    expect(statuses.slice(15).every((s) => s === 403)).toBe(true);
    const banned = await guess('198.51.100.7', apiKey);
    expect(banned.statusCode).toBe(403);
    expect(banned.json().code).toBe('HF_QUOTA_BANNED');
    // Another client with the same key is served.
    expect((await guess('198.51.100.8', apiKey)).statusCode).toBe(200);
  });

  it('the admin key is guarded the same way', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++)
      statuses.push((await guess('198.51.100.9', randomBytes(32).toString('hex'))).statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    const limited = statuses[10]!;
    expect(limited).toBe(429);
    expect(statuses.at(-1)).toBe(403);
  });

  it('the refusal past the limit is in the one error shape with Retry-After', async () => {
    for (let i = 0; i < 10; i++) await guess('198.51.100.10', 'wrong-key');
    const refused = await guess('198.51.100.10', 'wrong-key');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ statusCode: 429, code: 'HF_QUOTA_EXCEEDED', error: 'Too Many Requests' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['x-request-id']).toBeTruthy();
  });
});
