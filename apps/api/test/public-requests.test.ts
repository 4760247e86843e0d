// Issue 32 item 2: a rights request without an account. POST /v1/privacy/public-requests sends a
// six-digit code to the address (never kept in the outbox) and answers the same whoever the address
// belongs to; POST .../:id/verify opens the request, its clock running from the submission; wrong,
// expired and over-tried codes have codes of their own; submissions are limited per client IP and
// per address; an account holder's verified address makes the request the account's.
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type Received, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, mailApp, signup, verifyByMail } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
let n = 0;
const address = (who: string) => `${who}.${process.pid}.${Date.now()}.${++n}@example.org`;

async function publicApp() {
  const { app, smtp, logs } = await mailApp(database);
  const sent = new Map<string, number>();
  /** The code of the next code message to `to` (the app's own dispatcher may be the one sending it). */
  const codeFor = async (to: string): Promise<string> => {
    const mails = () =>
      smtp.received.filter(
        (m: Received) => m.to.includes(to) && m.headers['x-harakaflow-notification'] === 'privacy.request.code',
      );
    await until(async () => (await app.notify.dispatch(), mails().length > (sent.get(to) ?? 0)));
    sent.set(to, mails().length);
    return /^(\d{6})\r?$/m.exec(mails().at(-1)!.text)![1]!;
  };
  const submit = (body: object, remoteAddress = '203.0.113.10') =>
    app.inject({ method: 'POST', url: '/v1/privacy/public-requests', payload: body, remoteAddress });
  const verify = (id: string, code: string) =>
    app.inject({ method: 'POST', url: `/v1/privacy/public-requests/${id}/verify`, payload: { code } });
  return { app, smtp, logs, codeFor, submit, verify };
}

const adminView = async (app: FastifyInstance, id: string) =>
  (await app.inject({ url: '/v1/admin/privacy/requests?limit=200', headers: admin }))
    .json()
    .requests.find((r: { id: string }) => r.id === id);

describe('a request without an account', () => {
  it('sends a code, opens the request when it is entered, from the submission, with the contact kept', async () => {
    const { app, smtp, codeFor, submit, verify, logs } = await publicApp();
    const email = address('wambui');
    const res = await submit({
      email,
      kind: 'access',
      contact: '+254711000222',
      details: 'Everything about my number',
    });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json();
    expect(Object.keys(res.json())).toEqual(['id']);
    expect(await adminView(app, id)).toBeUndefined();
    const code = await codeFor(email);
    const mail = smtp.received.find((m) => m.to.includes(email))!;
    expect(mail.headers.subject).toBe('HarakaFlow: your code to confirm your privacy request');
    expect(mail.text).toContain(`https://api.harakaflow.test/privacy/request/${id}`);
    expect(mail.text).toContain('A request about this address was made to HarakaFlow: access to your data.');
    expect(JSON.stringify(await rows(sql`select data from notify.outbox`))).not.toContain(code);
    const ok = await verify(id, code);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ id, kind: 'access' });
    const view = await adminView(app, id);
    expect(view).toMatchObject({
      id,
      kind: 'access',
      filedBy: 'self',
      contact: '+254711000222',
      subject: { kind: 'email', email },
      verification: expect.stringContaining('code'),
    });
    // The clock from the submission (the request's id is a UUIDv7 of that instant).
    expect(Date.parse(view.receivedAt)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(view.dueAt) - Date.parse(view.receivedAt)).toBe(30 * 86_400_000);
    expect(logs.text()).not.toContain(email);
    expect(logs.text()).not.toContain(code);
  });

  it('answers wrong, expired and over-tried codes with their own codes, and a new code works', async () => {
    const { app, codeFor, submit, verify } = await publicApp();
    const email = address('kamau');
    const { id } = (await submit({ email, kind: 'objection' })).json();
    const code = await codeFor(email);
    const wrong = code === '000000' ? '000001' : '000000';
    const bad = await verify(id, wrong);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ statusCode: 400, code: 'HF_DATA_RIGHTS_CODE_INVALID', error: 'Bad Request' });
    await database.db.execute(
      sql`update data_rights.verifications set code_expires_at = now() - interval '1 second' where request_id = ${id}`,
    );
    const expired = await verify(id, code);
    expect(expired.statusCode).toBe(410);
    expect(expired.json().code).toBe('HF_DATA_RIGHTS_CODE_EXPIRED');
    expect((await app.inject({ method: 'POST', url: `/v1/privacy/public-requests/${id}/code` })).statusCode).toBe(202);
    const fresh = await codeFor(email);
    for (let i = 0; i < 5; i++)
      expect((await verify(id, fresh === '999999' ? '999998' : '999999')).json().code).toBe(
        'HF_DATA_RIGHTS_CODE_INVALID',
      );
    const dead = await verify(id, fresh);
    expect(dead.statusCode).toBe(410);
    expect(dead.json().code).toBe('HF_DATA_RIGHTS_CODE_ATTEMPTS');
    // Unknown ids and malformed codes: the one answer, never a 500.
    for (const [path, payload] of [
      [`/v1/privacy/public-requests/0190aaaa-0000-7000-8000-000000000001/verify`, { code: '123456' }],
      [`/v1/privacy/public-requests/${id}/verify`, { code: 'abc' }],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: path, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('HF_DATA_RIGHTS_CODE_INVALID');
    }
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/public-requests/not-an-id/verify',
          payload: { code: '123456' },
        })
      ).json().code,
    ).toBe('HF_VALIDATION_FAILED');
  });

  it('answers the same for an account holder’s address as for anyone’s, and makes the request the account’s once the code is entered', async () => {
    const { app, smtp, codeFor, submit, verify } = await publicApp();
    const { account, apiKey } = await signup(app);
    await verifyByMail(app, smtp, account, apiKey);
    const holder = await submit({ email: account.email.toUpperCase(), kind: 'objection' });
    const stranger = await submit({ email: address('stranger'), kind: 'objection' });
    expect([holder.statusCode, stranger.statusCode]).toEqual([202, 202]);
    expect(Object.keys(holder.json())).toEqual(Object.keys(stranger.json()));
    const opened = await verify(holder.json().id, await codeFor(account.email.toLowerCase()));
    expect(opened.statusCode, opened.body).toBe(200);
    expect((await adminView(app, holder.json().id)).subject).toEqual({ kind: 'account', accountId: account.id });
    // The account sees it among its own.
    const own = await app.inject({ url: '/v1/privacy/requests', headers: { authorization: `Bearer ${apiKey}` } });
    expect(own.json().requests.map((r: { id: string }) => r.id)).toContain(holder.json().id);
  });

  it('limits submissions per address and per client IP (429 HF_QUOTA_EXCEEDED), and the store holds no address', async () => {
    const { submit } = await publicApp();
    const email = address('flooded');
    const from = (i: number) => `198.51.100.${i}`;
    for (let i = 0; i < 3; i++) expect((await submit({ email, kind: 'access' }, from(i))).statusCode).toBe(202);
    const perAddress = await submit({ email: email.toUpperCase(), kind: 'access' }, from(9));
    expect(perAddress.statusCode).toBe(429);
    expect(perAddress.json().code).toBe('HF_QUOTA_EXCEEDED');
    const ip = '192.0.2.77';
    const answers: number[] = [];
    for (let i = 0; i < 11; i++)
      answers.push((await submit({ email: address(`ip${i}`), kind: 'access' }, ip)).statusCode);
    expect(answers.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(answers[10]).toBe(429);
  });

  it('refuses bad bodies with 400 and the one error shape', async () => {
    const { submit } = await publicApp();
    for (const body of [
      { email: 'nope', kind: 'access' },
      { email: address('x'), kind: 'unclassified' },
      { email: address('x'), kind: 'access', contact: '0711' },
      { email: address('x'), kind: 'access', extra: 1 },
      { kind: 'access' },
    ]) {
      const res = await submit(body, '203.0.113.99');
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.json()).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
      expect(res.json().code).toBe('HF_VALIDATION_FAILED');
    }
  });
});
