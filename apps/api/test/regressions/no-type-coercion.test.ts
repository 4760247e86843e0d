// Issue 31 item 5: Fastify's default Ajv coerces types (coerceTypes: 'array'), so a body of the
// wrong type was stored as something else: PATCH /v1/privacy/profile {"name":true} stored the name
// "true", {"quota.warning":null} turned a notification off, an admin's `reason` of 42 or false was
// recorded as "42" or "false" (the minor report erased the account), and a string where a list was
// declared became a list of one. Bodies, path parameters and headers are now validated as sent;
// only the query string (always text) keeps the coercion its declared numbers and booleans need.
import { eq } from 'drizzle-orm';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { strictValidation } from '../../src/http/schema-types.js';
import { accounts } from '../../src/data/schema.js';
import { ADMIN_KEY, appForFile, signup } from '../helpers.js';

const under = appForFile();
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

function refused(res: { statusCode: number; json(): unknown }) {
  expect(res.statusCode).toBe(400);
  expect(res.json()).toMatchObject({ statusCode: 400, code: 'HF_VALIDATION_FAILED' });
}

describe('bodies are not coerced', () => {
  it('PATCH /v1/privacy/profile {"name":true} is 400 HF_VALIDATION_FAILED; the name is unchanged', async () => {
    const { app, database } = under;
    const { account, apiKey } = await signup(app, { name: 'Amina Otieno' });
    const auth = { authorization: `Bearer ${apiKey}` };
    for (const payload of [{ name: true }, { name: 42 }, { name: ['Amina'] }, { businessName: false }]) {
      refused(await app.inject({ method: 'PATCH', url: '/v1/privacy/profile', headers: auth, payload }));
    }
    const [row] = await database.db.select().from(accounts).where(eq(accounts.id, account.id));
    expect(row!.name).toBe('Amina Otieno');
    expect(row!.businessName).toBe('Otieno Logistics');
    // As sent, a string is still taken.
    const ok = await app.inject({
      method: 'PATCH',
      url: '/v1/privacy/profile',
      headers: auth,
      payload: { name: 'Amina W. Otieno' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().account.name).toBe('Amina W. Otieno');
  });

  it('the notification preferences refuse null, "false" and 0 for a boolean', async () => {
    const { app } = under;
    const { apiKey } = await signup(app);
    const auth = { authorization: `Bearer ${apiKey}` };
    for (const value of [null, 'false', 0, '']) {
      refused(
        await app.inject({
          method: 'PATCH',
          url: '/v1/notifications/preferences',
          headers: auth,
          payload: { 'quota.warning': value },
        }),
      );
    }
    expect(
      (await app.inject({ url: '/v1/notifications/preferences', headers: auth })).json().preferences['quota.warning'],
    ).toBe(true);
    const off = await app.inject({
      method: 'PATCH',
      url: '/v1/notifications/preferences',
      headers: auth,
      payload: { 'quota.warning': false },
    });
    expect(off.statusCode).toBe(200);
    expect(off.json().preferences['quota.warning']).toBe(false);
  });

  it('an admin’s reason refuses numbers and booleans: the request is not denied, the account not erased', async () => {
    const { app, database } = under;
    const filed = await app.inject({
      method: 'POST',
      url: '/v1/admin/privacy/requests',
      headers: admin,
      payload: { kind: 'access', email: 'someone@example.com' },
    });
    expect(filed.statusCode).toBe(202);
    const id = filed.json().id as string;
    for (const [path, payload] of [
      ['deny', { reason: 123 }],
      ['deny', { reason: true }],
      ['extend', { days: 10, reason: false }],
      ['extend', { days: '10', reason: 'the export is large' }],
      ['verify', { verification: 1 }],
      ['fulfil', { note: 0 }],
    ] as const) {
      refused(
        await app.inject({ method: 'POST', url: `/v1/admin/privacy/requests/${id}/${path}`, headers: admin, payload }),
      );
    }
    expect(
      (await app.inject({ url: `/v1/admin/privacy/requests?kind=access`, headers: admin }))
        .json()
        .requests.find((r: { id: string }) => r.id === id).status,
    ).toBe('open');

    const { account, apiKey } = await signup(app);
    for (const reason of [42, false])
      refused(
        await app.inject({
          method: 'POST',
          url: `/v1/admin/accounts/${account.id}/minor`,
          headers: admin,
          payload: { reason },
        }),
      );
    expect(await database.db.select().from(accounts).where(eq(accounts.id, account.id))).toHaveLength(1);
    expect((await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } })).statusCode).toBe(200);

    refused(
      await app.inject({
        method: 'POST',
        url: '/v1/admin/retention/holds',
        headers: admin,
        payload: { class: 'server_logs', reason: 7 },
      }),
    );
    // An unknown field is refused in a nested object too.
    refused(
      await app.inject({
        method: 'POST',
        url: '/v1/admin/retention/holds',
        headers: admin,
        payload: { subject: { kind: 'account', accountId: account.id, note: 'x' }, reason: 'dispute' },
      }),
    );
  });

  it('a string where a list is declared is not made a list of one', async () => {
    const { app } = under;
    const { apiKey } = await signup(app);
    refused(
      await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: { url: 'http://127.0.0.1:9/hook', events: '*' },
      }),
    );
  });
});

describe('the query keeps the coercion its declared types need', () => {
  it('a query `limit` declared integer takes "10"; "abc", "1.5" and two values are refused; a boolean takes "true"', async () => {
    const { app } = under;
    const ok = await app.inject({ url: '/v1/admin/privacy/requests?limit=10&overdue=false', headers: admin });
    expect(ok.statusCode).toBe(200);
    for (const query of ['limit=abc', 'limit=1.5', 'limit=1&limit=2', 'overdue=maybe', 'limit=0'])
      refused(await app.inject({ url: `/v1/admin/privacy/requests?${query}`, headers: admin }));
  });
});

describe('strictValidation, alone', () => {
  const app = Fastify({ ...strictValidation(), ajv: { customOptions: { removeAdditional: false } } });
  afterAll(() => app.close());
  app.post<{
    Body: { n: number; flag?: boolean };
    Querystring: { n?: number; list?: string[] };
    Params: { id: string };
  }>(
    '/thing/:id',
    {
      schema: {
        body: {
          type: 'object',
          required: ['n'],
          additionalProperties: false,
          properties: { n: { type: 'integer' }, flag: { type: 'boolean' } },
        },
        querystring: {
          type: 'object',
          properties: { n: { type: 'integer' }, list: { type: 'array', items: { type: 'string' } } },
        },
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 5 } } },
      },
    },
    async (request) => ({ body: request.body, query: request.query, id: request.params.id }),
  );

  it('validates bodies as sent, coerces declared query types, and keeps the server’s Ajv options', async () => {
    const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
    expect((await post('/thing/a', { n: 1, flag: true })).json()).toEqual({
      body: { n: 1, flag: true },
      query: {},
      id: 'a',
    });
    for (const body of [{ n: '1' }, { n: 1, flag: 'true' }, { n: 1, flag: null }, { n: [1] }])
      expect((await post('/thing/a', body)).statusCode, JSON.stringify(body)).toBe(400);
    // removeAdditional: false, from the server's options: an unknown field is refused, not dropped.
    expect((await post('/thing/a', { n: 1, extra: 1 })).statusCode).toBe(400);
    expect((await post('/thing/a?n=10&list=x', { n: 1 })).json().query).toEqual({ n: 10, list: ['x'] });
    expect((await post('/thing/a?n=ten', { n: 1 })).statusCode).toBe(400);
    expect((await post('/thing/abcdef', { n: 1 })).statusCode).toBe(400);
  });
});
