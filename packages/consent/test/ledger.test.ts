import { accountSubject } from '@harakaflow/core';
import { consentPersonalData } from '@harakaflow/consent';
import { consentRecords } from '@harakaflow/consent/internals';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { consentApp, consentCookieOf, consentMigrations } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [consentMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('consent'));
afterEach(() => {
  vi.useRealTimers();
});

const rows = () => database.db.select().from(consentRecords).orderBy(asc(consentRecords.createdAt));

/** An app whose subject is the `x-subject` header (stands in for an authenticated account). */
function subjectApp(options = {}) {
  return consentApp(database, {
    subject: (request: FastifyRequest) => request.headers['x-subject'] as string | undefined,
    ...options,
  });
}

async function flush(app: FastifyInstance) {
  // The ledger's batched writes are flushed by close(); tests close the app to read them.
  await app.close();
}

describe('the consent ledger', () => {
  it('records a decision before answering, with subject, policy version, categories, IP and user agent', async () => {
    const app = await subjectApp();
    const response = await app.inject({
      method: 'PUT',
      url: '/consent',
      payload: { analytics: true },
      headers: { 'x-subject': 'acct-1', 'user-agent': 'Mozilla/5.0 test' },
      remoteAddress: '203.0.113.7',
    });
    expect(response.statusCode).toBe(200);
    expect(await rows()).toEqual([
      expect.objectContaining({
        consentId: response.json().consentId,
        subjectId: 'acct-1',
        action: 'grant',
        source: 'user',
        policyVersion: '2025-01-01',
        categories: ['analytics'],
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0 test',
      }),
    ]);
    await app.close();
  });

  it('records refusal and withdrawal, and a GPC override once, off the request path', async () => {
    const app = await subjectApp();
    await app.inject({ method: 'PUT', url: '/consent', payload: { analytics: false } });
    await app.inject({ method: 'DELETE', url: '/consent' });
    const first = await app.inject({ url: '/page', headers: { 'sec-gpc': '1' } });
    await app.inject({ url: '/page', headers: { 'sec-gpc': '1', cookie: consentCookieOf(first.headers)! } });
    await flush(app);
    const recorded = await rows();
    expect(recorded.map((r) => r.action).sort()).toEqual(['gpc', 'refuse', 'withdraw']);
    // The person's own decisions are committed in order, with millisecond times.
    const refuse = recorded.find((r) => r.action === 'refuse')!;
    const withdraw = recorded.find((r) => r.action === 'withdraw')!;
    expect(withdraw.createdAt.getTime()).toBeGreaterThanOrEqual(refuse.createdAt.getTime());
  });

  it('is append-only in the database itself: UPDATE and DELETE are refused', async () => {
    const app = await subjectApp();
    await app.inject({
      method: 'PUT',
      url: '/consent',
      payload: { analytics: true },
      headers: { 'x-subject': 'acct-2' },
    });
    await app.close();
    await expect(database.db.update(consentRecords).set({ categories: [] })).rejects.toThrow();
    await expect(database.db.delete(consentRecords)).rejects.toThrow();
    expect(await rows()).toHaveLength(1);
  });

  it('exports and erases one subject’s rows through the personal-data handler, and only theirs', async () => {
    const app = await subjectApp();
    await app.inject({
      method: 'PUT',
      url: '/consent',
      payload: { analytics: true },
      headers: { 'x-subject': 'acct-3' },
    });
    await app.inject({
      method: 'PUT',
      url: '/consent',
      payload: { analytics: false },
      headers: { 'x-subject': 'acct-3' },
    });
    await app.inject({
      method: 'PUT',
      url: '/consent',
      payload: { analytics: true },
      headers: { 'x-subject': 'acct-4' },
    });
    await app.close();
    const { ConsentLedger } = await import('@harakaflow/consent/internals');
    const handler = consentPersonalData(database.db, new ConsentLedger(database.db, app.log));
    const exported = (await handler.exportSubject(accountSubject('acct-3'))) as { records: { action: string }[] };
    expect(exported.records.map((r) => r.action).sort()).toEqual(['grant', 'refuse']);
    expect(await handler.eraseSubject(accountSubject('acct-3'))).toEqual({ erased: 2 });
    expect(await handler.eraseSubject(accountSubject('acct-3'))).toEqual({ erased: 0 });
    expect((await rows()).map((r) => r.subjectId)).toEqual(['acct-4']);
  });
});

describe('policy changes (§11) with fake time', () => {
  const policies = [
    { version: 'v1', publishedAt: '2025-01-01T00:00:00Z', effectiveAt: '2025-01-01T00:00:00Z', material: true },
    { version: 'v2', publishedAt: '2026-05-01T00:00:00Z', effectiveAt: '2026-05-15T00:00:00Z', material: true },
  ];

  it('announces, then asks again after a material change, and records continued use once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-04-20T00:00:00Z'));
    const app = await subjectApp({ policies });
    const { headers } = await app.inject({ method: 'PUT', url: '/consent', payload: { analytics: true } });
    const cookie = consentCookieOf(headers)!;

    expect((await app.inject({ url: '/consent', headers: { cookie } })).json()).toMatchObject({
      upcomingPolicy: null,
      policyVersion: 'v1',
    });

    vi.setSystemTime(new Date('2026-05-02T00:00:00Z'));
    const notice = (await app.inject({ url: '/consent', headers: { cookie } })).json();
    expect(notice).toMatchObject({
      needsReacceptance: false,
      categories: ['essential', 'analytics'],
      upcomingPolicy: { version: 'v2', effectiveAt: '2026-05-15T00:00:00.000Z' },
    });

    vi.setSystemTime(new Date('2026-05-15T00:00:00Z'));
    const after = await app.inject({ url: '/page', headers: { cookie } });
    expect(after.json().consent).toMatchObject({
      needsReacceptance: true,
      categories: ['essential'],
      upcomingPolicy: null,
    });
    expect([after.headers['set-cookie']].flat().some((h) => String(h).startsWith('hf_aid='))).toBe(false);

    // An authenticated subject keeps using the service: acceptance recorded once, however many requests.
    for (let i = 0; i < 3; i++) await app.inject({ url: '/page', headers: { cookie, 'x-subject': 'acct-9' } });
    const reaccepted = await app.inject({
      method: 'PUT',
      url: '/consent',
      payload: { analytics: true },
      headers: { cookie, 'x-subject': 'acct-9' },
    });
    expect(reaccepted.json()).toMatchObject({
      needsReacceptance: false,
      policyVersion: 'v2',
      categories: ['essential', 'analytics'],
    });
    await flush(app);
    // Time is frozen, so rows share timestamps: compare them sorted.
    expect((await rows()).map((r) => [r.action, r.policyVersion, r.subjectId]).sort()).toEqual([
      ['continued-use', 'v2', 'acct-9'],
      ['grant', 'v1', null],
      ['reaccept', 'v2', 'acct-9'],
    ]);
  });
});

describe.skipIf(!postgresUrl)('across replicas on real Postgres', () => {
  it('records continued use once even when two instances see the subject at once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T00:00:00Z'));
    const policies = [
      { version: 'v1', publishedAt: '2025-01-01', effectiveAt: '2025-01-01', material: true },
      { version: 'v2', publishedAt: '2026-05-01', effectiveAt: '2026-05-15', material: true },
    ];
    const [a, b] = await Promise.all([subjectApp({ policies }), subjectApp({ policies })]);
    await Promise.all([a, b, a, b].map((app) => app.inject({ url: '/page', headers: { 'x-subject': 'acct-r' } })));
    await Promise.all([flush(a), flush(b)]);
    const recorded = await database.db.select().from(consentRecords).where(eq(consentRecords.subjectId, 'acct-r'));
    expect(recorded.map((r) => r.action)).toEqual(['continued-use']);
    const count = (await database.db.execute(sql`select count(*)::int as n from consent.records`)) as unknown as {
      n: number;
    }[];
    expect(count[0]!.n).toBe(1);
  });
});
