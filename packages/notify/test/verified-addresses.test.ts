// Issue 30 item 6: what an address nobody has verified receives, and every template field on one
// line. Against a real SMTP server (smtp-server on a loopback port) and real Postgres (or PGlite).
import { resultRows } from '@harakaflow/db';
import { startSmtp, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import notify, { notifyMigrations, render, type NotifyOptions, type Recipient } from '../src/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('notify'));

const people = new Map<string, Recipient>();
const verified = new Set<string>();

async function build(options: Partial<NotifyOptions> = {}) {
  const smtp = await startSmtp();
  onTestFinished(() => smtp.close());
  const app = Fastify();
  await app.register(notify, {
    db: database.db,
    from: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
    smtpUrl: smtp.url,
    recipientOf: async (id) => people.get(id) ?? null,
    addressVerified: async (id, address) => verified.has(id) && people.get(id)?.address === address,
    dispatch: false,
    ...options,
  });
  await app.ready();
  onTestFinished(() => app.close());
  return { app, smtp };
}

const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const drain = async (app: { notify: { dispatch(n?: number): Promise<number> } }) => {
  while ((await app.notify.dispatch()) > 0);
};
const kindOf = (m: { headers: Record<string, string> }) => m.headers['x-harakaflow-notification'];
// What someone typed as their name at signup to make the service mail their text to a stranger.
const PHISH = 'Amina\r\n\r\nSECURITY ALERT: your account is locked.\nVerify now at https://evil.example/login\u202E';

describe('an address that is not verified', () => {
  it('gets security and policy notices without the account’s names; quota warnings, request updates and disabled endpoints wait, and go once it is verified', async () => {
    const { app, smtp } = await build();
    const a = randomUUID();
    people.set(a, { address: 'stranger@example.com', name: PHISH, businessName: 'Click https://evil.example now' });
    await app.notify.enqueue({
      kind: 'quota.warning',
      accountId: a,
      data: { quota: 'free.minute', percent: 80, used: 48, limit: 60, resetAt: 'r' },
    });
    await app.notify.enqueue({
      kind: 'privacy.request.updated',
      accountId: a,
      data: { requestId: 'r1', kind: 'access', status: 'open', dueDate: 'd' },
    });
    await app.notify.enqueue({
      kind: 'policy.upcoming',
      accountId: a,
      data: { version: 'v2', effectiveDate: '2027-01-01', policyUrl: 'https://harakaflow.test/privacy' },
    });
    await app.notify.enqueue({
      kind: 'account.deletion.scheduled',
      accountId: a,
      data: { requestId: 'r2', purgeDate: 'p', cancelPath: '/c' },
    });
    await app.notify.enqueue({
      kind: 'account.email.verification',
      accountId: a,
      data: { code: 'ABCD-2345', expiresAt: 'e', verifyPath: '/v1/account/email/verify' },
    });
    // Issue 34: names the endpoint's origin, which the account typed: it waits like request updates.
    const endpoint = {
      endpointId: 'e1',
      endpointOrigin: 'https://evil.example',
      reason: 'r',
      disabledAt: 'd',
      held: 2,
      enablePath: '/e',
      deliveriesPath: '/l',
      recoverPath: '/r',
    };
    await app.notify.enqueue({ kind: 'webhook.endpoint_disabled', accountId: a, data: endpoint });
    await drain(app);
    expect(smtp.received.map(kindOf).sort()).toEqual([
      'account.deletion.scheduled',
      'account.email.verification',
      'policy.upcoming',
    ]);
    for (const m of smtp.received) {
      // Not a word the account wrote: "Hello there," and "your account".
      expect(m.text).toContain('Hello there,');
      expect(m.text + m.html + m.headers.subject).not.toMatch(/evil\.example|SECURITY ALERT|Amina/);
    }
    expect(smtp.received.find((m) => kindOf(m) === 'account.email.verification')!.text).toContain('ABCD-2345');
    const waiting = await rows(
      sql`select kind, status, attempts, last_error, next_attempt_at > now() + interval '20 hours' as later from notify.outbox where status = 'pending' order by kind`,
    );
    expect(waiting).toEqual([
      {
        kind: 'privacy.request.updated',
        status: 'pending',
        attempts: 0,
        last_error: 'waiting for a verified address',
        later: true,
      },
      {
        kind: 'quota.warning',
        status: 'pending',
        attempts: 0,
        last_error: 'waiting for a verified address',
        later: true,
      },
      {
        kind: 'webhook.endpoint_disabled',
        status: 'pending',
        attempts: 0,
        last_error: 'waiting for a verified address',
        later: true,
      },
    ]);
    // Waiting for the account is no backlog: /health's and the metrics' pending count leaves them out.
    expect(await app.notify.counts()).toEqual({ pending: 0, failed: 0, bouncing: 0 });

    verified.add(a);
    expect(await app.notify.releaseWaiting(a)).toBe(3);
    await drain(app);
    const late = smtp.received.filter((m) =>
      ['quota.warning', 'privacy.request.updated', 'webhook.endpoint_disabled'].includes(kindOf(m)!),
    );
    expect(late).toHaveLength(3);
    expect(late.find((m) => kindOf(m) === 'webhook.endpoint_disabled')!.text).toContain(
      'its 2 waiting deliveries are kept',
    );
    // Verified: the names are shown again, each on one line (its line breaks and bidi override gone).
    for (const m of late)
      expect(m.text).toContain(
        'Hello Amina SECURITY ALERT: your account is locked. Verify now at https://evil.example/login,',
      );
    expect(await rows(sql`select 1 from notify.outbox where status = 'pending'`)).toEqual([]);
  });

  it('drops what waited once its wait is over, or at once when its subject was erased meanwhile', async () => {
    let now = Date.now();
    const { app, smtp } = await build({ now: () => now });
    const a = randomUUID();
    people.set(a, { address: 'late@example.com', name: 'Late' });
    const quota = (await app.notify.enqueue({
      kind: 'quota.warning',
      accountId: a,
      data: { quota: 'q', percent: 80, used: 1, limit: 2, resetAt: 'r' },
    }))!;
    const update = (await app.notify.enqueue({
      kind: 'privacy.request.updated',
      accountId: a,
      data: { requestId: 'r', kind: 'access', status: 'open', dueDate: 'd' },
    }))!;
    await drain(app);
    now += 86_400_000 + 1000;
    await drain(app);
    expect((await rows(sql`select status, last_error from notify.outbox where id = ${quota}`))[0]).toEqual({
      status: 'suppressed',
      last_error: 'the address was not verified',
    });
    // The request update waits the 30 days of §6; the account's erasure ends the wait, and the row with it.
    await app.notify.eraseSubject({ accountId: a });
    expect((await rows(sql`select erase_after_send, last_error from notify.outbox where id = ${update}`))[0]).toEqual({
      erase_after_send: true,
      last_error: null,
    });
    expect((await app.notify.counts()).pending).toBe(1);
    await drain(app);
    expect(await rows(sql`select 1 from notify.outbox where id = ${update}`)).toEqual([]);
    expect(smtp.received).toHaveLength(0);
  });

  it('does not ask about an address given without an account (an emailed requester), and deletes an erase-after-send row once sent', async () => {
    const { app, smtp } = await build();
    const id = (await app.notify.enqueue({
      kind: 'privacy.request.updated',
      to: 'requester@example.org',
      data: { requestId: 'r', kind: 'deletion', status: 'fulfilled', receipt: 'app: 1 erased' },
      eraseAfterSend: true,
    }))!;
    await drain(app);
    expect(smtp.received.map((m) => m.to)).toEqual([['requester@example.org']]);
    expect(await rows(sql`select 1 from notify.outbox where id = ${id}`)).toEqual([]);
    expect(await rows(sql`select 1 from notify.attempts where notification_id = ${id}`)).toEqual([]);
  });

  it('suppresses a message whose send-time data says there is nothing to send any more', async () => {
    const { app, smtp } = await build({
      enrich: async ({ kind }) => (kind === 'account.email.verification' ? false : null),
    });
    const a = randomUUID();
    people.set(a, { address: 'done@example.com' });
    const id = (await app.notify.enqueue({ kind: 'account.email.verification', accountId: a }))!;
    await drain(app);
    expect(smtp.received).toHaveLength(0);
    expect((await rows(sql`select status, last_error from notify.outbox where id = ${id}`))[0]).toEqual({
      status: 'suppressed',
      last_error: 'nothing to send any more',
    });
  });
});

describe('template fields', () => {
  it('are each rendered on one line, in both parts: no control character, line separator or bidi control survives', () => {
    // eslint-disable-next-line no-control-regex -- control characters are what must not survive
    const forbidden = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;
    const nasty = fc
      .array(
        fc.constantFrom(
          'a',
          ' ',
          '\r',
          '\n',
          '\u0085',
          '\u2028',
          '\u2029',
          '\u202E',
          '\u2066',
          '\u0000',
          '\u001B',
          '\u007F',
          'https://x.test/',
        ),
        { maxLength: 40 },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(nasty, nasty, (name, reason) => {
        const r = render('privacy.request.updated', {
          name,
          requestId: 'r',
          kind: 'objection',
          status: 'denied',
          reason,
          dueDate: 'd',
        });
        // The template's own paragraphs are separated by blank lines: each field stays inside its paragraph.
        const paragraphs = r.text.trimEnd().split('\n\n');
        expect(paragraphs).toHaveLength(5);
        expect(paragraphs.every((p) => !p.includes('\n'))).toBe(true);
        expect(r.text.replace(/\n/g, '')).not.toMatch(forbidden);
        expect(r.html.replace(/\n/g, '')).not.toMatch(forbidden);
        expect(r.subject).not.toMatch(forbidden);
      }),
      { numRuns: 300 },
    );
  });
});
