// Issue 30 item 2: a legal hold on an account for one class (message_logs, server_logs) did not
// stop that account's own erasure from erasing those rows: the purge asked only about holds on
// `deleted_accounts`, erased everything and ended `fulfilled`. Now a hold keeps what it covers
// through any erasure (an account's deletion, a minor's erasure, a contact's deletion): the rest is
// erased, the receipt lists what was kept under which hold and why, and the kept data is erased
// once the hold is released.
import {
  registerHoldSource,
  registerPersonalDataHandler,
  registerSubjectHoldSource,
  type PersonalDataHandler,
  type SubjectHold,
  type SubjectRef,
} from '@harakaflow/core';
import dataRights, { dataRightsMigrations, verifySignature, type Receipt } from '@harakaflow/data-rights';
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [dataRightsMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('data_rights'));

const rows = async (q: ReturnType<typeof sql>) => resultRows<Record<string, unknown>>(await database.db.execute(q));
const key = (ref: SubjectRef) =>
  ref.kind === 'contact' ? `${ref.accountId}|${ref.phone}` : ref.kind === 'account' ? ref.accountId : ref.email;

/** A package's data in memory: records per subject key, erased by `eraseSubject`, counted by its export. */
function handler(
  name: string,
  identifiers: PersonalDataHandler['identifiers'],
  data: Map<string, number>,
  retentionClasses?: string[],
): PersonalDataHandler {
  return {
    name,
    identifiers,
    retentionClasses,
    async *exportSubject(ref) {
      // A contact's records are its own; an account's are every record under its id.
      for (const [k, n] of data)
        if (ref.kind === 'contact' ? k === key(ref) : k === key(ref) || k.startsWith(`${key(ref)}|`))
          for (let i = 0; i < n; i++) yield { k, i };
    },
    async eraseSubject(ref) {
      let erased = 0;
      for (const [k, n] of [...data]) {
        if (ref.kind === 'contact' ? k === key(ref) : k === key(ref) || k.startsWith(`${key(ref)}|`)) {
          erased += n;
          data.delete(k);
        }
      }
      return { erased };
    },
  };
}

async function build(
  handlers: PersonalDataHandler[],
  holds: SubjectHold[] & { subjects?: Map<string, string> },
  options: { subjectOnly?: Map<string, Set<string>> } = {},
) {
  const events: { action: string; resource?: string; details?: Record<string, unknown> }[] = [];
  const clock = { t: Date.parse('2026-06-01T10:00:00Z') };
  const app: FastifyInstance = Fastify();
  app.decorate('audit', { record: async (e: { action: string }) => void events.push(e) });
  for (const h of handlers) registerPersonalDataHandler(app, h);
  // The holds on each subject with their class and reason (as @harakaflow/retention gives them).
  registerSubjectHoldSource(app, async (subjectId) =>
    holds.filter((h) => holds.subjects?.get(h.id) === subjectId || holds.subjects?.get(h.id) === undefined),
  );
  // And a source that only says which subjects a class keeps (core's first registry).
  if (options.subjectOnly)
    registerHoldSource(app, async (className) => [...(options.subjectOnly!.get(className) ?? [])]);
  const keys = new Map<string, Buffer>();
  await app.register(dataRights, {
    db: database.db,
    signingKeys: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
    subjectKey: 'subject-key-0123456789abcdef0123456789',
    keyStore: {
      put: async (n, v) => void keys.set(n, v),
      get: async (n) => keys.get(n) ?? null,
      delete: async (n) => void keys.delete(n),
    },
    accountExists: async () => true,
    sweepIntervalMs: 0,
    purgeAfterDays: 7,
    now: () => clock.t,
  });
  await app.ready();
  onTestFinished(() => app.close());
  return { app, events, clock };
}

function hold(
  id: string,
  className: string | null,
  subjectId: string | undefined,
  list: SubjectHold[] & { subjects?: Map<string, string> },
) {
  list.subjects ??= new Map();
  if (subjectId) list.subjects.set(id, subjectId);
  list.push({ id, class: className, reason: `case ${id}: keep ${className ?? 'everything'}` });
}

describe('a legal hold on one class through an erasure', () => {
  it("keeps the held class of an account's deletion, erases the rest, lists the hold in the receipt, and erases the kept rows once it is released", async () => {
    const accountId = randomUUID();
    const messages = new Map([
      [`${accountId}|+254700000001`, 3],
      [`${accountId}|+254700000002`, 2],
    ]);
    const audit = new Map([[accountId, 4]]);
    const profile = new Map([[accountId, 1]]);
    const holds: SubjectHold[] & { subjects?: Map<string, string> } = [];
    hold('h-msg', 'message_logs', accountId, holds);
    // Another account's hold keeps nothing of this one.
    hold('h-other', 'server_logs', randomUUID(), holds);
    const { app, events, clock } = await build(
      [
        handler('messages', ['account', 'contact'], messages, ['message_logs']),
        handler('audit', ['account'], audit, ['server_logs']),
        handler('app', ['account'], profile),
      ],
      holds,
    );
    const filed = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    clock.t += 7 * 86_400_000;
    expect(await app.dataRights.runDueErasures()).toBe(1);

    // The rest is erased; the held class stays.
    expect(audit.size).toBe(0);
    expect(profile.size).toBe(0);
    expect([...messages.values()]).toEqual([3, 2]);
    const done = await app.dataRights.get(filed.id);
    expect(done.status).toBe('fulfilled');
    const line = done.receipt!.handlers.find((h) => h.name === 'messages')!;
    expect(line).toMatchObject({
      erased: 0,
      kept: 5,
      holds: [{ id: 'h-msg', class: 'message_logs', reason: 'case h-msg: keep message_logs' }],
    });
    expect(line.keptReason).toContain('legal hold h-msg on message_logs: case h-msg: keep message_logs');
    expect(done.receipt!.handlers.find((h) => h.name === 'audit')).toMatchObject({ erased: 4, kept: 0 });
    // The receipt, holds included, is what was signed.
    const [{ receipt }] = (await rows(sql`select receipt from data_rights.requests where id = ${filed.id}`)) as [
      { receipt: Receipt },
    ];
    const { keyId: _k, signature, ...signed } = receipt;
    expect(verifySignature(signed, signature, app.dataRights.publicKeys().keys[0]!)).toBe(true);
    // Nothing goes while the hold stands.
    expect(await app.dataRights.releaseHeldErasures()).toBe(0);
    expect([...messages.values()]).toEqual([3, 2]);

    // Released: the kept rows go at the next sweep, said in the history and the audit log.
    holds.splice(
      holds.findIndex((h) => h.id === 'h-msg'),
      1,
    );
    expect(await app.dataRights.releaseHeldErasures()).toBe(1);
    expect(messages.size).toBe(0);
    const after = await app.dataRights.get(filed.id);
    expect(after.history.at(-1)).toMatchObject({
      status: 'fulfilled',
      by: 'system',
      event: 'hold-released',
      note: expect.stringContaining('messages: 5 record(s) erased'),
    });
    expect(events.filter((e) => e.action === 'data_rights.erasure.released')).toEqual([
      expect.objectContaining({
        resource: `privacy-request:${filed.id}`,
        details: { handler: 'messages', erased: 5, holds: ['h-msg'] },
      }),
    ]);
    // The identifiers kept for that erasure are gone too; nothing of the account is left in the package.
    expect(await rows(sql`select * from data_rights.held_erasures`)).toEqual([]);
    expect(JSON.stringify(await rows(sql`select * from data_rights.requests`))).not.toContain(accountId);
    expect(await app.dataRights.releaseHeldErasures()).toBe(0);
  });

  it("keeps a held class through a contact's deletion and a minor's erasure", async () => {
    const accountId = randomUUID();
    const minor = randomUUID();
    const messages = new Map([
      [`${accountId}|+254700000001`, 2],
      [`${accountId}|+254700000002`, 1],
      [`${minor}|+254700000009`, 6],
    ]);
    const audit = new Map([[minor, 3]]);
    const holds: SubjectHold[] & { subjects?: Map<string, string> } = [];
    hold('h-acct', 'message_logs', accountId, holds);
    hold('h-minor', 'server_logs', minor, holds);
    const { app } = await build(
      [
        handler('messages', ['account', 'contact'], messages, ['message_logs']),
        handler('audit', ['account'], audit, ['server_logs']),
      ],
      holds,
    );

    // A contact's deletion runs at once (the plugin's sweep, kicked when it is filed).
    const contact = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'contact', accountId, phone: '+254700000001' },
      filedBy: 'self',
      verification: 'api-key',
    });
    await until(async () => (await app.dataRights.get(contact.id)).status === 'fulfilled');
    const contactDone = await app.dataRights.get(contact.id);
    expect(contactDone.receipt!.handlers.find((h) => h.name === 'messages')).toMatchObject({
      erased: 0,
      kept: 2,
      holds: [{ id: 'h-acct' }],
    });
    expect(messages.get(`${accountId}|+254700000001`)).toBe(2);

    await app.dataRights.scheduleErasure(minor, { dueAt: new Date(0), reason: 'reported as a minor' });
    const state = await app.dataRights.erasureState(minor);
    expect(state).toMatchObject({ status: 'done', counts: { messages: 6, audit: 0 } });
    expect(messages.has(`${minor}|+254700000009`)).toBe(false);
    expect(audit.get(minor)).toBe(3);

    // Each release reaches its own subject only: the contact's row, not the account's other contact.
    holds.splice(0, holds.length);
    await app.dataRights.releaseHeldErasures();
    await until(async () => (await rows(sql`select 1 from data_rights.held_erasures`)).length === 0);
    expect(messages.has(`${accountId}|+254700000001`)).toBe(false);
    expect(messages.get(`${accountId}|+254700000002`)).toBe(1);
    expect(audit.size).toBe(0);
  });

  it('keeps what a hold source that gives no details holds, and still waits whole for a hold on every class', async () => {
    const accountId = randomUUID();
    const whole = randomUUID();
    const messages = new Map([
      [`${accountId}|+254700000001`, 2],
      [`${whole}|+254700000001`, 1],
    ]);
    const profile = new Map([
      [accountId, 1],
      [whole, 1],
    ]);
    const subjectOnly = new Map([['message_logs', new Set([accountId])]]);
    const holds: SubjectHold[] & { subjects?: Map<string, string> } = [];
    hold('h-all', null, whole, holds);
    const { app, clock } = await build(
      [handler('messages', ['account', 'contact'], messages, ['message_logs']), handler('app', ['account'], profile)],
      holds,
      { subjectOnly },
    );
    const a = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    const w = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId: whole },
      filedBy: 'self',
      verification: 'api-key',
    });
    clock.t += 7 * 86_400_000;
    expect(await app.dataRights.runDueErasures()).toBe(1);
    expect((await app.dataRights.get(a.id)).receipt!.handlers.find((h) => h.name === 'messages')).toMatchObject({
      erased: 0,
      kept: 2,
      holds: [{ id: 'hold-source:message_logs', class: 'message_logs' }],
    });
    expect(profile.has(accountId)).toBe(false);
    // A hold on everything: nothing erased, the request visibly held (as before).
    expect((await app.dataRights.get(w.id)).status).toBe('in_progress');
    expect(profile.get(whole)).toBe(1);
    expect(messages.get(`${whole}|+254700000001`)).toBe(1);
  });
});
