// Issue 32 item 1: the privacy mailbox, read over IMAP from a real Dovecot (started by this file on a
// free loopback port), mail put into it through IMAP APPEND. Each new message opens a request, its
// clock from the receipt; the sender gets the 'received' message with the code and the due date, and
// the code verifies the request; a machine's message and a sender's fourth message of the day open a
// request that nobody is told about; a reply joins its thread; the message is sealed in the vault and
// the admin downloads it as message/rfc822, never as a page; the password is in no log line.
import { resultRows } from '@harakaflow/db';
import {
  dovecotAvailable,
  startDovecot,
  testDatabase,
  until,
  type Received,
  type TestDatabase,
  type TestDovecot,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, mailApp, problemsOf } from './helpers.js';

let database: TestDatabase;
let dovecot: TestDovecot;
beforeAll(async () => {
  database = await testDatabase();
  if (dovecotAvailable) dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.close();
  await database.close();
});

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const letter = (from: string, subject: string, body: string, extra = '') =>
  `From: ${from}\r\nTo: privacy@harakaflow.io\r\nSubject: ${subject}\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@mail.example.org>\r\n${extra}\r\n${body}\r\n`;

async function mailboxApp(box: string) {
  const { app, logs, smtp } = await mailApp(database, {
    privacyImapUrl: dovecot.urlOf(box),
    privacyImapPollSeconds: 3600,
  });
  /**
   * A round of the reader that started after the messages were put in (the reader's own first
   * round, started at ready, may be in flight: round() then answers that one), then every queued
   * message sent.
   */
  const read = async () => {
    await app.privacyMailbox!.round();
    expect((await app.privacyMailbox!.round()).status).toBe('done');
    // The app's own dispatcher may be sending some: wait until nothing is pending.
    await until(
      async () => (
        await app.notify.dispatch(),
        (await rows(sql`select 1 from notify.outbox where status = 'pending'`)).length === 0
      ),
    );
  };
  const to = (address: string): Received[] => smtp.received.filter((m) => m.to.includes(address));
  return { app, logs, smtp, read, to };
}

const requestsOf = async (app: FastifyInstance, email: string) =>
  (
    (await app.inject({ method: 'GET', url: '/v1/admin/privacy/requests?limit=200', headers: admin })).json()
      .requests as {
      id: string;
      kind: string;
      subject: { email?: string };
      receivedAt: string;
      dueAt: string;
      status: string;
      verification: string | null;
    }[]
  ).filter((r) => r.subject.email === email);

describe.skipIf(!dovecotAvailable)('the privacy mailbox', () => {
  it('opens a request per message, tells the sender with the code and the due date, and the code verifies it', async () => {
    const box = `Privacy${Date.now()}`;
    const { app, read, to, logs } = await mailboxApp(box);
    const person = `njeri.${Date.now()}@example.org`;
    const receivedAt = new Date(Date.now() - 3 * 3_600_000);
    await dovecot.append(
      letter(`Njeri W <${person}>`, 'Delete my data', 'Hello, please delete all my data from HarakaFlow.'),
      { mailbox: box, date: receivedAt },
    );
    await read();
    const [request] = await requestsOf(app, person);
    expect(request).toMatchObject({ kind: 'deletion', status: 'open', verification: null });
    // The clock runs from the mailbox's receipt, not from when it was read.
    expect(request!.receivedAt).toBe(new Date(Math.floor(receivedAt.getTime() / 1000) * 1000).toISOString());
    expect(Date.parse(request!.dueAt) - Date.parse(request!.receivedAt)).toBe(30 * 86_400_000);
    const [received] = to(person);
    expect(received!.headers.subject).toBe('HarakaFlow: please confirm your request (deletion of your data)');
    expect(received!.headers['reply-to']).toBe('privacy@harakaflow.io');
    expect(received!.text).toContain(`We answer by ${request!.dueAt.slice(0, 10)}`);
    expect(received!.text).toContain(`https://api.harakaflow.test/privacy/request/${request!.id}`);
    const code = /^(\d{6})\r?$/m.exec(received!.text)![1]!;
    // Only its HMAC is kept: the code is in the message alone.
    expect(JSON.stringify(await rows(sql`select * from notify.outbox`))).not.toContain(code);
    const verified = await app.inject({
      method: 'POST',
      url: `/v1/privacy/public-requests/${request!.id}/verify`,
      payload: { code },
    });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json()).toMatchObject({ id: request!.id, kind: 'deletion', dueAt: request!.dueAt });
    const after = (await app.inject({ method: 'GET', url: `/v1/admin/privacy/requests?limit=200`, headers: admin }))
      .json()
      .requests.find((r: { id: string }) => r.id === request!.id);
    expect(after.verification).toContain('code');
    // Nothing of the URL's password, the sender or the subject in the logs.
    expect(logs.text()).not.toContain(dovecot.password);
    expect(logs.text()).not.toContain(person);
    expect(logs.text()).toContain('privacy mailbox: message taken');
  });

  it('answers no machine, and a sender at most 3 times a day, while opening every request', async () => {
    const box = `Cannon${Date.now()}`;
    const { app, read, to } = await mailboxApp(box);
    const victim = `forged.${Date.now()}@example.org`;
    const bounce = `bounce.${Date.now()}@example.org`;
    for (let n = 0; n < 5; n++)
      await dovecot.append(letter(victim, `Request ${n}`, 'Send me a copy of my personal data.'), { mailbox: box });
    await dovecot.append(letter(bounce, 'Out of office', 'I am away.', 'Auto-Submitted: auto-replied\r\n'), {
      mailbox: box,
    });
    await read();
    expect(await requestsOf(app, victim)).toHaveLength(5);
    expect(to(victim)).toHaveLength(3);
    expect(await requestsOf(app, bounce)).toHaveLength(1);
    expect(to(bounce)).toHaveLength(0);
    const [auto] = await requestsOf(app, bounce);
    const listed = (
      await app.inject({ url: `/v1/admin/privacy/requests/${auto!.id}/messages`, headers: admin })
    ).json();
    expect(listed.messages).toEqual([
      expect.objectContaining({ direction: 'in', unanswered: 'Auto-Submitted: auto-replied', sealed: true }),
    ]);
  });

  it('joins a reply to its request, and keeps each message sealed in the vault, downloaded by the admin as it arrived', async () => {
    const box = `Thread${Date.now()}`;
    const { app, read, to } = await mailboxApp(box);
    const person = `baraka.${Date.now()}@example.org`;
    const body = '<script>alert("x")</script> I object to the use of my number for marketing.';
    await dovecot.append(letter(person, 'Objection', body), { mailbox: box });
    await read();
    const [request] = await requestsOf(app, person);
    expect(request!.kind).toBe('objection');
    const ours = to(person)[0]!.headers['message-id']!;
    await dovecot.append(
      letter(
        person,
        'Re: your objection request',
        'Here is more about it.',
        `In-Reply-To: ${ours}\r\nReferences: ${ours}\r\n`,
      ),
      { mailbox: box },
    );
    await read();
    expect(await requestsOf(app, person)).toHaveLength(1);
    const listed = (
      await app.inject({ url: `/v1/admin/privacy/requests/${request!.id}/messages`, headers: admin })
    ).json().messages as { id: string; direction: string }[];
    expect(listed.map((m) => m.direction).sort()).toEqual(['in', 'in', 'out']);
    // Sealed: the vault's row is ciphertext, the text nowhere in the database.
    expect(
      JSON.stringify(
        await rows(sql`select encode(ciphertext, 'escape') as c from vault.secrets where namespace = 'data-rights'`),
      ),
    ).not.toContain('object to the use');
    // Each received message as it arrived (the first and the reply: which came first within a second is the server's).
    const downloads = await Promise.all(
      listed
        .filter((m) => m.direction === 'in')
        .map((m) => app.inject({ url: `/v1/admin/privacy/requests/${request!.id}/messages/${m.id}`, headers: admin })),
    );
    const raw = downloads.find((d) => d.body.includes(body))!;
    expect(downloads.every((d) => d.statusCode === 200)).toBe(true);
    expect(raw.headers['content-type']).toBe('message/rfc822');
    expect(raw.headers['content-disposition']).toMatch(/^attachment; filename="request-/);
    expect(raw.headers['content-security-policy']).toMatch(/^sandbox/);
    expect(raw.headers['x-content-type-options']).toBe('nosniff');
    expect(raw.body).toContain(body);
    const nothing = await app.inject({
      url: `/v1/admin/privacy/requests/${request!.id}/messages/${randomUUID()}`,
      headers: admin,
    });
    expect(nothing.statusCode).toBe(404);
    expect(nothing.json().code).toBe('HF_DATA_RIGHTS_NOT_FOUND');
    const history = (await app.inject({ url: `/v1/admin/privacy/requests?limit=200`, headers: admin }))
      .json()
      .requests.find((r: { id: string }) => r.id === request!.id).history;
    expect(history.map((h: { event?: string }) => h.event)).toContain('message-received');
  });

  it('leaves a kind it cannot read to the admin (unclassified), who classifies it', async () => {
    const box = `Unclear${Date.now()}`;
    const { app, read } = await mailboxApp(box);
    const person = `unclear.${Date.now()}@example.org`;
    await dovecot.append(letter(person, 'Question', 'Hi, I have a question about my information.'), { mailbox: box });
    await read();
    const [request] = await requestsOf(app, person);
    expect(request!.kind).toBe('unclassified');
    const filtered = await app.inject({ url: '/v1/admin/privacy/requests?kind=unclassified', headers: admin });
    expect(filtered.json().requests.map((r: { id: string }) => r.id)).toContain(request!.id);
    const classified = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${request!.id}/classify`,
      headers: admin,
      payload: { kind: 'access' },
    });
    expect(classified.statusCode).toBe(200);
    expect(classified.json()).toMatchObject({ kind: 'access', status: 'open' });
    const again = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${request!.id}/classify`,
      headers: admin,
      payload: { kind: 'deletion' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('HF_DATA_RIGHTS_INVALID_TRANSITION');
    const bad = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${request!.id}/classify`,
      headers: admin,
      payload: { kind: 'unclassified' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('reads the mailbox on its own (one round at startup) and closes cleanly', async () => {
    const box = `Loop${Date.now()}`;
    const person = `loop.${Date.now()}@example.org`;
    await dovecot.append(letter(person, 'Access', 'I want a copy of my personal data.'), { mailbox: box });
    const { app } = await mailboxApp(box);
    await until(async () => (await requestsOf(app, person)).length === 1);
  });
});

describe('PRIVACY_IMAP_URL', () => {
  it('is checked at startup naming the variable, never quoting the URL; production needs TLS but to a loopback host', () => {
    for (const bad of [
      'http://privacy:Hunter2-secret@mail.example.org/INBOX',
      'imaps://mail.example.org/INBOX',
      'imaps://privacy:Hunter2/secret@mail.example.org',
    ]) {
      const problems = problemsOf({ PRIVACY_IMAP_URL: bad });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^PRIVACY_IMAP_URL /);
      expect(problems.join(' ')).not.toMatch(/Hunter2|secret|mail\.example\.org/);
    }
    expect(
      problemsOf({
        PRIVACY_IMAP_URL: 'imaps://privacy:Hunter2-secret@mail.example.org/INBOX',
        PRIVACY_IMAP_POLL_SECONDS: '30',
      }),
    ).toEqual([]);
    expect(problemsOf({ PRIVACY_IMAP_POLL_SECONDS: '2' })).toEqual([
      'PRIVACY_IMAP_POLL_SECONDS must be from 5 to 3600 seconds (got 2)',
    ]);
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://api.example.org', NOTIFY_TRANSPORT: 'eml' };
    expect(
      problemsOf({ ...production, PRIVACY_IMAP_URL: 'imap://privacy:Hunter2-secret@mail.example.org/INBOX' }),
    ).toContain(
      'PRIVACY_IMAP_URL must be imaps:// in production (the mailbox password and the mail cross the network); imap:// is accepted only to a loopback host',
    );
    expect(
      problemsOf({ ...production, PRIVACY_IMAP_URL: 'imap://privacy:Hunter2-secret@127.0.0.1:1143/INBOX' }).filter(
        (p) => p.startsWith('PRIVACY_IMAP'),
      ),
    ).toEqual([]);
  });
});
