// Issue 30 item 9: "People whose request the admin filed from an email are told nothing." A request
// filed from an email now tells that address at every step: received (and that we must confirm it
// is theirs), in progress, extended with the reason, fulfilled with the link or the receipt, denied
// with the reason. Against a real SMTP server.
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type Received, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, mailApp, signup } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));

async function smtpApp() {
  const { app, smtp } = await mailApp(database);
  const to = (address: string): Received[] => smtp.received.filter((m) => m.to.includes(address));
  /** Waits until `address` has received `n` messages; returns them all. */
  const mails = async (address: string, n: number) => {
    await until(async () => {
      while ((await app.notify.dispatch()) > 0);
      return to(address).length >= n;
    });
    return to(address);
  };
  return { app, mails };
}

async function act(app: FastifyInstance, id: string, action: string, payload: object) {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/admin/privacy/requests/${id}/${action}`,
    headers: admin,
    payload,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function file(app: FastifyInstance, payload: object): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/admin/privacy/requests', headers: admin, payload });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

const subjects = (list: Received[]) => list.map((m) => m.headers.subject);

describe('a request the admin filed from an email', () => {
  it('tells that address it was received and needs confirming, the extension with its reason, that it is in progress, and the export link', async () => {
    const { app, mails } = await smtpApp();
    const person = 'wanjiru.no-account@example.org';
    const id = await file(app, { kind: 'access', email: person });
    const [received] = await mails(person, 1);
    expect(received!.headers.subject).toBe(
      'HarakaFlow: we received your request and must confirm it is yours (access to your data)',
    );
    expect(received!.text).toContain(`Request ${id}.`);
    await act(app, id, 'extend', { days: 20, reason: 'we are checking your identity by post' });
    const extended = (await mails(person, 2))[1]!;
    expect(extended.headers.subject).toBe('HarakaFlow: we need more time for your request (access to your data)');
    expect(extended.text).toContain('The reason: we are checking your identity by post');
    await act(app, id, 'verify', { verification: 'replied from the address with the reference we sent' });
    const all = await mails(person, 4);
    // Both queued at once: either may arrive first.
    expect(subjects(all).slice(2).sort()).toEqual([
      'HarakaFlow: your data export is ready',
      'HarakaFlow: your request is in progress (access to your data)',
    ]);
    expect(all.find((m) => m.headers.subject === 'HarakaFlow: your data export is ready')!.text).toMatch(
      /https:\/\/api\.harakaflow\.test\/v1\/privacy\/exports\/[A-Za-z0-9_-]+/,
    );
    // Its last message queued, the request no longer keeps the address to tell.
    await until(
      async () => (await rows(sql`select reply_to from data_rights.requests where id = ${id}`))[0]!.reply_to === null,
    );
  });

  it('tells it a request is received, then in progress once confirmed, then denied with the reason', async () => {
    const { app, mails } = await smtpApp();
    const person = 'baraka.objects@example.org';
    const id = await file(app, { kind: 'objection', email: person, details: 'no profiling of my number' });
    await mails(person, 1);
    await act(app, id, 'verify', { verification: 'replied from the address' });
    await mails(person, 2);
    await act(app, id, 'deny', { reason: 'we do not profile anyone; nothing to stop' });
    const all = await mails(person, 3);
    expect(subjects(all)).toEqual([
      'HarakaFlow: we received your request and must confirm it is yours (objection to a use of your data)',
      'HarakaFlow: your request is in progress (objection to a use of your data)',
      'HarakaFlow: your request was declined (objection to a use of your data)',
    ]);
    expect(all[2]!.text).toContain('The reason: we do not profile anyone; nothing to stop');
  });

  it('tells it a deletion is received, in progress and done, with the signed receipt; the address goes with the data', async () => {
    const { app, mails } = await smtpApp();
    const person = 'njeri.erase-me@example.org';
    const id = await file(app, { kind: 'deletion', email: person, verification: 'replied from the address' });
    const all = await mails(person, 3);
    expect(subjects(all).sort()).toEqual([
      'HarakaFlow: we received your request (deletion of your data)',
      'HarakaFlow: your request is done (deletion of your data)',
      'HarakaFlow: your request is in progress (deletion of your data)',
    ]);
    expect(
      all.find((m) => m.headers.subject === 'HarakaFlow: your request is done (deletion of your data)')!.text,
    ).toContain(`"requestId":"${id}"`);
    // A hang guard, not a measurement: under a second suite a send can fail once and wait for its retry (a minute).
    await until(
      async () => (
        await app.notify.dispatch(),
        (await rows(sql`select 1 from notify.outbox where lower(address) = ${person}`)).length === 0
      ),
      600_000,
    );
    expect(JSON.stringify(await rows(sql`select * from data_rights.requests where id = ${id}`))).not.toContain(person);
  }, 600_000); // a hang guard, not a measurement

  it('tells the address a request about an account came from (replyTo), besides the account', async () => {
    const { app, mails } = await smtpApp();
    const { account } = await signup(app);
    const lawyer = 'advocate.for-the-account@example.org';
    const id = await file(app, {
      kind: 'objection',
      accountId: account.id,
      replyTo: lawyer,
      verification: 'signed letter on file',
    });
    await act(app, id, 'fulfil', { note: 'marketing off' });
    const all = await mails(lawyer, 2);
    expect(subjects(all).sort()).toEqual([
      'HarakaFlow: we received your request (objection to a use of your data)',
      'HarakaFlow: your request is done (objection to a use of your data)',
    ]);
    // Not a word of the account's in a message to another address.
    expect(all.map((m) => m.text).join('')).toContain('Hello there,');
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/admin/privacy/requests',
      headers: admin,
      payload: { kind: 'objection', accountId: account.id, replyTo: 'not an address' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('HF_DATA_RIGHTS_INVALID_REQUEST');
  });
});
