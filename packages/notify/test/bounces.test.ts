// Issue 34 item 4: reports that come back later. Messages are really sent (smtp-server on a
// loopback port), then Postfix, Exim and Gmail DSNs and abuse reports built around what the server
// received are handed to processBounceMessage, as the bounce mailbox's reader hands them, on the
// file's test database (real Postgres with TEST_DATABASE_URL).
import { createDatabase, resultRows } from '@harakaflow/db';
import {
  deliveryReport as report,
  postgresUrl,
  startSmtp,
  testDatabase,
  type SentMessage as Sent,
  type TestDatabase,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import notify, { notifyMigrations, type NotifyOptions, type Recipient } from '../src/index.js';

let database: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let app: Awaited<ReturnType<typeof build>>;
const people = new Map<string, Recipient>();

async function build(options: Partial<NotifyOptions> = {}) {
  const built = Fastify();
  await built.register(notify, {
    db: options.db ?? database.db,
    smtpUrl: smtp.url,
    from: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
    recipientOf: async (id) => people.get(id) ?? null,
    dispatch: false,
    retrySchedule: [10],
    ...options,
  });
  await built.ready();
  return built;
}

beforeAll(async () => {
  [database, smtp] = await Promise.all([testDatabase({ migrations: [notifyMigrations] }), startSmtp()]);
  app = await build();
});
afterAll(async () => {
  await app?.close();
  await smtp?.close();
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

/** A new account, and one message of `what` sent to it through the SMTP server. */
async function sendTo(
  what: { kind: string; data: Record<string, unknown> },
  accountId = randomUUID(),
): Promise<Sent & { accountId: string }> {
  const recipient = people.get(accountId)?.address ?? `p.${randomUUID().slice(0, 8)}@example.org`;
  people.set(accountId, { address: recipient, name: 'Amina' });
  const id = (await app.notify.enqueue({ ...what, accountId }))!;
  await drain();
  const received = smtp.received.find((m) => m.headers['x-harakaflow-notification-id'] === id);
  if (!received) throw new Error('the message was not received');
  return { id, recipient, raw: received.raw, accountId };
}
const mark = async (address: string) =>
  (await rows(sql`select status, smtp_code, dsn_status from notify.addresses where address = ${address}`))[0] ?? null;
const delivery = async (id: string) =>
  (
    await rows(
      sql`select outcome, dsn_status, smtp_code, feedback_type, notice_reason from notify.deliveries where notification_id = ${id}`,
    )
  )[0];

describe('delivery status notifications (RFC 3464)', () => {
  it('a Postfix hard bounce of a §11 notice: the address bouncing, the notice shown to the account; read twice, once', async () => {
    const sent = await sendTo(policy);
    expect(await delivery(sent.id)).toMatchObject({ outcome: 'accepted', notice_reason: null });
    const dsn = report('postfix-hard', sent);
    expect(await app.notify.processBounceMessage(dsn)).toEqual({
      status: 'recorded',
      type: 'dsn',
      outcome: 'bounced',
      notificationId: sent.id,
      matchedBy: 'message-id',
    });
    expect(await mark(sent.recipient)).toEqual({ status: 'bouncing', smtp_code: 550, dsn_status: '5.1.1' });
    expect(await delivery(sent.id)).toEqual({
      outcome: 'bounced',
      dsn_status: '5.1.1',
      smtp_code: 550,
      feedback_type: null,
      notice_reason: 'bounced',
    });
    expect(await app.notify.notices(sent.accountId)).toEqual([
      {
        id: sent.id,
        kind: 'policy.upcoming',
        subject: 'HarakaFlow privacy policy: changes take effect on 2027-01-01',
        createdAt: expect.any(String),
        reportedAt: expect.any(String),
        reason: 'bounced',
      },
    ]);
    expect(await app.notify.processBounceMessage(dsn)).toEqual({ status: 'duplicate', type: 'dsn' });
    expect(await rows(sql`select matched_by, outcome from notify.reports`)).toEqual([
      { matched_by: 'message-id', outcome: 'bounced' },
    ]);
    // The diagnostic text is nowhere: codes only.
    for (const table of ['deliveries', 'addresses', 'reports'])
      expect(JSON.stringify(await rows(sql.raw(`select * from notify.${table}`)))).not.toMatch(/User unknown|virtual/);
  });

  it('a report with a NUL in its Message-ID or recipients is read without a database error (security review: it stopped the reader for good)', async () => {
    const sent = await sendTo(policy);
    const nul = (text: string) =>
      Buffer.from(
        text.replace(/^(Message-I[Dd]: <)/m, '$1x\u0000').replace(/^(Final-Recipient: rfc822;\s*)/im, '$1nul\u0000'),
      );
    const dsn = nul(report('postfix-hard', sent).toString('utf8'));
    expect(dsn.includes(0)).toBe(true);
    // Matched by the returned message as before; the report's own id (with its NUL) is refused, so it is keyed by a digest.
    await expect(app.notify.processBounceMessage(dsn)).resolves.toMatchObject({
      status: 'recorded',
      matchedBy: 'message-id',
    });
    const recipientOnly = Buffer.from(
      report('recipient-only', sent).toString('utf8').replace(sent.recipient, `a\u0000${sent.recipient}`),
    );
    await expect(app.notify.processBounceMessage(recipientOnly)).resolves.toMatchObject({
      status: expect.stringMatching(/^(unmatched|ignored|recorded)$/),
    });
  });

  it('stops optional messages to a bouncing address, and still tries required ones', async () => {
    const sent = await sendTo(quota);
    await app.notify.processBounceMessage(report('gmail-hard', sent));
    expect(await mark(sent.recipient)).toEqual({ status: 'bouncing', smtp_code: null, dsn_status: '5.1.1' });
    // A quota warning's bounce is recorded, never shown: not a legal notice.
    expect(await delivery(sent.id)).toMatchObject({ outcome: 'bounced', notice_reason: null });
    expect(await app.notify.notices(sent.accountId)).toEqual([]);
    const before = smtp.received.length;
    const warning = (await app.notify.enqueue({ ...quota, accountId: sent.accountId }))!;
    const notice = (await app.notify.enqueue({ ...policy, accountId: sent.accountId }))!;
    await drain();
    expect((await rows(sql`select status, last_error from notify.outbox where id = ${warning}`))[0]).toEqual({
      status: 'suppressed',
      last_error: 'the address is bouncing',
    });
    expect((await rows(sql`select status from notify.outbox where id = ${notice}`))[0]).toEqual({ status: 'sent' });
    expect(smtp.received.length).toBe(before + 1);
  });

  it('an Exim bounce of a request answer (the whole message returned): status 5.0.0 and the SMTP code, the notice shown', async () => {
    const sent = await sendTo(request);
    expect(await app.notify.processBounceMessage(report('exim-hard', sent))).toMatchObject({
      status: 'recorded',
      outcome: 'bounced',
      matchedBy: 'message-id',
    });
    expect(await delivery(sent.id)).toEqual({
      outcome: 'bounced',
      dsn_status: '5.0.0',
      smtp_code: 550,
      feedback_type: null,
      notice_reason: 'bounced',
    });
    expect((await app.notify.notices(sent.accountId)).map((n) => [n.kind, n.reason])).toEqual([
      ['privacy.request.updated', 'bounced'],
    ]);
  });

  it('a Gmail DSN without the message, naming it by X-Original-Message-ID', async () => {
    const sent = await sendTo(policy);
    expect(await app.notify.processBounceMessage(report('gmail-no-original', sent))).toMatchObject({
      status: 'recorded',
      outcome: 'bounced',
      matchedBy: 'message-id',
    });
    expect(await delivery(sent.id)).toMatchObject({ dsn_status: '5.7.1', smtp_code: 550 });
  });

  it('a delay is recorded only; a later bounce supersedes it, and a delay after that does not undo it', async () => {
    const sent = await sendTo(policy);
    expect(await app.notify.processBounceMessage(report('postfix-delayed', sent))).toMatchObject({
      status: 'recorded',
      outcome: 'delayed',
    });
    expect(await delivery(sent.id)).toMatchObject({
      outcome: 'delayed',
      dsn_status: '4.4.1',
      smtp_code: null,
      notice_reason: null,
    });
    expect(await mark(sent.recipient)).toBeNull();
    await app.notify.processBounceMessage(report('postfix-hard', sent));
    await app.notify.processBounceMessage(
      report('postfix-delayed', sent, { replace: [['<20261207141240', '<20261208141240']] }),
    );
    expect(await delivery(sent.id)).toMatchObject({
      outcome: 'bounced',
      dsn_status: '5.1.1',
      notice_reason: 'bounced',
    });
  });

  it('a soft failure (4.x.x, given up): the notice did not arrive and is shown, the address is not marked', async () => {
    const sent = await sendTo(policy);
    const dsn = report('postfix-hard', sent, {
      replace: [
        ['Status: 5.1.1', 'Status: 4.4.7'],
        [/smtp; 550 5\.1\.1/, 'smtp; 451 4.4.7'],
      ],
    });
    expect(await app.notify.processBounceMessage(dsn)).toMatchObject({ status: 'recorded', outcome: 'bounced' });
    expect(await delivery(sent.id)).toMatchObject({
      outcome: 'bounced',
      dsn_status: '4.4.7',
      smtp_code: 451,
      notice_reason: 'bounced',
    });
    expect(await mark(sent.recipient)).toBeNull();
  });

  it('a DSN that returns no message counts for what was sent to its recipient within reportRecipientDays, and not otherwise', async () => {
    const sent = await sendTo(quota);
    expect(await app.notify.processBounceMessage(report('recipient-only', sent))).toMatchObject({
      status: 'recorded',
      matchedBy: 'recipient',
      notificationId: sent.id,
    });
    expect(await mark(sent.recipient)).toMatchObject({ status: 'bouncing', dsn_status: '5.2.2' });
    const strict = await build({ reportRecipientDays: 0 });
    try {
      const other = await sendTo(quota);
      // Another report (its own Message-ID): the same one would be a duplicate.
      expect(
        await strict.notify.processBounceMessage(
          report('recipient-only', other, { replace: [['<20261207110000.AB12@', '<20261207110001.CD34@']] }),
        ),
      ).toMatchObject({ status: 'unmatched', reason: 'the report names no message the kit sent' });
      expect(await mark(other.recipient)).toBeNull();
    } finally {
      await strict.close();
    }
    // An address never mailed: nothing to mark.
    const nobody = { id: randomUUID(), recipient: 'never.mailed@example.org', raw: 'Subject: x\r\n\r\n' };
    expect(
      await app.notify.processBounceMessage(
        report('recipient-only', nobody, { replace: [['<20261207110000.AB12@', '<20261207110002.EF56@']] }),
      ),
    ).toMatchObject({ status: 'unmatched' });
    expect(await mark('never.mailed@example.org')).toBeNull();
  });
});

describe('abuse reports (RFC 5965)', () => {
  it('a complaint about a quota warning marks the address complained: optional kinds stop, legal ones still go', async () => {
    const sent = await sendTo(quota);
    expect(await app.notify.processBounceMessage(report('arf-abuse', sent))).toEqual({
      status: 'recorded',
      type: 'arf',
      outcome: 'complained',
      notificationId: sent.id,
      matchedBy: 'message-id',
    });
    expect(await mark(sent.recipient)).toEqual({ status: 'complained', smtp_code: null, dsn_status: null });
    expect(await delivery(sent.id)).toMatchObject({
      outcome: 'complained',
      feedback_type: 'abuse',
      notice_reason: null,
    });
    const warning = (await app.notify.enqueue({ ...quota, accountId: sent.accountId }))!;
    const notice = (await app.notify.enqueue({ ...policy, accountId: sent.accountId }))!;
    await drain();
    expect(
      (
        await rows(
          sql`select id, status, last_error from notify.outbox where id in (${warning}, ${notice}) order by kind`,
        )
      ).map((r) => [r.status, r.last_error]),
    ).toEqual([
      ['sent', null],
      ['suppressed', 'the address complained'],
    ]);
  });

  it('a complaint with the recipient redacted is matched by the Message-ID; a §11 notice complained of is shown', async () => {
    const sent = await sendTo(policy);
    expect(await app.notify.processBounceMessage(report('arf-redacted', sent))).toMatchObject({
      status: 'recorded',
      outcome: 'complained',
      matchedBy: 'message-id',
    });
    expect((await app.notify.notices(sent.accountId)).map((n) => n.reason)).toEqual(['complained']);
    // A later bounce report neither outranks the complaint nor changes the notice's reason.
    await app.notify.processBounceMessage(report('postfix-hard', sent));
    expect(await delivery(sent.id)).toMatchObject({ outcome: 'complained', notice_reason: 'complained' });
    expect(await mark(sent.recipient)).toMatchObject({ status: 'complained' });
  });

  it('feedback that is not a complaint (not-spam) changes nothing', async () => {
    const sent = await sendTo(quota);
    expect(
      await app.notify.processBounceMessage(
        report('arf-abuse', sent, { replace: [['Feedback-Type: abuse', 'Feedback-Type: not-spam']] }),
      ),
    ).toMatchObject({ status: 'ignored', reason: 'feedback type not-spam is not a complaint' });
    expect(await mark(sent.recipient)).toBeNull();
  });
});

describe('forged and stray mail', () => {
  it('believes a report only about a message the kit sent', async () => {
    const sent = await sendTo(policy);
    const foreign = {
      ...sent,
      raw: sent.raw
        .replace(/^Message-ID: <[^>]+>/im, 'Message-ID: <someone-else@elsewhere.example>')
        .replace(/^X-HarakaFlow-Notification-Id: .*\r?\n/im, ''),
    };
    expect(await app.notify.processBounceMessage(report('exim-hard', foreign))).toMatchObject({
      status: 'unmatched',
      reason: 'the returned message is not one the kit sent',
    });
    // An id of the kit's form that it never sent.
    const made = {
      ...sent,
      id: randomUUID(),
      raw: sent.raw.replace(/^Message-ID: <[^@]+@/im, `Message-ID: <${randomUUID()}@`),
    };
    expect(await app.notify.processBounceMessage(report('exim-hard', made))).toMatchObject({ status: 'unmatched' });
    // Our id at another domain.
    expect(
      await app.notify.processBounceMessage(report('gmail-no-original', sent, { domain: 'harakaflow.example' })),
    ).toMatchObject({ status: 'unmatched' });
    expect(await mark(sent.recipient)).toBeNull();
    expect(await app.notify.notices(sent.accountId)).toEqual([]);
  });

  it('ignores what is not a report: an auto-reply quoting DSN fields, an empty message, bytes', async () => {
    const sent = await sendTo(policy);
    for (const raw of [
      report('auto-reply', sent),
      Buffer.alloc(0),
      Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x2d, 0x2d]),
    ]) {
      expect(await app.notify.processBounceMessage(raw)).toMatchObject({ status: 'ignored' });
    }
    expect(await rows(sql`select * from notify.reports`)).toEqual([]);
  });

  it.skipIf(!postgresUrl)(
    'two replicas (two pools on Postgres) reading the same report at once record it once',
    async () => {
      const sent = await sendTo(policy);
      const pool = await createDatabase({ url: database.url, max: 4 });
      const other = await build({ db: pool.db });
      try {
        const dsn = report('postfix-hard', sent);
        const results = await Promise.all([
          app.notify.processBounceMessage(dsn),
          other.notify.processBounceMessage(dsn),
        ]);
        expect(results.every((r) => r.status === 'recorded' || r.status === 'duplicate')).toBe(true);
        expect(await rows(sql`select count(*)::int as n from notify.reports`)).toEqual([{ n: 1 }]);
        expect(await app.notify.notices(sent.accountId)).toHaveLength(1);
      } finally {
        await other.close();
        await pool.close();
      }
    },
  );
});
