// Issue 32 (and 34's bounce mailbox after it): a mailbox read over IMAP from a real Dovecot, each
// message handed over once, in UID order, by one reader at a time across replicas; the mark
// survives a restart, a new UIDVALIDITY starts it over, a consumer that fails gets the message again;
// the password is in no log line.
import {
  captureLogs,
  dovecotAvailable,
  startDovecot,
  testDatabase,
  until,
  type TestDatabase,
  type TestDovecot,
} from '@harakaflow/testing';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MailboxReader, notifyMigrations, type MailboxMessage, type MailboxReaderOptions } from '../src/index.js';

let database: TestDatabase;
let dovecot: TestDovecot;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
  if (dovecotAvailable) dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.close();
  await database.close();
});
beforeEach(() => database.truncate('notify'));

const note = (n: number, from = 'person@example.org') =>
  `From: ${from}\r\nSubject: message ${n}\r\nMessage-ID: <m${n}.${Date.now()}@example.org>\r\n\r\nBody ${n}.\r\n`;

function reader(mailbox: string, got: MailboxMessage[], over: Partial<MailboxReaderOptions> = {}) {
  const logs = captureLogs();
  const r = new MailboxReader({
    db: database.db,
    url: dovecot.urlOf(mailbox),
    name: mailbox.toLowerCase(),
    log: Fastify({ logger: { level: 'info', stream: logs.stream } }).log,
    onMessage: async (m) => void got.push(m),
    ...over,
  });
  return { r, logs };
}

describe.skipIf(!dovecotAvailable)('MailboxReader', () => {
  it('hands each message over once, in UID order, with its receipt time, and resumes after a restart from its mark', async () => {
    const box = `Box${Date.now()}`;
    const got: MailboxMessage[] = [];
    const at = new Date('2026-11-30T09:15:00Z');
    const uids = [
      await dovecot.append(note(1), { mailbox: box, date: at }),
      await dovecot.append(note(2), { mailbox: box }),
    ];
    const first = reader(box, got);
    expect(await first.r.round()).toEqual({ status: 'done', handled: 2, more: false });
    expect(got.map((m) => m.uid)).toEqual(uids);
    expect(got[0]!.receivedAt.toISOString()).toBe(at.toISOString());
    expect(got[0]!.source.toString()).toContain('Body 1.');
    expect(got[0]!.key).toMatch(new RegExp(`^${box.toLowerCase()}:\\d+:${uids[0]}$`));
    expect(await first.r.round()).toMatchObject({ status: 'done', handled: 0 });
    // A new process (another replica, after the lease ran out): only the new message.
    await database.db.execute(sql`update notify.mailboxes set until = now() - interval '1 second'`);
    const third = await dovecot.append(note(3), { mailbox: box });
    const again = reader(box, got);
    expect(await again.r.round()).toMatchObject({ status: 'done', handled: 1 });
    expect(got.map((m) => m.uid)).toEqual([...uids, third]);
  });

  it('lets one reader of two replicas read at a time, and no message is handed over twice', async () => {
    const box = `Shared${Date.now()}`;
    for (let n = 0; n < 6; n++) await dovecot.append(note(n), { mailbox: box });
    const got: MailboxMessage[] = [];
    const a = reader(box, got);
    const b = reader(box, got);
    const rounds = await Promise.all([a.r.round(), b.r.round()]);
    expect(rounds.map((r) => r.status).sort()).toEqual(['busy', 'done']);
    expect(got).toHaveLength(6);
    expect(new Set(got.map((m) => m.key)).size).toBe(6);
    const [row] = resultRows<{ last_uid: string; holder: string }>(
      await database.db.execute(sql`select last_uid::text, holder from notify.mailboxes`),
    );
    expect(Number(row!.last_uid)).toBe(Math.max(...got.map((m) => m.uid)));
  });

  it('gives a message whose consumer failed again at the next round, and the ones after it only after it', async () => {
    const box = `Failing${Date.now()}`;
    await dovecot.append(note(1), { mailbox: box });
    await dovecot.append(note(2), { mailbox: box });
    const got: number[] = [];
    let fail = true;
    const { r, logs } = reader(box, [], {
      onMessage: async (m) => {
        if (m.uid === 2 && fail) throw Object.assign(new Error('database away'), { code: 'ECONNREFUSED' });
        got.push(m.uid);
      },
    });
    expect(await r.round()).toMatchObject({ status: 'failed', handled: 1 });
    expect(
      logs
        .lines()
        .some((l) => String(l.msg).includes('the round stopped') && JSON.stringify(l.err).includes('ECONNREFUSED')),
    ).toBe(true);
    fail = false;
    expect(await r.round()).toMatchObject({ status: 'done', handled: 1 });
    expect(got).toEqual([1, 2]);
  });

  it('skips a message its consumer cannot take (the database refusing it as data at once, any other failure after 3 rounds), naming its UID, and reads on', async () => {
    const box = `Poison${Date.now()}`;
    for (const n of [1, 2, 3]) await dovecot.append(note(n), { mailbox: box });
    const got: number[] = [];
    const { r, logs } = reader(box, [], {
      onMessage: async (m) => {
        // 1: what Postgres says of a NUL in text (a forged Message-ID); 2: fails every time.
        if (m.uid === 1)
          throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
        if (m.uid === 2) throw Object.assign(new Error('cannot take it'), { code: 'HF_TEST_POISON' });
        got.push(m.uid);
      },
    });
    expect(await r.round()).toMatchObject({ status: 'failed', handled: 0 });
    expect(await r.round()).toMatchObject({ status: 'failed', handled: 0 });
    expect(got).toEqual([]);
    expect(await r.round()).toMatchObject({ status: 'done', handled: 1 });
    expect(got).toEqual([3]);
    const skipped = logs.lines().filter((l) => String(l.msg).includes('was skipped'));
    expect(skipped.map((l) => l.uid)).toEqual([1, 2]);
    expect(
      logs
        .lines()
        .filter((l) => String(l.msg).includes('the round stopped'))
        .map((l) => l.uid),
    ).toEqual([2, 2]);
  });

  it('starts over when the mailbox gets a new UIDVALIDITY (the consumer skips what it has by key)', async () => {
    const box = `Moved${Date.now()}`;
    await dovecot.append(note(1), { mailbox: box });
    const got: MailboxMessage[] = [];
    const { r, logs } = reader(box, got);
    await r.round();
    await dovecot.recreate(box);
    await dovecot.append(note(2), { mailbox: box });
    expect(await r.round()).toMatchObject({ status: 'done', handled: 1 });
    expect(got.map((m) => m.uid)).toEqual([1, 1]);
    expect(got[0]!.uidValidity).not.toBe(got[1]!.uidValidity);
    expect(logs.lines().some((l) => String(l.msg).includes('UIDVALIDITY changed'))).toBe(true);
  });

  it('cuts a message past maxBytes and says so; a wrong password or an unknown mailbox fails the round with no password logged', async () => {
    const box = `Big${Date.now()}`;
    await dovecot.append(`From: a@example.org\r\nSubject: big\r\n\r\n${'x'.repeat(5000)}\r\n`, { mailbox: box });
    const got: MailboxMessage[] = [];
    await reader(box, got, { maxBytes: 1000 }).r.round();
    expect(got[0]).toMatchObject({ truncated: true });
    expect(got[0]!.source.length).toBe(1000);
    expect(got[0]!.size).toBeGreaterThan(5000);

    const wrong = reader('INBOX', [], {
      url: dovecot.url.replace(encodeURIComponent(dovecot.password), 'Wrong-Hunter2-pass'),
      name: 'wrong',
      timeoutSeconds: 5,
    });
    expect(await wrong.r.round()).toMatchObject({ status: 'failed' });
    const missing = reader('INBOX', [], { url: dovecot.urlOf('No-Such-Box'), name: 'missing' });
    expect(await missing.r.round()).toMatchObject({ status: 'failed' });
    const logged = JSON.stringify([...wrong.logs.lines(), ...missing.logs.lines()]);
    expect(logged).toContain(`${dovecot.user}@127.0.0.1:${dovecot.port}/INBOX`);
    expect(logged).not.toContain('Hunter2');
    expect(logged).not.toContain(dovecot.password);
  });

  it('runs rounds on its own until stopped', async () => {
    const box = `Loop${Date.now()}`;
    const got: MailboxMessage[] = [];
    const { r } = reader(box, got, { intervalMs: 50 });
    await dovecot.append(note(1), { mailbox: box });
    r.start();
    await dovecot.append(note(2), { mailbox: box });
    await until(() => got.length === 2);
    await r.stop();
  });
});
