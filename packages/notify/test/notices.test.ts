// Issue 34 item 4: a legal notice that did not reach the account is shown to it until acknowledged,
// and the account's export says which legal notices were given and how each went. A transport of
// the test's own stands in for the relay (accepting, or refusing with 550); reports come in through
// processBounceMessage.
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import notify, { notifyMigrations, type OutgoingMessage, type Recipient, type SendOutcome } from '../src/index.js';

let database: TestDatabase;
let app: FastifyInstance;
const people = new Map<string, Recipient>();
const sent: OutgoingMessage[] = [];
const refuse = new Set<string>();
let clock = Date.parse('2026-12-07T10:00:00Z');

beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
  app = Fastify();
  const transport = {
    description: 'test relay',
    send: async (m: OutgoingMessage): Promise<SendOutcome> => {
      sent.push(m);
      return refuse.has(m.to)
        ? { outcome: 'permanent', smtpCode: 550, error: 'EENVELOPE 550' }
        : { outcome: 'sent', providerMessageId: null, smtpCode: 250 };
    },
    close: () => {},
  };
  await app.register(notify, {
    db: database.db,
    transport,
    from: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
    recipientOf: async (id) => people.get(id) ?? null,
    dispatch: false,
    now: () => clock,
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});
beforeEach(() => database.truncate('notify'));

const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const drain = async () => {
  while ((await app.notify.dispatch()) > 0);
};
const policy = {
  kind: 'policy.upcoming',
  data: { version: '2027-01-01', effectiveDate: '2027-01-01', policyUrl: 'https://harakaflow.test/privacy' },
};
const request = {
  kind: 'privacy.request.updated',
  data: { requestId: 'r1', kind: 'access', status: 'open', dueDate: '2027-01-06' },
};
const quota = {
  kind: 'quota.warning',
  data: { quota: 'free.minute', percent: 80, used: 48, limit: 60, resetAt: '2026-12-01T12:01:00Z' },
};

function account(): { id: string; address: string } {
  const id = randomUUID();
  const address = `p.${id.slice(0, 8)}@example.org`;
  people.set(id, { address, name: 'Amina' });
  return { id, address };
}

/** A minimal DSN about message `id`: what a relay sends, returning the message's headers. */
const dsn = (id: string, to: string, status = '5.1.1') =>
  Buffer.from(
    [
      'From: MAILER-DAEMON@relay.example',
      `Message-ID: <dsn.${randomUUID()}@relay.example>`,
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; relay.example',
      '',
      `Final-Recipient: rfc822; ${to}`,
      'Action: failed',
      `Status: ${status}`,
      '',
      '--b',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: <${id}@harakaflow.test>`,
      `To: ${to}`,
      '',
      '--b--',
      '',
    ].join('\r\n'),
  );

describe('notices shown to the account', () => {
  it('lists bounced legal notices until acknowledged, marks them shown once, and acknowledges idempotently', async () => {
    const a = account();
    const policyId = (await app.notify.enqueue({ ...policy, accountId: a.id }))!;
    const requestId = (await app.notify.enqueue({ ...request, accountId: a.id }))!;
    await drain();
    clock += 60_000;
    await app.notify.processBounceMessage(dsn(policyId, a.address), { receivedAt: new Date(clock) });
    expect(await app.notify.notices(a.id)).toEqual([
      {
        id: policyId,
        kind: 'policy.upcoming',
        subject: 'HarakaFlow privacy policy: changes take effect on 2027-01-01',
        createdAt: '2026-12-07T10:00:00.000Z',
        reportedAt: '2026-12-07T10:01:00.000Z',
        reason: 'bounced',
      },
    ]);
    expect((await rows(sql`select shown_at from notify.deliveries where notification_id = ${policyId}`))[0]).toEqual({
      shown_at: null,
    });
    clock += 60_000;
    await app.notify.notices(a.id, { markShown: true });
    clock += 60_000;
    await app.notify.notices(a.id, { markShown: true });
    const shown = (await rows(sql`select shown_at from notify.deliveries where notification_id = ${policyId}`))[0]!
      .shown_at;
    expect(new Date(shown as string).toISOString()).toBe('2026-12-07T10:02:00.000Z');
    // Another account cannot acknowledge it, nor can anything that is not a notice.
    expect(await app.notify.acknowledgeNotice(account().id, policyId)).toBeNull();
    expect(await app.notify.acknowledgeNotice(a.id, requestId)).toBeNull(); // accepted: not a notice
    for (const bad of ['', 'not-a-uuid', `${policyId}'`, '00000000-0000-0000-0000-000000000000'])
      expect(await app.notify.acknowledgeNotice(a.id, bad)).toBeNull();
    const acknowledged = await app.notify.acknowledgeNotice(a.id, policyId);
    expect(acknowledged?.toISOString()).toBe('2026-12-07T10:03:00.000Z');
    clock += 60_000;
    expect((await app.notify.acknowledgeNotice(a.id, policyId.toUpperCase()))?.toISOString()).toBe(
      '2026-12-07T10:03:00.000Z',
    );
    expect(await app.notify.notices(a.id)).toEqual([]);
  });

  it('a legal notice refused at once (550) is a notice too; a quota warning never is', async () => {
    const a = account();
    refuse.add(a.address);
    const policyId = (await app.notify.enqueue({ ...policy, accountId: a.id }))!;
    await app.notify.enqueue({ ...quota, accountId: a.id });
    await drain();
    expect((await app.notify.notices(a.id)).map((n) => [n.id, n.reason])).toEqual([[policyId, 'bounced']]);
    expect(await rows(sql`select kind, outcome, smtp_code, accepted_at from notify.deliveries order by kind`)).toEqual([
      { kind: 'policy.upcoming', outcome: 'bounced', smtp_code: 550, accepted_at: null },
      { kind: 'quota.warning', outcome: 'bounced', smtp_code: 550, accepted_at: null },
    ]);
  });
});

describe('the export and erasure', () => {
  it('lists every legal notice and how it went; erasure takes the records and the reports', async () => {
    const a = account();
    const accepted = (await app.notify.enqueue({ ...policy, accountId: a.id }))!;
    const bounced = (await app.notify.enqueue({ ...request, accountId: a.id }))!;
    const warning = (await app.notify.enqueue({ ...quota, accountId: a.id }))!;
    await drain();
    await app.notify.processBounceMessage(dsn(bounced, a.address));
    await app.notify.notices(a.id, { markShown: true });
    await app.notify.acknowledgeNotice(a.id, bounced);
    const exported = await app.notify.exportSubject({ accountId: a.id });
    expect(exported.legalNotices).toEqual([
      expect.objectContaining({
        id: accepted,
        kind: 'policy.upcoming',
        outcome: 'accepted',
        acceptedByRelayAt: expect.any(Date),
        shownInApi: null,
      }),
      expect.objectContaining({
        id: bounced,
        kind: 'privacy.request.updated',
        outcome: 'bounced',
        dsnStatus: '5.1.1',
        shownInApi: { reason: 'bounced', shownAt: expect.any(Date), acknowledgedAt: expect.any(Date) },
      }),
    ]);
    expect(exported.deliveries).toEqual([
      expect.objectContaining({ id: warning, kind: 'quota.warning', outcome: 'accepted' }),
    ]);
    expect(exported.bouncing).toEqual([
      { address: a.address, status: 'bouncing', since: expect.any(Date), dsnStatus: '5.1.1' },
    ]);
    // The same records for the address as a subject.
    expect((await app.notify.exportSubject({ email: a.address.toUpperCase() })).legalNotices.map((n) => n.id)).toEqual([
      accepted,
      bounced,
    ]);
    await app.notify.eraseSubject({ accountId: a.id });
    for (const table of ['deliveries', 'reports', 'addresses'])
      expect(await rows(sql.raw(`select * from notify.${table}`)), table).toEqual([]);
  });

  it('the retention purge keeps legal notices to an account (the record of notice), and takes the rest and old reports', async () => {
    const a = account();
    const legal = (await app.notify.enqueue({ ...policy, accountId: a.id }))!;
    const optional = (await app.notify.enqueue({ ...quota, accountId: a.id }))!;
    const requester = (await app.notify.enqueue({ ...request, to: 'someone@example.net' }))!;
    await drain();
    await app.notify.processBounceMessage(dsn(legal, a.address));
    clock += 31 * 86_400_000;
    expect(await app.notify.purgeSettled(new Date(clock - 30 * 86_400_000))).toBe(3);
    expect((await rows(sql`select notification_id from notify.deliveries`)).map((r) => r.notification_id)).toEqual([
      legal,
    ]);
    expect(await rows(sql`select * from notify.reports`)).toEqual([]);
    expect((await app.notify.exportSubject({ accountId: a.id })).legalNotices.map((n) => n.id)).toEqual([legal]);
    expect(await rows(sql`select id from notify.outbox where id in (${legal}, ${optional}, ${requester})`)).toEqual([]);
  });
});

describe('the delivery record not written (security review M2)', () => {
  it('the message is sent once and settled all the same: a record that fails never sends it again', async () => {
    const who = account();
    // As before the app role is granted the table (or a database blip): the record cannot be written.
    await database.db.execute(sql`alter table notify.deliveries rename to deliveries_away`);
    try {
      const id = (await app.notify.enqueue({ ...policy, accountId: who.id }))!;
      const before = sent.length;
      await drain();
      clock += 10 * 60_000; // past any lease: a row left pending would be claimed again
      await drain();
      expect(sent.length - before).toBe(1);
      expect(await rows(sql`select status from notify.outbox where id = ${id}`)).toEqual([{ status: 'sent' }]);
    } finally {
      await database.db.execute(sql`alter table notify.deliveries_away rename to deliveries`);
    }
  });
});
