// Issue 30 item 10 in the app: a restriction could never be lifted (cancel and deny answered 409
// once it was in force). Now the account lifts its own (`POST /v1/privacy/requests/:id/lift`) and
// the admin lifts one with a reason (`POST /v1/admin/privacy/requests/:id/lift`); both audited and
// notified, and messages flow again.
import { resultRows } from '@harakaflow/db';
import { render } from '@harakaflow/notify';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN_KEY, signup, testApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const send = (app: FastifyInstance, apiKey: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(apiKey),
    payload: { sessionId: 'wa-1', to: '+254711000009', text: 'hi' },
  });

describe('lifting a restriction', () => {
  it('by the account and by the admin with a reason: messages flow again, each lift audited and told to the account', async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const { account, apiKey } = await signup(app);
    const other = await signup(app);
    const restrict = async () => {
      const r = (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: bearer(apiKey),
          payload: { kind: 'restriction' },
        })
      ).json();
      expect(r.status).toBe('fulfilled');
      expect((await send(app, apiKey)).json().code).toBe('HF_DATA_RIGHTS_RESTRICTED');
      return r.id as string;
    };

    const first = await restrict();
    // What the account had before: cancel and deny refuse a restriction in force.
    expect(
      (await app.inject({ method: 'POST', url: `/v1/privacy/requests/${first}/cancel`, headers: bearer(apiKey) }))
        .statusCode,
    ).toBe(409);
    // Another account's request is not found.
    const theirs = await app.inject({
      method: 'POST',
      url: `/v1/privacy/requests/${first}/lift`,
      headers: bearer(other.apiKey),
    });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().code).toBe('HF_DATA_RIGHTS_NOT_FOUND');
    const lifted = await app.inject({
      method: 'POST',
      url: `/v1/privacy/requests/${first}/lift`,
      headers: bearer(apiKey),
    });
    expect(lifted.statusCode).toBe(200);
    expect(lifted.json().history.at(-1)).toMatchObject({ status: 'fulfilled', by: 'self', event: 'lifted' });
    expect((await send(app, apiKey)).statusCode).toBe(202);
    const twice = await app.inject({
      method: 'POST',
      url: `/v1/privacy/requests/${first}/lift`,
      headers: bearer(apiKey),
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('HF_DATA_RIGHTS_INVALID_TRANSITION');

    const second = await restrict();
    const noReason = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${second}/lift`,
      headers: admin,
      payload: {},
    });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().code).toBe('HF_VALIDATION_FAILED');
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/admin/privacy/requests/${second}/lift`,
          headers: bearer(apiKey),
          payload: { reason: 'x' },
        })
      ).statusCode,
    ).toBe(403);
    const byAdmin = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${second}/lift`,
      headers: admin,
      payload: { reason: 'processing is lawful again: the dispute is settled' },
    });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json().history.at(-1)).toMatchObject({
      by: 'admin',
      event: 'lifted',
      note: 'processing is lawful again: the dispute is settled',
    });
    expect((await send(app, apiKey)).statusCode).toBe(202);
    // Only a restriction lifts.
    const objection = (
      await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: bearer(apiKey),
        payload: { kind: 'objection' },
      })
    ).json();
    expect(
      (
        await app.inject({ method: 'POST', url: `/v1/privacy/requests/${objection.id}/lift`, headers: bearer(apiKey) })
      ).json().code,
    ).toBe('HF_DATA_RIGHTS_INVALID_REQUEST');

    // Audited, and the account told of each (an email and a webhook event, as every change).
    await app.audit.flush();
    const audited = await rows(sql`select resource from audit.events where action = 'data_rights.restriction.lifted'`);
    expect(audited.map((e) => e.resource).sort()).toEqual(
      [`privacy-request:${first}`, `privacy-request:${second}`].sort(),
    );
    const told = await rows(
      sql`select data from notify.outbox where account_id = ${account.id} and kind = 'privacy.request.updated'`,
    );
    const lifts = told
      .map((t) => t.data as { requestId: string; event: string | null; reason: string })
      .filter((d) => d.event === 'lifted');
    expect(lifts.map((d) => d.requestId).sort()).toEqual([first, second].sort());
    const byAdminData = lifts.find((d) => d.requestId === second)!;
    expect(byAdminData.reason).toBe('processing is lawful again: the dispute is settled');
    // What the email says: the restriction is lifted, and why (the admin's reason), or that the
    // account lifted it (no note of ours in its words: issue 32 item 7).
    const message = render('privacy.request.updated', byAdminData as unknown as Record<string, unknown>);
    expect(message.subject).toBe('HarakaFlow: the restriction of processing of your account is lifted');
    expect(message.text).toContain('The reason: processing is lawful again: the dispute is settled');
    const bySelfData = lifts.find((d) => d.requestId === first)! as unknown as Record<string, unknown>;
    expect(bySelfData).toMatchObject({ liftedBy: 'self' });
    expect(bySelfData.reason).toBeUndefined();
    expect(render('privacy.request.updated', bySelfData).text).toContain(
      'You lifted the restriction of processing of your account',
    );
    expect(render('privacy.request.updated', bySelfData, 'sw').text).toContain(
      'Umeondoa uzuiaji wa uchakataji wa data ya akaunti yako',
    );
  });
});
