// Found reviewing issue 33: GET /v1/audit/events/:id/proof with a well-formed UUID whose first 48
// bits read as a time past the year 9999 (any id from f0000000-... up, e.g. a v4 UUID) answered 500:
// eventLeaf first looks near the day the id's time falls in, and that day, '+010889-08' from
// toISOString, is no date for Postgres. Any account can send it. Such an id is no stored event: 404.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApp } from '../helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('an inclusion proof asked for an id no event can have', () => {
  it('is 404 HF_AUDIT_EVENT_NOT_FOUND, not a 500, for the account and the admin', async () => {
    const { apiKey } = await signup(app);
    for (const id of [
      'f0000000-0000-4000-8000-000000000000',
      'ffffffff-ffff-7fff-bfff-ffffffffffff',
      'e677d21f-dc00-7000-8000-000000000000',
    ]) {
      const res = await app.inject({
        url: `/v1/audit/events/${id}/proof`,
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(res.statusCode, `${id}: ${res.body}`).toBe(404);
      expect(res.json().code).toBe('HF_AUDIT_EVENT_NOT_FOUND');
    }
  });
});
