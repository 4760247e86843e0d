// Issue 29 item 4: the gate's per-request work was cut. A verified subject no longer makes Fastify
// build request.routeOptions (protection only matters without one), and when a cached status
// expires, the requests of that subject arriving before the answer share one query.
import ageGate, { ageGateMigrations, recordVerification, type AgeGateOptions } from '@harakaflow/age-gate';
import type { Database } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify, { type FastifyRequest } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const SECRET = 'age-gate-secret-0123456789abcdef0123456789';
let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [ageGateMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('age_gate'));
afterEach(() => vi.useRealTimers());

/** The test database, counting the queries started with `select` (the status lookup is one). */
function counted(db: Database) {
  const counter = { selects: 0 };
  const proxy = new Proxy(db, {
    get(target, property) {
      if (property === 'select') counter.selects++;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: proxy, counter };
}

async function gate(options: Partial<AgeGateOptions> = {}) {
  const app = Fastify();
  // Declared before the gate: protected by prefix all the same.
  app.get('/v1/early', async () => ({ ok: true }));
  await app.register(ageGate, {
    db: database.db,
    secrets: [SECRET],
    secure: false,
    protectPrefixes: ['/v1'],
    sweepIntervalMs: 0,
    subject: (request: FastifyRequest) => request.headers['x-subject'] as string | undefined,
    ...options,
  });
  app.get('/v1/things', async () => ({ ok: true }));
  app.get('/v1/open', { config: { ageGate: false } }, async () => ({ ok: true }));
  app.get('/elsewhere', async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('route protection, decided only when it matters', () => {
  it('answers every kind of subject on every kind of route as before', async () => {
    await recordVerification(database.db, 'adult', { verifiedAt: new Date(), method: 'self-declared', minimumAge: 18 });
    const app = await gate();
    await app.ageGate.reportMinor('minor', { reason: 'test', reportedBy: 'test' });
    const expected: Record<string, Record<string, number | string>> = {
      // subject:        protected, declared before, opted out, elsewhere, unknown under the prefix
      none: {
        '/v1/things': 'HF_AGE_GATE_REQUIRED',
        '/v1/early': 'HF_AGE_GATE_REQUIRED',
        '/v1/open': 200,
        '/elsewhere': 200,
        '/v1/nothing-here': 404,
      },
      adult: { '/v1/things': 200, '/v1/early': 200, '/v1/open': 200, '/elsewhere': 200, '/v1/nothing-here': 404 },
      unverified: {
        '/v1/things': 'HF_AGE_GATE_REQUIRED',
        '/v1/early': 'HF_AGE_GATE_REQUIRED',
        '/v1/open': 200,
        '/elsewhere': 200,
        '/v1/nothing-here': 404,
      },
      minor: {
        '/v1/things': 'HF_AGE_GATE_RESTRICTED',
        '/v1/early': 'HF_AGE_GATE_RESTRICTED',
        '/v1/open': 'HF_AGE_GATE_RESTRICTED',
        '/elsewhere': 'HF_AGE_GATE_RESTRICTED',
        '/v1/nothing-here': 'HF_AGE_GATE_RESTRICTED',
      },
    };
    // Twice: the first answers from a lookup, the second from the cache.
    for (let pass = 0; pass < 2; pass++) {
      for (const [subject, routes] of Object.entries(expected)) {
        for (const [url, answer] of Object.entries(routes)) {
          const response = await app.inject({ url, headers: subject === 'none' ? {} : { 'x-subject': subject } });
          const got = response.statusCode === 403 ? response.json().code : response.statusCode;
          expect(got, `${subject} ${url} (pass ${pass})`).toBe(answer);
        }
      }
    }
    await app.close();
  });
});

describe('status lookups', () => {
  it('sends one query for the concurrent requests of a subject whose status is not cached', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await recordVerification(database.db, 'adult', { verifiedAt: new Date(), method: 'self-declared', minimumAge: 18 });
    const { db, counter } = counted(database.db);
    const app = await gate({ db, statusCacheMs: 1000 });
    const burst = async () => {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => app.inject({ url: '/v1/things', headers: { 'x-subject': 'adult' } })),
      );
      expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    };
    counter.selects = 0;
    await burst();
    expect(counter.selects).toBe(1);
    await burst(); // cached
    expect(counter.selects).toBe(1);
    vi.setSystemTime(Date.now() + 1001); // expired: one more query for the next burst
    await burst();
    expect(counter.selects).toBe(2);
    await app.close();
  });

  it('restricts a subject on this replica as soon as the report returns, with a lookup in flight', async () => {
    await recordVerification(database.db, 'kid', { verifiedAt: new Date(), method: 'self-declared', minimumAge: 18 });
    const app = await gate({ statusCacheMs: 60_000 });
    const inFlight = app.inject({ url: '/v1/things', headers: { 'x-subject': 'kid' } });
    await app.ageGate.reportMinor('kid', { reason: 'test', reportedBy: 'test' });
    expect([200, 403]).toContain((await inFlight).statusCode); // it raced the report: either answer
    const after = await app.inject({ url: '/elsewhere', headers: { 'x-subject': 'kid' } });
    expect(after.json().code).toBe('HF_AGE_GATE_RESTRICTED');
    expect((await app.ageGate.status('kid')).restricted).toBe(true);
    await app.close();
  });
});
