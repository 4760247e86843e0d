import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, testApp } from './helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let logs: Awaited<ReturnType<typeof testApp>>['logs'];
beforeAll(async () => {
  database = await testDatabase();
  ({ app, logs } = await testApp(database, { trustProxy: ['10.0.0.0/8'] }));
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
type Page = { events: Record<string, unknown>[]; nextCursor: string | null };

async function read(query = '', headers: Record<string, string> = admin) {
  await app.audit.flush();
  return app.inject({ url: `/v1/audit/events${query}`, headers });
}

describe('GET /v1/audit/events', () => {
  it("is the admin's, and a customer's own trail only (issue 33 item 4, audit-trail.test.ts): 401 anonymous, 403 for another subject", async () => {
    const { account, apiKey } = await signup(app);
    expect((await read('', {})).statusCode).toBe(401);
    const other = await read(`?subjectId=${ADMIN_KEY.length}`, { authorization: `Bearer ${apiKey}` });
    expect(other.statusCode).toBe(403);
    expect(other.json().code).toBe('HF_AUTH_FORBIDDEN');
    const own = await read('', { authorization: `Bearer ${apiKey}` });
    expect(own.statusCode).toBe(200);
    expect((own.json() as Page).events.every((e) => e.subjectId === account.id)).toBe(true);
  });

  it('shows access events with IP (through the trusted proxy), device and subject, and audits each read', async () => {
    const { account, apiKey } = await signup(app);
    const ua =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    await app.inject({
      url: '/v1/me?debug=token-in-query',
      remoteAddress: '10.0.0.5',
      headers: { authorization: `Bearer ${apiKey}`, 'x-forwarded-for': '203.0.113.44', 'user-agent': ua },
    });
    const res = await read(`?subjectId=${account.id}`);
    expect(res.statusCode).toBe(200);
    const page = res.json() as Page;
    const me = page.events.find((e) => e.route === '/v1/me');
    expect(me).toMatchObject({
      kind: 'access',
      path: '/v1/me',
      status: 200,
      ip: '203.0.113.44',
      browserName: 'Chrome',
      osName: 'Windows',
      deviceType: 'desktop',
      subjectId: account.id,
    });
    expect(me).not.toHaveProperty('personalSalt');
    expect(JSON.stringify(page)).not.toContain('token-in-query');

    const reads = (await read('?action=audit.events.read')).json() as Page;
    expect(reads.events.length).toBeGreaterThanOrEqual(2);
    expect(reads.events[0]).toMatchObject({ kind: 'security', outcome: 'success', route: '/v1/audit/events' });
    expect(JSON.stringify(reads.events)).not.toContain(account.id); // the filter value is not copied into the log
  });

  it('pages with a keyset cursor and refuses bad queries with HF_ codes', async () => {
    for (let i = 0; i < 5; i++) await app.inject('/v1/ping');
    const first = (await read('?action=http.request&limit=2')).json() as Page;
    expect(first.events).toHaveLength(2);
    const second = (await read(`?action=http.request&limit=2&cursor=${first.nextCursor}`)).json() as Page;
    expect(second.events).toHaveLength(2);
    expect(second.events.map((e) => e.id)).not.toContain(first.events[0]!.id);
    expect(String(second.events[0]!.occurredAt) <= String(first.events[1]!.occurredAt)).toBe(true);

    const badCursor = await read('?cursor=not-a-cursor');
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().code).toBe('HF_AUDIT_INVALID_QUERY');
    const reversed = await read('?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(reversed.json()).toMatchObject({ statusCode: 400, code: 'HF_AUDIT_INVALID_QUERY' });
    expect((await read('?limit=5000')).statusCode).toBe(400);
    expect((await read('?unknown=1')).statusCode).toBe(400);
  });

  it("erases an account's personal fields when it is reported as a minor's, and the chain still verifies", async () => {
    const { account, apiKey } = await signup(app);
    await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } });
    await app.audit.flush();
    const report = await app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${account.id}/minor`,
      headers: admin,
      payload: {},
    });
    expect(report.statusCode).toBe(200);
    expect(report.json().counts).toHaveProperty('audit');
    const left = ((await read(`?subjectId=${account.id}`)).json() as Page).events;
    // What is left under the account id is the record of the erasure itself, with no IP or device.
    expect(left.map((e) => [e.action, e.ip, e.userAgent])).toEqual([['age_gate.minor_erased', null, null]]);
    const result = await app.audit.verify();
    expect(result.problems).toEqual([]);
  });

  it('keeps IPs and user agents out of the logs', () => {
    expect(logs.text()).not.toContain('203.0.113.44');
  });
});
