import ageGate, { ageGateMigrations, type AgeGateOptions } from '@harakaflow/age-gate';
import { erasures as ageGateErasures } from '../src/schema.js';
import { registerPersonalDataHandler } from '@harakaflow/core';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const SECRET = 'age-gate-secret-0123456789abcdef0123456789';
let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [ageGateMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('age_gate'));
afterEach(() => vi.useRealTimers());

const ADULT = '1990-01-01';
const CHILD = '2015-01-01';
const NEUTRAL = /^[^0-9]*$/;

interface Built {
  app: FastifyInstance;
  erased: string[];
}

/** Bare Fastify + cookie + age gate; subject from `x-subject`; a signup route and protected routes. */
async function gateApp(options: Partial<AgeGateOptions> = {}, failingHandler = false): Promise<Built> {
  const erased: string[] = [];
  const app = Fastify();
  await app.register(ageGate, {
    db: database.db,
    secrets: [SECRET],
    secure: false,
    protectPrefixes: ['/v1'],
    sweepIntervalMs: 0,
    subject: (request: FastifyRequest) => request.headers['x-subject'] as string | undefined,
    ...options,
  });
  let fail = failingHandler;
  registerPersonalDataHandler(app, {
    name: 'records',
    exportSubject: async () => ({}),
    eraseSubject: async (id) => {
      if (fail) {
        fail = false;
        throw new Error('database away');
      }
      erased.push(id);
      return { erased: 3 };
    },
  });
  app.post<{ Body: { dateOfBirth: unknown; subject?: string } }>(
    '/signup',
    { config: { ageGate: false } },
    async (request, reply) => {
      const verification = await app.ageGate.screen(request, reply, request.body.dateOfBirth);
      if (request.body.subject) await app.ageGate.recordVerification(database.db, request.body.subject, verification);
      return { verified: true, minimumAge: verification.minimumAge };
    },
  );
  app.get('/v1/things', async () => ({ ok: true }));
  app.get('/v1/open', { config: { ageGate: false } }, async () => ({ ok: true }));
  app.get('/elsewhere', async () => ({ ok: true }));
  await app.ready();
  return { app, erased };
}

const signup = (app: FastifyInstance, dateOfBirth: unknown, headers: Record<string, string> = {}, subject?: string) =>
  app.inject({ method: 'POST', url: '/signup', payload: { dateOfBirth, subject }, headers });

const blockCookie = (headers: Record<string, unknown>) => {
  const found = [headers['set-cookie'] ?? []]
    .flat()
    .map(String)
    .find((h) => h.startsWith('hf_age_block='));
  return found?.slice(0, found.indexOf(';'));
};

describe('the neutral screen', () => {
  it('lets an adult through and refuses a child neutrally, without revealing the threshold', async () => {
    const { app } = await gateApp();
    const adult = await signup(app, ADULT);
    expect(adult.statusCode).toBe(200);
    const child = await signup(app, CHILD);
    expect(child.statusCode).toBe(403);
    expect(child.json()).toMatchObject({
      code: 'HF_AGE_GATE_NOT_ELIGIBLE',
      message: 'We cannot create an account with the details provided.',
    });
    expect(child.json().message).toMatch(NEUTRAL);
    expect(child.body).not.toMatch(/18|eighteen|adult|minor|old enough/i);
    expect([child.headers['set-cookie']].flat()).toEqual([
      expect.stringMatching(/^hf_age_block=[^;]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Strict$/),
    ]);
    await app.close();
  });

  it('blocks a retry from that browser with another date, with the same neutral answer', async () => {
    const { app } = await gateApp();
    const refused = await signup(app, CHILD);
    const retry = await signup(app, ADULT, { cookie: blockCookie(refused.headers)! });
    expect(retry.statusCode).toBe(403);
    expect(retry.json()).toMatchObject({ code: 'HF_AGE_GATE_BLOCKED' });
    expect(retry.json().message).toBe(refused.json().message);
    // A forged or altered block cookie is no block (and no error)...
    const forged = await signup(app, ADULT, { cookie: blockCookie(refused.headers)!.replace(/.$/, 'A') + 'A' });
    expect(forged.statusCode).toBe(200);
    // ...and a forged duplicate placed first does not hide the real one.
    const both = await signup(app, ADULT, { cookie: `hf_age_block=forged.AAAA; ${blockCookie(refused.headers)}` });
    expect(both.json().code).toBe('HF_AGE_GATE_BLOCKED');
    await app.close();
  });

  it('can extend the block to the client IP (a keyed hash), off by default', async () => {
    const off = await gateApp();
    await signup(off.app, CHILD);
    expect((await signup(off.app, ADULT)).statusCode).toBe(200);
    await off.app.close();

    const { app } = await gateApp({ ipBlockSeconds: 3600 });
    await app.inject({
      method: 'POST',
      url: '/signup',
      payload: { dateOfBirth: CHILD },
      remoteAddress: '198.51.100.4',
    });
    const sameIp = await app.inject({
      method: 'POST',
      url: '/signup',
      payload: { dateOfBirth: ADULT },
      remoteAddress: '198.51.100.4',
    });
    expect(sameIp.json().code).toBe('HF_AGE_GATE_BLOCKED');
    const otherIp = await app.inject({
      method: 'POST',
      url: '/signup',
      payload: { dateOfBirth: ADULT },
      remoteAddress: '198.51.100.5',
    });
    expect(otherIp.statusCode).toBe(200);
    const stored = JSON.stringify(await database.db.execute('select * from age_gate.ip_blocks' as never));
    expect(stored).not.toContain('198.51.100.4');
    await app.close();
  });

  it('refuses an impossible date with 400 and sets no block', async () => {
    const { app } = await gateApp();
    const response = await signup(app, '2005-02-30');
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('HF_AGE_GATE_INVALID_DATE');
    expect(response.headers['set-cookie']).toBeUndefined();
    await app.close();
  });

  it('applies a per-country minimum age', async () => {
    const { app } = await gateApp({
      countries: { KR: 19 },
      country: (request) => request.headers['x-country'] as string | undefined,
    });
    const now = new Date();
    const eighteen = `${now.getUTCFullYear() - 18}-01-01`;
    expect((await signup(app, eighteen)).statusCode).toBe(200);
    expect((await signup(app, eighteen, { 'x-country': 'kr' })).json().code).toBe('HF_AGE_GATE_NOT_ELIGIBLE');
    await app.close();
  });
});

describe('route protection', () => {
  it('requires a verified subject under a protected prefix, unless the route opts out', async () => {
    const { app } = await gateApp();
    await signup(app, ADULT, {}, 'verified-1');
    expect((await app.inject('/v1/things')).json().code).toBe('HF_AGE_GATE_REQUIRED');
    expect((await app.inject({ url: '/v1/things', headers: { 'x-subject': 'never-verified' } })).json().code).toBe(
      'HF_AGE_GATE_REQUIRED',
    );
    expect((await app.inject({ url: '/v1/things', headers: { 'x-subject': 'verified-1' } })).statusCode).toBe(200);
    expect((await app.inject('/v1/open')).statusCode).toBe(200);
    expect((await app.inject('/elsewhere')).statusCode).toBe(200);
    await app.close();
  });
});

describe('a minor discovered later', () => {
  it('restricts at once, erases through every handler, records counts, and is idempotent', async () => {
    const { app, erased } = await gateApp();
    await signup(app, ADULT, {}, 'kid-1');
    expect((await app.inject({ url: '/v1/things', headers: { 'x-subject': 'kid-1' } })).statusCode).toBe(200);
    const report = await app.ageGate.reportMinor('kid-1', { reason: 'parent report', reportedBy: 'admin' });
    expect(report).toMatchObject({ subjectId: 'kid-1', status: 'done', counts: { records: 3, age_gate: 1 } });
    expect(erased).toEqual(['kid-1']);
    for (const url of ['/v1/things', '/v1/open', '/elsewhere']) {
      const response = await app.inject({ url, headers: { 'x-subject': 'kid-1' } });
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('HF_AGE_GATE_RESTRICTED');
    }
    expect(await app.ageGate.reportMinor('kid-1', { reason: 'again', reportedBy: 'admin' })).toEqual(report);
    expect(erased).toEqual(['kid-1']);
    expect((await app.ageGate.status('kid-1')).verified).toBe(false);
    await app.close();
  });

  it('restricts at once but erases only when due, under a delay', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T00:00:00Z'));
    const { app, erased } = await gateApp({ eraseAfterMs: 3_600_000 });
    const report = await app.ageGate.reportMinor('kid-2', { reason: 'found', reportedBy: 'support' });
    expect(report).toMatchObject({ status: 'pending', dueAt: '2026-06-01T01:00:00.000Z', counts: null });
    expect((await app.inject({ url: '/elsewhere', headers: { 'x-subject': 'kid-2' } })).json().code).toBe(
      'HF_AGE_GATE_RESTRICTED',
    );
    await app.ageGate.runDueErasures();
    expect(erased).toEqual([]);
    vi.setSystemTime(new Date('2026-06-01T01:00:01Z'));
    await app.ageGate.runDueErasures();
    expect(erased).toEqual(['kid-2']);
    await app.close();
  });

  it('resumes an erasure that failed or was interrupted', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T00:00:00Z'));
    const { app, erased } = await gateApp({}, true);
    const report = await app.ageGate.reportMinor('kid-3', { reason: 'found', reportedBy: 'support' });
    expect(report.status).toBe('running'); // a step failed: not done
    expect(erased).toEqual([]);
    await app.close();

    // A new process (a restart) picks it up once the claim is stale.
    vi.setSystemTime(new Date('2026-06-01T00:11:00Z'));
    const restarted = await gateApp();
    await restarted.app.ageGate.runDueErasures();
    expect(restarted.erased).toEqual(['kid-3']);
    const [job] = await database.db.select().from(ageGateErasures).where(eq(ageGateErasures.subjectId, 'kid-3'));
    expect(job).toMatchObject({ status: 'done', counts: { records: 3, age_gate: 1 } });
    await restarted.app.close();
  });
});

describe('registration', () => {
  it.each([
    [{ secrets: ['short'] }, 'secrets'],
    [{ db: undefined }, 'db'],
    [{ minimumAge: 0 }, 'minimumAge'],
    [{ countries: { kr: 19 } }, 'countries.kr'],
    [{ countries: { KR: 300 } }, 'countries.KR'],
    [{ timeZone: 'Mars/Olympus' }, 'timeZone'],
    [{ leapDayBirthday: 'feb-29' }, 'leapDayBirthday'],
    [{ protectPrefixes: ['v1'] }, 'protectPrefixes'],
    [{ eraseAfterMs: -1 }, 'eraseAfterMs'],
  ])('refuses %j naming the option', async (bad, option) => {
    const app = Fastify();
    await expect(
      app.register(ageGate, { db: database.db, secrets: [SECRET], ...bad } as never).ready(),
    ).rejects.toMatchObject({
      code: 'HF_AGE_GATE_INVALID_OPTION',
      message: expect.stringContaining(`"${option}"`),
    });
    await app.close();
  });
});
