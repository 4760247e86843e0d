// Issue 33 item 4, "Each customer's own trail": GET /v1/audit/events with an account's key answers
// the events about that account (its keys used, credential reads, consent changes, sign-ins to the
// privacy centre, rights requests, bans), keyset-paginated like the admin's; the admin still sees
// everything; an account never sees another's events nor widens its filter; erased fields never
// come back.
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, testApp } from './helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const ORIGIN = 'https://api.harakaflow.test'; // testConfig's PUBLIC_URL
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);
type Event = Record<string, unknown> & { id: string; action: string; subjectId: string | null };
type Page = { events: Event[]; nextCursor: string | null };

async function read(query: string, headers: Record<string, string>) {
  await app.audit.flush();
  return app.inject({ url: `/v1/audit/events${query}`, headers });
}

/** Every event a principal sees, page by page (`limit` a page), newest first. */
async function all(headers: Record<string, string>, query = '', limit = 500): Promise<Event[]> {
  const seen: Event[] = [];
  let cursor: string | null = null;
  for (;;) {
    const res = await read(`?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`, headers);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json() as Page;
    seen.push(...page.events);
    if (!page.nextCursor) return seen;
    cursor = page.nextCursor;
  }
}

/** An account that did each thing the issue lists, from its own client address and browser. */
async function activeAccount(ip: string) {
  const { account, apiKey } = await signup(app);
  const ua = `Mozilla/5.0 (X11; Linux x86_64) Firefox/${ip.split('.').at(-1)}.0`;
  const as = (o: InjectOptions) =>
    app.inject({
      remoteAddress: '10.0.0.9',
      ...o,
      headers: { 'x-forwarded-for': ip, 'user-agent': ua, ...bearer(apiKey), ...o.headers },
    });
  // Its key used.
  expect((await as({ url: '/v1/me' })).statusCode).toBe(200);
  // A credential stored and read.
  expect(
    (
      await as({
        method: 'PUT',
        url: '/v1/whatsapp/sessions/wa-1/credentials/creds',
        payload: { value: { noiseKey: 'k' } },
      })
    ).statusCode,
  ).toBe(200);
  expect((await as({ url: '/v1/whatsapp/sessions/wa-1/credentials/creds' })).statusCode).toBe(200);
  // A sign-in to the privacy centre, and a consent change made there (the session's cookie).
  const signIn = await app.inject({
    method: 'POST',
    url: '/v1/privacy/session',
    remoteAddress: '10.0.0.9',
    headers: { origin: ORIGIN, 'x-forwarded-for': ip, 'user-agent': ua },
    payload: { apiKey },
  });
  expect(signIn.statusCode).toBe(201);
  const cookie = signIn.headers['set-cookie']!.toString().split(';')[0]!;
  const consent = await app.inject({
    method: 'PUT',
    url: '/v1/consent',
    remoteAddress: '10.0.0.9',
    headers: {
      cookie,
      origin: ORIGIN,
      'x-csrf-token': signIn.json().csrfToken,
      'x-forwarded-for': ip,
      'user-agent': ua,
    },
    payload: { analytics: true },
  });
  expect(consent.statusCode).toBe(200);
  // And one with its key.
  expect((await as({ method: 'PUT', url: '/v1/consent', payload: { analytics: false } })).statusCode).toBe(200);
  // A rights request.
  expect(
    (await as({ method: 'POST', url: '/v1/privacy/requests', payload: { kind: 'objection', details: 'no marketing' } }))
      .statusCode,
  ).toBe(202);
  // A ban on the account, then lifted (a banned key is refused everywhere, this route too).
  await app.quota.ban(account.id, 3600, 'test');
  expect((await as({ url: '/v1/me' })).statusCode).toBe(403);
  await app.quota.unban(account.id);
  return { account, apiKey, ip, ua, as };
}

describe.each([2, 3] as const)("an account's own trail, chain format %i", (auditChainVersion) => {
  beforeAll(async () => {
    ({ app } = await testApp(database, { trustProxy: ['10.0.0.0/8'], auditChainVersion }));
  });
  afterAll(() => app.close());
  let a: Awaited<ReturnType<typeof activeAccount>>;
  let b: Awaited<ReturnType<typeof activeAccount>>;
  let holdId: string;
  beforeAll(async () => {
    a = await activeAccount('203.0.113.10');
    b = await activeAccount('203.0.113.20');
    // A legal hold the admin placed on A: the operator's record, not in A's trail.
    const hold = await app.inject({
      method: 'POST',
      url: '/v1/admin/retention/holds',
      headers: admin,
      payload: { subjectId: a.account.id, reason: 'litigation 2026-17' },
    });
    expect(hold.statusCode).toBe(201);
    holdId = hold.json().id;
  });

  it('has each thing the issue lists, about this account only, with its own IP and browser', async () => {
    for (const x of [a, b]) {
      const other = x === a ? b : a;
      const events = await all(bearer(x.apiKey));
      const actions = new Set(events.map((e) => e.action));
      for (const action of [
        'http.request',
        'vault.secret.write',
        'vault.secret.read',
        'privacy.session.created',
        'consent.granted',
        'consent.refused',
        'data_rights.request.received',
        'quota.ban.applied',
        'quota.ban.lifted',
        'audit.events.read',
      ]) {
        expect(actions, action).toContain(action);
      }
      expect(events.every((e) => e.subjectId === x.account.id)).toBe(true);
      // Its key's use: the request to /v1/me, from its address and browser, through the trusted proxy.
      expect(events.find((e) => e.route === '/v1/me' && e.status === 200)).toMatchObject({
        kind: 'access',
        ip: x.ip,
        userAgent: x.ua,
        browserName: 'Firefox',
      });
      // The sign-in's access event too.
      expect(events.some((e) => e.route === '/v1/privacy/session' && e.method === 'POST' && e.status === 201)).toBe(
        true,
      );
      const text = JSON.stringify(events);
      for (const needle of [other.account.id, other.ip, other.ua, other.apiKey, x.apiKey, 'litigation'])
        expect(text).not.toContain(needle);
      expect(actions).not.toContain('retention.hold.placed');
    }
  });

  it('lets the admin see both, the hold included', async () => {
    for (const x of [a, b]) {
      const theirs = await all(admin, `&subjectId=${x.account.id}`);
      expect(theirs.every((e) => e.subjectId === x.account.id)).toBe(true);
      expect(theirs.map((e) => e.action)).toEqual(
        expect.arrayContaining([
          'vault.secret.read',
          'privacy.session.created',
          'consent.granted',
          'data_rights.request.received',
          'quota.ban.applied',
        ]),
      );
      const own = new Set((await all(bearer(x.apiKey))).map((e) => e.id));
      // Everything the account saw is in the admin's answer (but the account's reads made since).
      for (const e of theirs)
        if (e.action !== 'retention.hold.placed' && e.action !== 'audit.events.read')
          expect(own.has(e.id), e.action).toBe(true);
    }
    expect((await all(admin, `&subjectId=${a.account.id}`)).map((e) => e.action)).toContain('retention.hold.placed');
    const everything = new Set((await all(admin, '&action=vault.secret.read')).map((e) => e.subjectId));
    expect(everything).toContain(a.account.id);
    expect(everything).toContain(b.account.id);
  });

  it('pages with the keyset cursor like the admin’s, the same events as one page', async () => {
    const whole = (await all(bearer(a.apiKey), '', 500)).filter(
      (e) => e.action !== 'audit.events.read' && e.route !== '/v1/audit/events',
    );
    // (Less the reads themselves and their access events: each page adds them.)
    const mine = (e: Event) => e.action !== 'audit.events.read' && e.route !== '/v1/audit/events';
    const paged = (await all(bearer(a.apiKey), '', 3)).filter(mine);
    expect(paged.map((e) => e.id)).toEqual(whole.map((e) => e.id));
    expect(whole.length).toBeGreaterThan(10);
    // Filters narrow the account's own trail, never widen it.
    const reads = await all(bearer(a.apiKey), '&action=vault.secret.read');
    expect(reads.map((e) => [e.action, e.subjectId])).toEqual([['vault.secret.read', a.account.id]]);
    const since = whole.at(-1)!.occurredAt as string;
    expect(
      (await all(bearer(a.apiKey), `&from=${encodeURIComponent(since)}`)).every((e) => e.subjectId === a.account.id),
    ).toBe(true);
    expect((await read('?limit=501', bearer(a.apiKey))).statusCode).toBe(400);
    expect((await read('?cursor=nope', bearer(a.apiKey))).json().code).toBe('HF_AUDIT_INVALID_QUERY');
  });

  it("refuses another subject's filter (403 HF_AUTH_FORBIDDEN) and takes its own", async () => {
    for (const subjectId of [b.account.id, 'admin', '', ' ', `${a.account.id} `, a.account.id.toUpperCase()]) {
      const res = await read(`?subjectId=${encodeURIComponent(subjectId)}`, bearer(a.apiKey));
      expect([400, 403], subjectId).toContain(res.statusCode);
      expect(JSON.stringify(res.json())).not.toContain(b.account.id);
      if (subjectId === b.account.id) expect(res.json().code).toBe('HF_AUTH_FORBIDDEN');
    }
    const own = await read(`?subjectId=${a.account.id}`, bearer(a.apiKey));
    expect(own.statusCode).toBe(200);
    expect((own.json() as Page).events.every((e) => e.subjectId === a.account.id)).toBe(true);
    expect((await read('', {})).statusCode).toBe(401);
  });

  it('audits each read as an event of the account’s own trail, without the filter values', async () => {
    expect(
      (await a.as({ url: '/v1/audit/events?action=vault.secret.read&from=2026-01-01T00:00:00Z' })).statusCode,
    ).toBe(200);
    const reads = (await all(admin, `&subjectId=${a.account.id}&action=audit.events.read`, 5)).slice(0, 5);
    expect(reads[0]).toMatchObject({
      kind: 'security',
      subjectId: a.account.id,
      ip: a.ip,
      route: '/v1/audit/events',
      details: { scope: 'own' },
    });
    expect(JSON.stringify(reads)).not.toContain(b.account.id);
    const adminReads = (await read('?action=audit.events.read&limit=50', admin)).json() as Page;
    expect(
      adminReads.events.some((e) => (e.details as { scope?: string }).scope === 'all' && e.subjectId === null),
    ).toBe(true);
  });

  it('survives random queries: never a 5xx, never an event of another subject (fast-check)', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        b.account.id,
        a.account.id,
        '0',
        '-1',
        '501',
        '1e3',
        'null',
        '2026-13-01T00:00:00Z',
        '2026-01-01T00:00:00Z',
        '0000-01-01T00:00:00Z',
        '019b0000-0000-7000-8000-000000000000',
        'http.request',
        '__proto__',
      ),
    );
    const query = fc.dictionary(
      fc.constantFrom('subjectId', 'action', 'from', 'to', 'limit', 'cursor', 'other', 'subjectId[]'),
      value,
      { maxKeys: 4 },
    );
    await app.audit.flush();
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const res = await app.inject({
          url: `/v1/audit/events?${new URLSearchParams(q).toString()}`,
          headers: bearer(a.apiKey),
        });
        expect(res.statusCode, res.body).toBeLessThan(500);
        const body = res.json() as Page & { code?: string };
        if (res.statusCode === 200) expect(body.events.every((e) => e.subjectId === a.account.id)).toBe(true);
        else expect(body.code).toMatch(/^HF_/);
        // Nothing of the other account, but the account's own reads record the action filter it typed
        // (a UUID that starts with a letter is a valid action name): those details are its own words.
        const shown =
          res.statusCode === 200
            ? body.events.map((e) => (e.action === 'audit.events.read' ? { ...e, details: null } : e))
            : body;
        expect(JSON.stringify(shown)).not.toContain(b.account.id);
      }),
      { numRuns: 150 },
    );
  });

  it('never gives erased fields back: a deletion purge, and a minor’s erasure', async () => {
    const before = { a: await all(bearer(a.apiKey)), b: await all(bearer(b.apiKey)) };
    // A: the hold released, then its own deletion (purged at once in tests).
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/admin/retention/holds/${holdId}`, headers: admin })).statusCode,
    ).toBe(200);
    const deletion = await a.as({ method: 'POST', url: '/v1/privacy/requests', payload: { kind: 'deletion' } });
    expect(deletion.statusCode, deletion.body).toBe(202);
    await until(
      async () =>
        (await app.inject({ url: `/v1/admin/privacy/requests?kind=deletion&limit=200`, headers: admin }))
          .json()
          .requests.find((r: { id: string }) => r.id === deletion.json().id)?.status === 'fulfilled',
    );
    // B: reported as a minor's by the admin.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/admin/accounts/${b.account.id}/minor`,
          headers: admin,
          payload: {},
        })
      ).statusCode,
    ).toBe(200);
    await app.audit.flush();

    // Neither key reads anything any more.
    expect((await read('', bearer(a.apiKey))).statusCode).toBe(401);
    expect([401, 403]).toContain((await read('', bearer(b.apiKey))).statusCode);
    // The admin finds the events they had, each with its personal fields erased, under no subject.
    const since = [...before.a, ...before.b].map((e) => e.occurredAt as string).sort()[0]!;
    const now = await all(admin, `&from=${encodeURIComponent(since)}`);
    const byId = new Map(now.map((e) => [e.id, e]));
    for (const [who, x] of [
      ['a', a],
      ['b', b],
    ] as const) {
      for (const old of before[who]) {
        const e = byId.get(old.id);
        expect(e, `${old.action} ${old.id}`).toBeDefined();
        expect(e, old.action).toMatchObject({
          subjectId: null,
          ip: null,
          userAgent: null,
          path: null,
          resource: null,
          details: null,
        });
        // Format 3 interns the user agent with its parsed browser, OS and device: they go with it.
        // Format 2 keeps those coarse columns in the row (the package's erasure, unchanged here).
        if (auditChainVersion === 3)
          expect(e, old.action).toMatchObject({
            browserName: null,
            browserVersion: null,
            osName: null,
            deviceType: null,
          });
        expect(e!.erasedAt).toEqual(expect.any(String));
      }
      const left = await all(admin, `&subjectId=${x.account.id}`);
      // What is left under the id: the records of what was done to the subject, no IP, no browser.
      for (const e of left) expect([e.action, e.ip, e.userAgent]).toEqual([e.action, null, null]);
      const text = JSON.stringify(now);
      for (const needle of [x.ip, x.ua]) expect(text).not.toContain(needle);
    }
    const verified = await app.audit.verify();
    expect(verified.problems).toEqual([]);
  });
});
