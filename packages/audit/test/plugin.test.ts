import { securityEvent } from '@harakaflow/core';
import { captureLogs, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import audit, { auditMigrations, type AuditEvent, type AuditOptions } from '../src/index.js';
import { CHECKPOINT_KEY } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [auditMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('audit'));

async function build(options: Partial<AuditOptions> = {}, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const account = request.headers['x-account'];
    if (typeof account === 'string')
      (request as unknown as { principal: unknown }).principal = { kind: 'account', id: account };
  });
  await app.register(audit, {
    db: db.db,
    checkpointKeys: [CHECKPOINT_KEY],
    spillDir: false,
    flushIntervalMs: 5,
    ...options,
  });
  app.get('/health', async () => ({ ok: true }));
  app.get('/things/:id', async () => ({ ok: true }));
  app.post('/things/:id/read', async (request) => {
    await request.audit.record({
      action: 'thing.secret.read',
      resource: 'thing:1',
      outcome: 'success',
      details: { name: 'api' },
      durability: 'sync',
    });
    return { ok: true };
  });
  await app.ready();
  onTestFinished(() => app.close());
  return app;
}

async function events(app: FastifyInstance): Promise<AuditEvent[]> {
  await app.audit.flush();
  return (await app.audit.query({ limit: 500 })).events.reverse();
}

describe('access events', () => {
  it('records one event per request with route, path without query, status, duration, subject and device', async () => {
    const app = await build();
    const ua =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
    const res = await app.inject({
      url: '/things/42?token=secret-token-value',
      headers: { 'user-agent': ua, 'x-account': 'acct-7' },
    });
    expect(res.statusCode).toBe(200);
    await app.inject({ url: '/health' });
    await app.inject({ url: '/nowhere' });
    const [first, second, ...rest] = await events(app);
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      kind: 'access',
      action: 'http.request',
      method: 'GET',
      route: '/things/:id',
      path: '/things/42',
      status: 200,
      subjectId: 'acct-7',
      ip: '127.0.0.1',
      userAgent: ua,
      browserName: 'Safari',
      osName: 'iOS',
      deviceType: 'mobile',
      requestId: res.headers['request-id'] ?? first!.requestId,
    });
    expect(first!.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(first)).not.toContain('secret-token-value');
    expect(second).toMatchObject({ route: null, path: '/nowhere', status: 404, subjectId: null });
  });

  it('keeps the query string only when asked, and skips configured paths', async () => {
    const app = await build({ keepQuery: true, skip: ['/things/:id'] });
    await app.inject({ url: '/things/1?x=1' });
    await app.inject({ url: '/health?probe=1' });
    const list = await events(app);
    expect(list.map((e) => e.path)).toEqual(['/health?probe=1']);
  });

  it('never stores a spoofed X-Forwarded-For from an untrusted peer', async () => {
    const app = await build();
    await app.inject({
      url: '/things/1',
      remoteAddress: '198.51.100.20',
      headers: { 'x-forwarded-for': '203.0.113.99' },
    });
    const [e] = await events(app);
    expect(e!.ip).toBe('198.51.100.20');
  });

  it('takes the client from X-Forwarded-For when the proxy is trusted', async () => {
    const app = await build({}, { trustProxy: '10.0.0.0/8' });
    await app.inject({ url: '/things/1', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '203.0.113.99' } });
    await app.inject({
      url: '/things/1',
      remoteAddress: '198.51.100.20',
      headers: { 'x-forwarded-for': '203.0.113.99' },
    });
    await app.inject({
      url: '/things/1',
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': '::ffff:203.0.113.5' },
    });
    await app.inject({
      url: '/things/1',
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': '2001:db8::1:2:3:4' },
    });
    await app.inject({ url: '/things/1', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': 'not-an-ip' } });
    const list = await events(app);
    expect(list.map((e) => [e.ip, e.ipInvalid])).toEqual([
      ['203.0.113.99', false],
      ['198.51.100.20', false],
      ['203.0.113.5', false],
      ['2001:db8::1:2:3:4', false],
      [null, true],
    ]);
  });

  it('truncates or keys the address by ipMode', async () => {
    const truncated = await build({ ipMode: 'truncated' });
    await truncated.inject({ url: '/things/1', remoteAddress: '198.51.100.20' });
    await truncated.inject({ url: '/things/1', remoteAddress: '2001:db8:1:2:3:4:5:6' });
    expect((await events(truncated)).map((e) => e.ip)).toEqual(['198.51.100.0', '2001:db8:1:2::']);
    await db.truncate('audit');
    const hashed = await build({ ipMode: 'keyed-hash', ipHashKey: 'ip-hash-key-0123456789abcdef0123456789' });
    await hashed.inject({ url: '/things/1', remoteAddress: '198.51.100.20' });
    const [e] = await events(hashed);
    expect(e!.ip).toMatch(/^hmac:/);
  });

  it('keeps hostile header content inside one record', async () => {
    const logs = captureLogs();
    const app = await build({}, { logger: { level: 'info', stream: logs.stream } });
    const hostile = 'evil\r\n{"level":50,"msg":"forged"}\u001b[2J\u2028line\u0000nul' + 'x'.repeat(2000);
    await app.inject({ url: '/things/1', headers: { 'user-agent': hostile } });
    await app.inject({ url: '/things/%0d%0aforged' });
    const list = await events(app);
    expect(list).toHaveLength(2);
    expect(list[0]!.userAgent).toHaveLength(512);
    expect(list[0]!.userAgent!.startsWith('evil\r\n{"level":50')).toBe(true);
    expect(list[0]!.userAgent).toContain('\uFFFDnul');
    const count = (await db.db.execute(sql`select count(*)::int as n from audit.events`)) as unknown as
      { n: number }[] | { rows: { n: number }[] };
    expect((Array.isArray(count) ? count : count.rows)[0]!.n).toBe(2);
    for (const line of logs.lines()) expect(line).not.toContain('forged"}');
  });
});

describe('security events', () => {
  it('request.audit.record carries the request context; sync waits for the commit', async () => {
    const app = await build({ access: false });
    const res = await app.inject({
      method: 'POST',
      url: '/things/1/read',
      headers: { 'x-account': 'acct-1', 'user-agent': 'curl/8' },
    });
    expect(res.statusCode).toBe(200);
    const { events: list } = await app.audit.query({ action: 'thing.secret.read', limit: 10 });
    expect(list).toHaveLength(1); // committed before the response, without a flush
    expect(list[0]).toMatchObject({
      kind: 'security',
      resource: 'thing:1',
      outcome: 'success',
      subjectId: 'acct-1',
      route: '/things/:id/read',
      details: { name: 'api' },
    });
  });

  it('fastify.audit.record works outside a request, and core.securityEvent routes to it', async () => {
    const app = await build({ access: false });
    await app.audit.record({ action: 'quota.ban.applied', resource: 'ip:198.51.100.1', details: { minutes: 15 } });
    await securityEvent(app, undefined, { action: 'consent.granted', subjectId: 'acct-2' });
    const list = await events(app);
    expect(list.map((e) => [e.action, e.subjectId, e.ip])).toEqual([
      ['quota.ban.applied', null, null],
      ['consent.granted', 'acct-2', null],
    ]);
  });

  it('refuses badly named actions', async () => {
    const app = await build({ access: false });
    for (const action of ['', 'NoDots', 'has space.x', 'x.', 'a'.repeat(101) + '.b']) {
      await expect(app.audit.record({ action })).rejects.toMatchObject({ code: 'HF_AUDIT_INVALID_OPTION' });
    }
  });

  it('fails closed: a sync record whose write fails rejects, and the route answers 503', async () => {
    const broken = await testDatabase(); // no audit schema
    onTestFinished(() => broken.close());
    const app = Fastify();
    await app.register(audit, {
      db: broken.db,
      checkpointKeys: [CHECKPOINT_KEY],
      spillDir: false,
      access: false,
      retryBaseMs: 1000,
      retryMaxMs: 1000,
    });
    let ran = false;
    app.get('/secret', async (request) => {
      await request.audit.record({ action: 'vault.secret.read', durability: 'sync' });
      ran = true;
      return { value: 'secret' };
    });
    const res = await app.inject('/secret');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'HF_AUDIT_UNAVAILABLE' });
    expect(ran).toBe(false);
    await app.close();
  });
});

describe('lifecycle and options', () => {
  it('flushes everything on close', async () => {
    const app = Fastify();
    await app.register(audit, {
      db: db.db,
      checkpointKeys: [CHECKPOINT_KEY],
      spillDir: false,
      flushIntervalMs: 60_000,
      batchSize: 1000,
    });
    app.get('/x', async () => 'x');
    for (let i = 0; i < 25; i++) await app.inject('/x');
    await app.close();
    const count = (await db.db.execute(sql`select count(*)::int as n from audit.events`)) as unknown as
      { n: number }[] | { rows: { n: number }[] };
    expect((Array.isArray(count) ? count : count.rows)[0]!.n).toBe(25);
    const closed = (await db.db.execute(sql`select closed, count from audit.checkpoints`)) as unknown as
      { closed: boolean; count: number }[] | { rows: { closed: boolean; count: number }[] };
    expect(Array.isArray(closed) ? closed : closed.rows).toEqual([{ closed: true, count: 25 }]);
  });

  it('checks options at registration with HF_AUDIT_INVALID_OPTION naming the option', async () => {
    const cases: [Partial<AuditOptions>, string][] = [
      [{ db: undefined }, 'db'],
      [{ checkpointKeys: [] }, 'checkpointKeys'],
      [{ checkpointKeys: ['short'] }, 'checkpointKeys'],
      [{ ipMode: 'partial' as never }, 'ipMode'],
      [{ ipMode: 'keyed-hash' }, 'ipHashKey'],
      [{ batchSize: 0 }, 'batchSize'],
      [{ concurrency: 100 }, 'concurrency'],
      [{ batchSize: 100, maxBuffered: 10 }, 'maxBuffered'],
      [{ retryBaseMs: 500, retryMaxMs: 100 }, 'retryMaxMs'],
      [{ writerId: 'bad id\n' }, 'writerId'],
      [{ skip: '/health' as never }, 'skip'],
      [{ subject: 'acct' as never }, 'subject'],
      [{ spillDir: undefined as never }, 'spillDir'],
      [{ chainVersion: 4 as never }, 'chainVersion'],
      [{ copy: 'yes' as never }, 'copy'],
    ];
    for (const [bad, name] of cases) {
      const app = Fastify();
      await expect(
        app.register(audit, { db: db.db, checkpointKeys: [CHECKPOINT_KEY], spillDir: false, ...bad }).ready(),
      ).rejects.toMatchObject({
        code: 'HF_AUDIT_INVALID_OPTION',
        message: expect.stringContaining(`"${name}"`),
      });
      await app.close();
    }
  });
});
