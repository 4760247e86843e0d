import { createDatabase } from '@harakaflow/db';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkUrl, DestinationError, safeLookup } from '../src/destination.js';
import { memorySecretStore, verifyWebhook, WebhookService, webhooksMigrations } from '../src/index.js';
import { RETRY_SCHEDULE_MS } from '../src/internals.js';
import { send } from '../src/send.js';

let db: TestDatabase;
let server: Server;
let base: string;
interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}
const received: Received[] = [];
let answer: (req: IncomingMessage) => { status: number; headers?: Record<string, string>; delayMs?: number } = () => ({
  status: 204,
});

beforeAll(async () => {
  db = await testDatabase({ migrations: [webhooksMigrations] });
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const a = answer(req);
      setTimeout(() => {
        res.writeHead(a.status, a.headers).end('ok');
      }, a.delayMs ?? 0);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.close();
  await db.close();
});
beforeEach(async () => {
  received.length = 0;
  answer = () => ({ status: 204 });
  await db.truncate('webhooks');
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const local = { allowHttp: true, allowPrivate: true };
const service = (over: Partial<ConstructorParameters<typeof WebhookService>[0]> = {}) =>
  new WebhookService({
    db: db.db,
    secrets: memorySecretStore(),
    policy: local,
    eventTypes: ['message.accepted', 'quota.warning'],
    ...over,
  });
const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await db.db.execute(query)) as unknown as Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};

describe('destinations (SSRF)', () => {
  it('refuses http, credentials, and loopback, private, link-local and metadata addresses', () => {
    const refused = [
      'http://example.com/hook',
      'https://user:pass@example.com/hook',
      'https://127.0.0.1/hook',
      'https://[::1]/hook',
      'https://10.1.2.3/hook',
      'https://192.168.1.10/hook',
      'https://172.16.0.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[fe80::1]/hook',
      'https://[fd00::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://100.64.0.1/hook',
      'https://0.0.0.0/hook',
      'https://localhost/hook',
      'https://intranet/hook',
      'ftp://example.com/x',
      'not a url',
    ];
    for (const url of refused) expect(() => checkUrl(url), url).toThrow(DestinationError);
    expect(checkUrl('https://hooks.example.com/a?b=1').hostname).toBe('hooks.example.com');
    expect(checkUrl('https://8.8.8.8/hook').hostname).toBe('8.8.8.8');
  });

  it('refuses a host name that resolves to loopback or a private address, at connection time', async () => {
    for (const host of ['localhost', hostname()]) {
      const error = await new Promise<Error | null>((resolve) =>
        safeLookup({})(host, { all: true }, (e) => resolve(e)),
      );
      expect(error, host).toBeInstanceOf(DestinationError);
    }
    // The socket's own lookup refuses it, so nothing is connected to.
    const port = (server.address() as { port: number }).port;
    const before = received.length;
    const result = await send(`https://${hostname()}:${port}/x`, {}, '{}', {});
    expect(result).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/HF_WEBHOOK_DESTINATION_REFUSED|not a public host/),
    });
    expect(received.length).toBe(before);
  });

  it('lets private destinations through only when allowed (development)', () => {
    expect(() => checkUrl(`${base}/hook`, { allowHttp: true })).toThrow(DestinationError);
    expect(checkUrl(`${base}/hook`, local).port).not.toBe('');
  });
});

describe('endpoints and deliveries', () => {
  it('creates an endpoint with a whsec_ secret kept out of the webhooks tables, and delivers signed events', async () => {
    const secrets = memorySecretStore();
    const s = service({ secrets });
    const { endpoint, secret } = await s.create('acct-1', { url: `${base}/hook`, events: ['message.accepted'] });
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await rows(sql`select * from webhooks.endpoints`))).not.toContain(secret.slice(6));
    expect(await s.emit('acct-1', 'message.accepted', { messageId: 'm1' })).toBe(1);
    expect(await s.emit('acct-1', 'quota.warning', { quota: 'messages' })).toBe(0); // not subscribed
    expect(await s.emit('acct-2', 'message.accepted', {})).toBe(0);
    expect(await s.dispatch()).toBe(1);
    expect(received).toHaveLength(1);
    const got = received[0]!;
    expect(got.headers['content-type']).toBe('application/json');
    expect(verifyWebhook(got.body, got.headers, secret)).toMatchObject({ ok: true });
    expect(JSON.parse(got.body)).toMatchObject({ type: 'message.accepted', data: { messageId: 'm1' } });
    const [delivery] = await rows(sql`select status, attempts, last_status_code from webhooks.deliveries`);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 204 });
    expect(await rows(sql`select status_code from webhooks.attempts`)).toEqual([{ status_code: 204 }]);
    expect(await s.dispatch()).toBe(0);
    expect((await s.list('acct-1')).map((e) => e.id)).toEqual([endpoint.id]);
    expect(await s.list('acct-2')).toEqual([]);
  });

  it('refuses bad endpoint input with HF_WEBHOOK_INVALID_ENDPOINT or HF_WEBHOOK_DESTINATION_REFUSED', async () => {
    const s = service({ policy: {} });
    await expect(s.create('a', { url: 'https://127.0.0.1/x', events: ['message.accepted'] })).rejects.toMatchObject({
      code: 'HF_WEBHOOK_DESTINATION_REFUSED',
      statusCode: 400,
    });
    const open = service();
    await expect(open.create('a', { url: `${base}/x`, events: [] })).rejects.toMatchObject({
      code: 'HF_WEBHOOK_INVALID_ENDPOINT',
    });
    await expect(open.create('a', { url: `${base}/x`, events: ['nope'] })).rejects.toMatchObject({
      code: 'HF_WEBHOOK_INVALID_ENDPOINT',
    });
  });

  it('signs with the new and the old secret during the overlap after a rotation, then with the new only', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T00:00:00Z'));
    const s = service();
    const { endpoint, secret: old } = await s.create('acct-1', { url: `${base}/hook`, events: ['*'] });
    const rotated = await s.rotate('acct-1', endpoint.id);
    expect(rotated!.secret).not.toBe(old);
    expect(await s.rotate('acct-2', endpoint.id)).toBeNull();
    await s.emit('acct-1', 'message.accepted', {});
    await s.dispatch();
    const first = received.at(-1)!;
    expect(String(first.headers['webhook-signature']).split(' ')).toHaveLength(2);
    const at = Date.parse('2026-06-01T00:00:00Z');
    expect(verifyWebhook(first.body, first.headers, old, { now: at })).toMatchObject({ ok: true });
    expect(verifyWebhook(first.body, first.headers, rotated!.secret, { now: at })).toMatchObject({ ok: true });

    vi.setSystemTime(new Date('2026-06-02T00:00:01Z')); // 24 h later
    await s.emit('acct-1', 'message.accepted', {});
    await s.dispatch();
    const later = received.at(-1)!;
    expect(String(later.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyWebhook(later.body, later.headers, old).ok).toBe(false);
    expect(verifyWebhook(later.body, later.headers, rotated!.secret).ok).toBe(true);
  });

  it('retries on the schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), then gives up; redirects are not followed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.spyOn(Math, 'random').mockReturnValue(0); // no jitter: exact schedule
    let now = Date.parse('2026-06-01T00:00:00Z');
    vi.setSystemTime(now);
    answer = () => ({ status: 302, headers: { location: `${base}/elsewhere` } });
    const s = service();
    await s.create('acct-1', { url: `${base}/hook`, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', {});
    expect(await s.dispatch()).toBe(1);
    answer = () => ({ status: 500 });
    for (const delay of RETRY_SCHEDULE_MS) {
      vi.setSystemTime((now += delay - 1000));
      expect(await s.dispatch()).toBe(0); // a second early: not due
      vi.setSystemTime((now += 1000));
      expect(await s.dispatch()).toBe(1);
    }
    vi.setSystemTime((now += 100 * 3_600_000));
    expect(await s.dispatch()).toBe(0);
    const [delivery] = await rows(sql`select status, attempts, last_status_code from webhooks.deliveries`);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 8, last_status_code: 500 });
    expect(received.map((r) => r.headers.host)).not.toContain('elsewhere');
    expect(received).toHaveLength(8);
    expect((await rows(sql`select count(*)::int as n from webhooks.attempts`))[0]).toEqual({ n: 8 });
  });

  it('disables an endpoint that answers 410 and holds what it had pending (issue 34: nothing cancelled)', async () => {
    answer = () => ({ status: 410 });
    const disabled: { id: string; reason: string; held: number }[] = [];
    const s = service({ onDisabled: (e) => void disabled.push({ id: e.id, reason: e.reason, held: e.held }) });
    const { endpoint } = await s.create('acct-1', { url: `${base}/hook`, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', { n: 1 });
    await s.emit('acct-1', 'message.accepted', { n: 2 });
    await s.dispatch(1);
    expect(disabled).toEqual([{ id: endpoint.id, reason: 'gone', held: 2 }]);
    expect((await s.list('acct-1'))[0]).toMatchObject({
      status: 'disabled',
      disabledReason: expect.stringContaining('410'),
    });
    expect(await rows(sql`select status, last_status_code from webhooks.deliveries order by created_at`)).toEqual([
      { status: 'held', last_status_code: 410 },
      { status: 'held', last_status_code: null },
    ]);
    // Events while it is disabled are kept too, and nothing more is sent.
    expect(await s.emit('acct-1', 'message.accepted', {})).toBe(1);
    expect(await s.dispatch()).toBe(0);
    expect(received).toHaveLength(1);
  });

  it('records a timeout as an attempt with its code', async () => {
    answer = () => ({ status: 200, delayMs: 500 });
    const s = service({ sendTimeoutMs: 100 });
    await s.create('acct-1', { url: `${base}/hook`, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', {});
    await s.dispatch();
    expect(await rows(sql`select status_code, error from webhooks.attempts`)).toEqual([
      { status_code: null, error: 'ETIMEDOUT' },
    ]);
    expect((await rows(sql`select status from webhooks.deliveries`))[0]).toEqual({ status: 'pending' });
  });

  it('exports and erases an account: endpoints, secrets, deliveries, attempts', async () => {
    const secrets = memorySecretStore();
    const s = service({ secrets });
    const { endpoint } = await s.create('acct-1', { url: `${base}/hook`, events: ['*'] });
    await s.create('acct-2', { url: `${base}/hook`, events: ['*'] });
    await s.emit('acct-1', 'message.accepted', { messageId: 'm1' });
    await s.dispatch();
    const exported = await s.exportAccount('acct-1');
    expect(exported.endpoints).toHaveLength(1);
    expect(exported.deliveries).toMatchObject([
      { eventType: 'message.accepted', status: 'delivered', payload: { data: { messageId: 'm1' } } },
    ]);
    expect(JSON.stringify(exported)).not.toContain('whsec_');
    expect(await s.eraseAccount('acct-1')).toBe(2);
    expect(await secrets.get('acct-1', endpoint.id, 'current')).toBeNull();
    expect(await rows(sql`select count(*)::int as n from webhooks.attempts`)).toEqual([{ n: 0 }]);
    expect(await s.list('acct-2')).toHaveLength(1);
  });
});

describe.skipIf(!postgresUrl)('two dispatchers on real Postgres', () => {
  it('deliver each message exactly once', async () => {
    const secrets = memorySecretStore();
    const one = await createDatabase({ url: db.url, max: 4 });
    const two = await createDatabase({ url: db.url, max: 4 });
    try {
      const a = new WebhookService({ db: one.db, secrets, policy: local, eventTypes: ['message.accepted'] });
      const b = new WebhookService({ db: two.db, secrets, policy: local, eventTypes: ['message.accepted'] });
      await a.create('acct-1', { url: `${base}/hook`, events: ['*'] });
      for (let i = 0; i < 200; i++) await a.emit('acct-1', 'message.accepted', { i });
      const run = async (s: WebhookService) => {
        let total = 0;
        for (let n = await s.dispatch(10); n > 0; n = await s.dispatch(10)) total += n;
        return total;
      };
      const [ta, tb] = await Promise.all([run(a), run(b)]);
      expect(ta + tb).toBe(200);
      expect(ta).toBeGreaterThan(0);
      expect(tb).toBeGreaterThan(0);
      const ids = received.map((r) => r.headers['webhook-id']);
      expect(ids).toHaveLength(200);
      expect(new Set(ids).size).toBe(200);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
