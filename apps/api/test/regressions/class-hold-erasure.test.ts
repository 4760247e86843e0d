// Issue 30 item 2 in the app: a legal hold on an account for message_logs or server_logs did not
// stop that account's own deletion from erasing those rows (the request ended `fulfilled`, the rows
// gone), though the retention README says a hold keeps the rows "in every class (or in the class
// named)". Now the held classes stay through the deletion, the rest is erased, the receipt lists
// what was kept under which hold and why, and the kept rows go when each hold is released.
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN_KEY, signup, testApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const count = async (query: ReturnType<typeof sql>) =>
  Number(resultRows<{ n: number }>(await database.db.execute(query))[0]!.n);

describe('a class-scoped legal hold and the account’s own deletion', () => {
  it('keeps the held message logs and server logs, erases the rest, lists each hold in the receipt, and erases the kept rows at each release', async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const { account, apiKey } = await signup(app, { name: 'Held Person' });
    for (const to of ['+254733000001', '+254733000002']) {
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/messages',
            headers: { authorization: `Bearer ${apiKey}` },
            payload: { sessionId: 'wa-1', to, text: 'hi' },
          })
        ).statusCode,
      ).toBe(202);
    }
    await app.audit.flush();
    const place = async (className: string, reason: string) => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/admin/retention/holds',
        headers: admin,
        payload: { subject: { kind: 'account', accountId: account.id }, class: className, reason },
      });
      expect(res.statusCode).toBe(201);
      return res.json().id as string;
    };
    const messagesHold = await place('message_logs', 'dispute 2026-301: message records');
    const logsHold = await place('server_logs', 'regulator inquiry 77');
    const events = await count(sql`select count(*)::int as n from audit.events where subject_id = ${account.id}`);
    expect(events).toBeGreaterThan(0);

    // Purged at once in tests (DATA_RIGHTS_PURGE_AFTER_DAYS=0).
    const filed = (
      await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: { kind: 'deletion' },
      })
    ).json();
    await until(async () => (await app.dataRights.get(filed.id)).status === 'fulfilled');
    const done = await app.dataRights.get(filed.id);
    const line = (name: string) => done.receipt!.handlers.find((h) => h.name === name)!;
    expect(line('messages')).toMatchObject({
      erased: 0,
      kept: 2,
      holds: [{ id: messagesHold, class: 'message_logs', reason: 'dispute 2026-301: message records' }],
    });
    expect(line('messages').keptReason).toContain(`legal hold ${messagesHold} on message_logs: dispute 2026-301`);
    expect(line('audit')).toMatchObject({
      erased: 0,
      holds: [{ id: logsHold, class: 'server_logs', reason: 'regulator inquiry 77' }],
    });
    expect(line('audit').kept).toBeGreaterThan(0);
    expect(line('app').erased).toBeGreaterThan(0);
    // The account is gone; what the holds name is still there.
    expect(await count(sql`select count(*)::int as n from app.accounts where id = ${account.id}`)).toBe(0);
    expect(await count(sql`select count(*)::int as n from app.message_log where account_id = ${account.id}`)).toBe(2);
    expect(
      await count(sql`select count(*)::int as n from audit.events where subject_id = ${account.id}`),
    ).toBeGreaterThanOrEqual(events);

    // One hold released: its class goes (at the next sweep), the other stays.
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/admin/retention/holds/${messagesHold}`, headers: admin }))
        .statusCode,
    ).toBe(200);
    await until(
      async () => (
        await app.dataRights.releaseHeldErasures(),
        (await count(sql`select count(*)::int as n from app.message_log where account_id = ${account.id}`)) === 0
      ),
    );
    expect(
      await count(sql`select count(*)::int as n from audit.events where subject_id = ${account.id}`),
    ).toBeGreaterThan(0);
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/admin/retention/holds/${logsHold}`, headers: admin })).statusCode,
    ).toBe(200);
    await until(
      async () => (
        await app.dataRights.releaseHeldErasures(),
        (await count(sql`select count(*)::int as n from audit.events where subject_id = ${account.id}`)) === 0
      ),
    );
    const history = (await app.dataRights.get(filed.id)).history.filter((h) => h.event === 'hold-released');
    expect(history.map((h) => h.note?.split(':')[0]).sort()).toEqual(['audit', 'messages']);
    expect(await count(sql`select count(*)::int as n from data_rights.held_erasures`)).toBe(0);
  });
});
