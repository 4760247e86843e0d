// Issue 34 item 4: the bounce mailbox takes mail from anyone. The report parser, given any bytes or
// a real report cut, spliced and stuffed with what reports are made of, never throws and yields only
// values of their grammar (a status code, an SMTP code, a feedback type, an address); the processing
// given the same never throws and never touches a message the report did not name.
import { resultRows } from '@harakaflow/db';
import {
  DELIVERY_REPORTS as FIXTURES,
  deliveryReport as report,
  testDatabase,
  type SentMessage as Sent,
  type TestDatabase,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import notify, { notifyMigrations, parseReport, type DeliveryReport } from '../src/index.js';

const ADDRESS = /^[^\s@<>"(),;:[\]\\]{1,64}@[^\s@<>"(),;:[\]\\]{1,253}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every value a report yields is of its grammar. */
function checkShape(r: DeliveryReport | null): void {
  if (r === null) return;
  expect(['dsn', 'arf']).toContain(r.type);
  if (r.messageId !== null) expect(r.messageId).toMatch(/^[^<>\s]{1,250}$/);
  if (r.original) {
    if (r.original.notificationId !== null) expect(r.original.notificationId).toMatch(UUID);
    for (const a of r.original.to) expect(a).toMatch(ADDRESS);
  }
  if (r.type === 'arf') {
    if (r.feedbackType !== null) expect(r.feedbackType).toMatch(/^[a-z][a-z0-9-]{0,31}$/);
    for (const a of r.recipients) expect(a).toMatch(ADDRESS);
    return;
  }
  expect(r.recipients.length).toBeLessThanOrEqual(100);
  for (const b of r.recipients) {
    if (b.status !== null) expect(b.status).toMatch(/^[245]\.\d{1,3}\.\d{1,3}$/);
    if (b.smtpCode !== null) expect(b.smtpCode >= 200 && b.smtpCode <= 599 && Number.isInteger(b.smtpCode)).toBe(true);
    for (const a of [b.finalRecipient, b.originalRecipient]) if (a !== null) expect(a).toMatch(ADDRESS);
  }
}

const sample: Sent = {
  id: '01939a4e-1b2c-7d3e-8f40-5a6b7c8d9e0f',
  recipient: 'amina@example.org',
  raw: [
    'From: HarakaFlow <no-reply@harakaflow.test>',
    'To: amina@example.org',
    'Subject: HarakaFlow privacy policy: changes take effect on 2027-01-01',
    'X-HarakaFlow-Notification-Id: 01939a4e-1b2c-7d3e-8f40-5a6b7c8d9e0f',
    'Message-ID: <01939a4e-1b2c-7d3e-8f40-5a6b7c8d9e0f@harakaflow.test>',
    'Content-Type: text/plain',
    '',
    'Hello Amina,',
    '',
  ].join('\r\n'),
};

/** What reports are made of: their fields, boundaries, folding, and what breaks parsers. */
const piece = fc.oneof(
  fc.constantFrom(
    '\r\n',
    '\r\n\r\n',
    '\n',
    '\r\n ',
    '--',
    'Content-Type: message/delivery-status\r\n\r\n',
    'Content-Type: message/feedback-report\r\n\r\n',
    'Content-Type: text/rfc822-headers\r\n\r\n',
    'Content-Type: message/rfc822\r\n\r\n',
    'Content-Type: multipart/report; boundary="x"\r\n\r\n--x\r\n',
    'Content-Transfer-Encoding: base64\r\n',
    'Content-Transfer-Encoding: quoted-printable\r\n',
    'Final-Recipient: rfc822; ',
    'Action: failed\r\n',
    'Action: ',
    'Status: 5.1.1\r\n',
    'Status: 9.9.9\r\n',
    'Status: 5.99999.1\r\n',
    'Diagnostic-Code: smtp; 550 ',
    'Diagnostic-Code: smtp; 5500\r\n',
    'Feedback-Type: abuse\r\n',
    'Feedback-Type: ABUSE(x)\r\n',
    'Original-Rcpt-To: <',
    'Message-ID: <',
    'X-HarakaFlow-Notification-Id: ',
    '@harakaflow.test>',
    '=?utf-8?B?w6k=?=',
    '\u0000',
    '\u202e',
    'é',
    '>',
    ';',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 900, maxLength: 1200 }),
);

/** A fixture, cut and spliced: pieces inserted at random places, slices removed. */
const mutated = fc
  .record({
    name: fc.constantFrom(...FIXTURES),
    edits: fc.array(fc.record({ at: fc.nat(), cut: fc.nat({ max: 200 }), insert: fc.array(piece, { maxLength: 4 }) }), {
      maxLength: 8,
    }),
  })
  .map(({ name, edits }) => {
    let text = report(name, sample).toString('utf8');
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert.join('') + text.slice(at + e.cut);
    }
    return Buffer.from(text);
  });

describe('the report parser', () => {
  it('reads every fixture as its kind', async () => {
    const kinds = await Promise.all(
      FIXTURES.map(async (name) => (await parseReport(report(name, sample)))?.type ?? null),
    );
    expect(kinds).toEqual(['dsn', 'dsn', 'dsn', 'dsn', 'dsn', 'dsn', 'arf', 'arf', null]);
  });

  it('never throws on bytes, and yields only values of their grammar', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        checkShape(await parseReport(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on reports cut and spliced, and yields only values of their grammar', async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async (raw) => {
        checkShape(await parseReport(raw));
      }),
      { numRuns: 400 },
    );
  });
});

describe('processing what anyone sends', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    database = await testDatabase({ migrations: [notifyMigrations] });
    app = Fastify();
    await app.register(notify, {
      db: database.db,
      transport: {
        description: 'test relay',
        send: async () => ({ outcome: 'sent', providerMessageId: null, smtpCode: 250 }),
        close: () => {},
      },
      from: 'HarakaFlow <no-reply@harakaflow.test>',
      publicUrl: 'https://api.harakaflow.test',
      unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
      dispatch: false,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('never throws, and what it records is about the one message sent, with codes only', async () => {
    const id = (await app.notify.enqueue({
      kind: 'policy.upcoming',
      to: sample.recipient,
      data: { version: 'v', effectiveDate: 'd', policyUrl: 'https://x.test' },
    }))!;
    while ((await app.notify.dispatch()) > 0);
    const mutatedAboutIt = fc
      .tuple(mutated, fc.boolean())
      .map(([raw, keep]) => (keep ? Buffer.from(raw.toString('utf8').replaceAll(sample.id, id)) : raw));
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedAboutIt,
          fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
        ),
        async (raw) => {
          const result = await app.notify.processBounceMessage(raw);
          expect(['recorded', 'duplicate', 'unmatched', 'ignored']).toContain(result.status);
          seen.add(result.status);
          if (result.status === 'recorded') expect(result.notificationId).toBe(id);
        },
      ),
      { numRuns: 120 },
    );
    // The property met reports that counted, and ones that did not.
    expect([...seen].sort()).toEqual(expect.arrayContaining(['ignored', 'recorded']));
    const rows = resultRows<Record<string, unknown>>(
      await database.db.execute(
        sql`select notification_id from notify.deliveries union all select notification_id from notify.reports`,
      ),
    );
    expect(new Set(rows.map((r) => r.notification_id))).toEqual(new Set([id]));
    expect(JSON.stringify(resultRows(await database.db.execute(sql`select * from notify.deliveries`)))).not.toMatch(
      /User unknown|does not exist|Mailbox full/,
    );
  });
});
