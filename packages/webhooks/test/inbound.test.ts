import { captureLogs, testDatabase, testRedis, type TestDatabase } from '@harakaflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import webhooks, {
  generateSecret,
  hubSignature,
  memorySecretStore,
  redisReplayStore,
  signWebhook,
  webhooksMigrations,
  type WebhooksOptions,
} from '../src/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [webhooksMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('webhooks'));

const SECRET = generateSecret();
const META_SECRET = 'meta-app-secret-0123456789';
let sideEffects: unknown[] = [];
let failNext = false;

async function app(options: Partial<WebhooksOptions> = {}) {
  const logs = captureLogs();
  const instance = Fastify({ logger: { level: 'info', stream: logs.stream }, bodyLimit: 4096 });
  await instance.register(webhooks, {
    db: db.db,
    secrets: memorySecretStore(),
    dispatch: false,
    replayStore: 'postgres',
    ...options,
  });
  instance.post('/hooks/std', { config: { webhook: { scheme: 'standard', secrets: [SECRET] } } }, async (request) => {
    if (failNext) {
      failNext = false;
      throw new Error('handler failed');
    }
    sideEffects.push(request.body);
    return { ok: true, id: request.webhook!.id };
  });
  instance.post(
    '/hooks/meta',
    { config: { webhook: { scheme: 'meta', secrets: () => [META_SECRET] } } },
    async (request) => {
      sideEffects.push(request.body);
      return { ok: true };
    },
  );
  instance.post('/plain', async (request) => ({ body: request.body, webhook: request.webhook }));
  await instance.ready();
  onTestFinished(() => instance.close());
  return { instance, logs };
}

beforeEach(() => {
  sideEffects = [];
  failNext = false;
});

let counter = 0;
function delivery(body = JSON.stringify({ type: 'message.status', n: ++counter })) {
  return {
    body,
    headers: {
      ...signWebhook({
        id: `msg_${process.pid}_${counter}_${Date.now()}`,
        timestamp: new Date(),
        payload: body,
        secrets: SECRET,
      }),
      'content-type': 'application/json',
    },
  };
}
const post = (a: FastifyInstance, url: string, d: { body: string; headers: Record<string, string> }) =>
  a.inject({ method: 'POST', url, payload: d.body, headers: d.headers });

describe('inbound Standard Webhooks', () => {
  it('verifies the raw bytes, then parses them for the handler', async () => {
    const { instance } = await app();
    const d = delivery();
    const res = await post(instance, '/hooks/std', d);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, id: d.headers['webhook-id'] });
    expect(sideEffects).toEqual([JSON.parse(d.body)]);
  });

  it('refuses a bad or missing signature with 401 and the code, without running the handler', async () => {
    const { instance, logs } = await app();
    const d = delivery();
    const tampered = await post(instance, '/hooks/std', { ...d, body: d.body.replace('"n":', '"n" :') });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json()).toMatchObject({ statusCode: 401, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
    const missing = await instance.inject({
      method: 'POST',
      url: '/hooks/std',
      payload: d.body,
      headers: { 'content-type': 'application/json' },
    });
    expect(missing.json()).toMatchObject({ statusCode: 401, code: 'HF_WEBHOOK_MISSING_HEADER' });
    const old = signWebhook({
      id: 'msg_old',
      timestamp: Math.floor(Date.now() / 1000) - 301,
      payload: d.body,
      secrets: SECRET,
    });
    expect(
      (
        await post(instance, '/hooks/std', { body: d.body, headers: { ...old, 'content-type': 'application/json' } })
      ).json().code,
    ).toBe('HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
    expect(sideEffects).toEqual([]);
    expect(logs.lines().some((l) => l.msg === 'webhook.inbound.refused')).toBe(true);
    expect(logs.text()).not.toContain(SECRET.slice(6));
  });

  it('runs the verifier first whatever the Content-Type says', async () => {
    const { instance } = await app();
    for (const type of [
      'Application/JSON',
      'application/json; charset=utf-8',
      'APPLICATION/JSON ; charset=UTF-8',
      'application/json\t',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
    ]) {
      const d = delivery();
      const forged = await instance.inject({
        method: 'POST',
        url: '/hooks/std',
        payload: d.body,
        headers: {
          ...d.headers,
          'content-type': type,
          'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
        },
      });
      expect(forged.statusCode, type).toBe(401);
      const genuine = await instance.inject({
        method: 'POST',
        url: '/hooks/std',
        payload: d.body,
        headers: { ...d.headers, 'content-type': type },
      });
      expect([200, 415], type).toContain(genuine.statusCode);
    }
    expect(sideEffects.length).toBeGreaterThanOrEqual(3); // the JSON variants reached the handler, verified
  });

  it('acknowledges a replay with 200 without running the handler again, and audits it', async () => {
    const { instance, logs } = await app();
    const d = delivery();
    expect((await post(instance, '/hooks/std', d)).statusCode).toBe(200);
    const again = await post(instance, '/hooks/std', d);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ duplicate: true });
    expect(sideEffects).toHaveLength(1);
    expect(logs.lines().filter((l) => l.msg === 'webhook.inbound.duplicate')).toHaveLength(1);
  });

  it('lets the retry of a delivery whose handler failed through', async () => {
    const { instance } = await app();
    const d = delivery();
    failNext = true;
    expect((await post(instance, '/hooks/std', d)).statusCode).toBe(500);
    expect((await post(instance, '/hooks/std', d)).statusCode).toBe(200);
    expect(sideEffects).toHaveLength(1);
  });

  it('shares seen deliveries across instances through Postgres', async () => {
    const a = await app();
    const b = await app();
    const d = delivery();
    expect((await post(a.instance, '/hooks/std', d)).json()).toMatchObject({ ok: true });
    expect((await post(b.instance, '/hooks/std', d)).json()).toEqual({ duplicate: true });
    expect(sideEffects).toHaveLength(1);
  });

  it('enforces the body limit while reading the raw bytes', async () => {
    const { instance } = await app();
    const d = delivery(JSON.stringify({ pad: 'x'.repeat(5000) }));
    expect((await post(instance, '/hooks/std', d)).statusCode).toBe(413);
    expect(sideEffects).toEqual([]);
  });

  it('leaves routes without config.webhook alone', async () => {
    const { instance } = await app();
    const res = await instance.inject({ method: 'POST', url: '/plain', payload: { a: 1 } });
    expect(res.json()).toEqual({ body: { a: 1 }, webhook: null });
  });
});

describe('inbound X-Hub-Signature-256 (Meta)', () => {
  it('verifies, refuses forgeries, and treats the same body again as a replay', async () => {
    const { instance } = await app();
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: String(++counter) }] });
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature(body, META_SECRET) };
    expect((await instance.inject({ method: 'POST', url: '/hooks/meta', payload: body, headers })).statusCode).toBe(
      200,
    );
    expect((await instance.inject({ method: 'POST', url: '/hooks/meta', payload: body, headers })).json()).toEqual({
      duplicate: true,
    });
    const forged = await instance.inject({
      method: 'POST',
      url: '/hooks/meta',
      payload: body,
      headers: { ...headers, 'x-hub-signature-256': hubSignature(body, 'another-secret') },
    });
    expect(forged.json()).toMatchObject({ statusCode: 401, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
    expect(sideEffects).toHaveLength(1);
  });
});

describe('options', () => {
  it('refuses bad options with HF_WEBHOOK_INVALID_OPTION naming the option', async () => {
    for (const [bad, name] of [
      [{ db: undefined }, 'db'],
      [{ eventTypes: ['NotDotted'] }, 'eventTypes'],
      [{ toleranceSeconds: 0 }, 'toleranceSeconds'],
      [{ replayStore: 'disk' }, 'replayStore'],
      [{ secrets: undefined }, 'secrets'],
      [{ disableAfterDays: 0 }, 'disableAfterDays'],
      [{ disableAfterDays: 1.5 }, 'disableAfterDays'],
      [{ disableAfterDays: 366 }, 'disableAfterDays'],
      [{ disableAfterDays: '5' }, 'disableAfterDays'],
      [{ onEndpointDisabled: 'email' }, 'onEndpointDisabled'],
    ] as const) {
      const instance = Fastify();
      await expect(
        instance
          .register(webhooks, {
            db: db.db,
            secrets: memorySecretStore(),
            dispatch: false,
            ...(bad as object),
          } as WebhooksOptions)
          .ready(),
      ).rejects.toMatchObject({
        code: 'HF_WEBHOOK_INVALID_OPTION',
        message: expect.stringContaining(`"${name}"`),
      });
      await instance.close();
    }
  });
});

describe('Redis replay store', async () => {
  const redis = await testRedis();
  it.skipIf(!redis)('claims once across stores, then remembers the delivery as done', async () => {
    onTestFinished(() => redis!.close());
    const one = redisReplayStore(redis!.client, redis!.prefix);
    const two = redisReplayStore(redis!.client, redis!.prefix);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).claim('msg_1', 10_000)));
    expect(results.filter((r) => r === 'new')).toHaveLength(1);
    await one.complete('msg_1', 10_000);
    expect(await two.claim('msg_1', 10_000)).toBe('done');
    await one.release('msg_1');
    expect(await two.claim('msg_1', 10_000)).toBe('new');
  });
});
