// Issue 32: requests from people without an API key. A form's request waits for its emailed code
// (six digits, kept as an HMAC, 10 minutes, 5 tries) and opens when it is entered, its clock running
// from the submission; a message read from the privacy mailbox opens a request once (a crash half-way
// resumes), a copy of it opens nothing more, a reply joins its thread; closed requests go with their
// sealed messages under the retention class rights_requests.
import { retentionClasses, type RetentionBatch } from '@harakaflow/core';
import dataRights, {
  classifyRequest,
  dataRightsMigrations,
  type DataRightsOptions,
  type IncomingMessage,
} from '@harakaflow/data-rights';
import { resultRows } from '@harakaflow/db';
import { captureLogs, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [dataRightsMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('data_rights'));

const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const ACCOUNT = randomUUID();

interface Built {
  app: FastifyInstance;
  clock: { t: number };
  told: { id: string; status: string; address: string }[];
  sealed: Map<string, Buffer>;
  events: string[];
}

async function build(options: Partial<DataRightsOptions> = {}): Promise<Built> {
  const clock = { t: Date.parse('2026-06-01T10:00:00Z') };
  const told: Built['told'] = [];
  const sealed = new Map<string, Buffer>();
  const events: string[] = [];
  const app = Fastify({ logger: { stream: captureLogs().stream, level: 'warn' } });
  app.decorate('audit', { record: async (e: { action: string }) => void events.push(e.action) });
  await app.register(dataRights, {
    db: database.db,
    signingKeys: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
    subjectKey: 'subject-key-0123456789abcdef0123456789',
    keyStore: { put: async () => {}, get: async () => null, delete: async () => {} },
    accountExists: async (id) => id === ACCOUNT,
    accountByEmail: async (email) => (email === 'holder@example.org' ? ACCOUNT : null),
    evidence: {
      put: async (requestId, name, value) => void sealed.set(`${requestId}/${name}`, value),
      get: async (requestId, name) => sealed.get(`${requestId}/${name}`) ?? null,
      deleteAll: async (requestId) =>
        [...sealed.keys()].filter((k) => k.startsWith(requestId) && sealed.delete(k)).length,
    },
    onRequesterUpdate: async (request, address) => void told.push({ id: request.id, status: request.status, address }),
    sweepIntervalMs: 0,
    now: () => clock.t,
    ...options,
  });
  await app.ready();
  return { app, clock, told, sealed, events };
}

describe('a request made with an emailed code', () => {
  it('opens only when the code is entered, with its clock from the submission and the same id', async () => {
    const { app, clock } = await build();
    const { id } = await app.dataRights.intake.submit({
      email: 'Wanjiku@Example.org',
      kind: 'access',
      contact: '+254700000001',
      details: 'all of it',
    });
    expect((await rows(sql`select count(*)::int as n from data_rights.requests`))[0]!.n).toBe(0);
    const submitted = clock.t;
    clock.t += 5 * 60_000;
    const issued = (await app.dataRights.intake.issueCode(id))!;
    expect(issued.code).toMatch(/^\d{6}$/);
    expect(issued.address).toBe('wanjiku@example.org');
    expect(issued.expiresAt.getTime()).toBe(clock.t + 10 * 60_000);
    // Only its HMAC is stored.
    expect(JSON.stringify(await rows(sql`select * from data_rights.verifications`))).not.toContain(issued.code);
    const opened = await app.dataRights.intake.confirm(id, `${issued.code.slice(0, 3)} ${issued.code.slice(3)}`);
    expect(opened).toMatchObject({
      id,
      kind: 'access',
      filedBy: 'self',
      contact: '+254700000001',
      subject: { kind: 'email', email: 'wanjiku@example.org' },
    });
    expect(opened.receivedAt).toBe(new Date(submitted).toISOString());
    expect(opened.dueAt).toBe(new Date(submitted + 30 * 86_400_000).toISOString());
    // The code is spent, the waiting row gone.
    await expect(app.dataRights.intake.confirm(id, issued.code)).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_CODE_INVALID',
      statusCode: 400,
    });
    expect(await rows(sql`select * from data_rights.verifications`)).toEqual([]);
    await app.close();
  });

  it('refuses a wrong code, an expired one (410) and a sixth try (410), and a new code replaces the old', async () => {
    const { app, clock } = await build();
    const { id } = await app.dataRights.intake.submit({ email: 'a@example.org', kind: 'deletion' });
    await expect(app.dataRights.intake.confirm(id, '123456')).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_CODE_INVALID',
    });
    const first = (await app.dataRights.intake.issueCode(id))!;
    clock.t += 10 * 60_000 + 1;
    await expect(app.dataRights.intake.confirm(id, first.code)).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_CODE_EXPIRED',
      statusCode: 410,
    });
    const second = (await app.dataRights.intake.issueCode(id))!;
    await expect(
      app.dataRights.intake.confirm(
        id,
        first.code === second.code ? String((Number(first.code) + 1) % 1e6).padStart(6, '0') : first.code,
      ),
    ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_CODE_INVALID' });
    const wrong = String((Number(second.code) + 1) % 1e6).padStart(6, '0');
    for (let i = 0; i < 4; i++)
      await expect(app.dataRights.intake.confirm(id, wrong)).rejects.toMatchObject({
        code: 'HF_DATA_RIGHTS_CODE_INVALID',
      });
    // Five tries used (one above, four here): even the right code is dead now.
    await expect(app.dataRights.intake.confirm(id, second.code)).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_CODE_ATTEMPTS',
      statusCode: 410,
    });
    const third = (await app.dataRights.intake.issueCode(id))!;
    expect((await app.dataRights.intake.confirm(id, third.code)).status).toBe('in_progress');
    await app.close();
  });

  it('gives concurrent guesses no more than five tries between them, and one right code wins once', async () => {
    const { app } = await build();
    const { id } = await app.dataRights.intake.submit({ email: 'b@example.org', kind: 'objection' });
    const { code } = (await app.dataRights.intake.issueCode(id))!;
    const guesses = Array.from({ length: 40 }, (_, i) => String((Number(code) + 1 + i) % 1e6).padStart(6, '0'));
    const results = await Promise.allSettled(guesses.map((g) => app.dataRights.intake.confirm(id, g)));
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'opened'));
    expect(codes.filter((c) => c === 'HF_DATA_RIGHTS_CODE_INVALID')).toHaveLength(5);
    expect(codes.filter((c) => c === 'HF_DATA_RIGHTS_CODE_ATTEMPTS')).toHaveLength(35);
    const fresh = (await app.dataRights.intake.issueCode(id))!.code;
    const twice = await Promise.allSettled([
      app.dataRights.intake.confirm(id, fresh),
      app.dataRights.intake.confirm(id, fresh),
    ]);
    expect(twice.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await rows(sql`select count(*)::int as n from data_rights.requests where id = ${id}`))[0]!.n).toBe(1);
    await app.close();
  });

  it("makes an account holder's request the account's (matched by its verified address)", async () => {
    const { app } = await build();
    const { id } = await app.dataRights.intake.submit({ email: 'holder@example.org', kind: 'objection' });
    const { code } = (await app.dataRights.intake.issueCode(id))!;
    expect((await app.dataRights.intake.confirm(id, code)).subject).toEqual({ kind: 'account', accountId: ACCOUNT });
    await app.close();
  });

  it('refuses bad input with HF_DATA_RIGHTS_INVALID_REQUEST and malformed codes or ids with HF_DATA_RIGHTS_CODE_INVALID, never anything else', async () => {
    const { app } = await build();
    for (const bad of [
      { email: 'nope', kind: 'access' },
      { email: 'a@b.org', kind: 'unclassified' },
      { email: 'a@b.org', kind: 'access', contact: '0700' },
      { email: 'a@b.org', kind: 'access', details: 'x'.repeat(2001) },
    ]) {
      await expect(app.dataRights.intake.submit(bad)).rejects.toMatchObject({
        code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
        statusCode: 400,
      });
    }
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.oneof(fc.string(), fc.uuid()), async (code, id) => {
        await expect(app.dataRights.intake.confirm(id, code)).rejects.toMatchObject({
          code: 'HF_DATA_RIGHTS_CODE_INVALID',
        });
      }),
      { numRuns: 60 },
    );
    await app.close();
  });

  it('forgets a form never confirmed after the verification window (verifyWithinDays), and finishes a claimed code after a crash', async () => {
    const { app, clock } = await build();
    const { id } = await app.dataRights.intake.submit({ email: 'c@example.org', kind: 'access' });
    // A code matched and claimed, then the process died before filing the request.
    const { id: crashed } = await app.dataRights.intake.submit({ email: 'd@example.org', kind: 'restriction' });
    await database.db.execute(
      sql`update data_rights.verifications set verified_at = ${new Date(clock.t).toISOString()}::timestamptz where request_id = ${crashed}`,
    );
    // A mailbox request's code row, written just before its request is filed: a sweep then leaves it
    // (a sweep once deleted it in that window, and the 'received' message went without its code).
    const filing = randomUUID();
    await database.db.execute(
      sql`insert into data_rights.verifications (request_id, address, received_at) values (${filing}, 'e@example.org', ${new Date(clock.t).toISOString()}::timestamptz)`,
    );
    clock.t += 2 * 60_000;
    await app.dataRights.intake.sweep();
    expect(await app.dataRights.intake.waitingAddress(filing)).toBe('e@example.org');
    expect(await app.dataRights.get(crashed)).toMatchObject({
      id: crashed,
      kind: 'restriction',
      verification: expect.stringContaining('code'),
    });
    expect(await app.dataRights.intake.waitingAddress(id)).toBe('c@example.org');
    clock.t += 31 * 86_400_000;
    await app.dataRights.intake.sweep();
    expect(await app.dataRights.intake.waitingAddress(id)).toBeNull();
    expect(await rows(sql`select * from data_rights.verifications`)).toEqual([]);
    await app.close();
  });
});

const message = (over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  source: `privacy:1:${Math.floor(Math.random() * 1e9)}`,
  messageId: `${randomUUID()}@mail.example.org`,
  thread: [],
  receivedAt: new Date('2026-06-01T08:00:00Z'),
  size: 100,
  raw: Buffer.from('From: someone\r\n\r\nPlease delete all my data.\r\n'),
  from: 'njeri@example.org',
  subject: 'Delete my data',
  text: 'Please delete all my data.',
  automatic: null,
  ...over,
});

describe('a message read from the privacy mailbox', () => {
  it('opens one request, from its receipt, its kind read from its text, the sender told, the message sealed', async () => {
    const { app, told, sealed } = await build();
    const m = message();
    const answered: string[] = [];
    const first = await app.dataRights.intake.receive(m, async (a) => (answered.push(a), null));
    expect(first).toMatchObject({ outcome: 'opened', unanswered: null });
    const request = await app.dataRights.get(first.requestId!);
    expect(request).toMatchObject({
      kind: 'deletion',
      status: 'open',
      verification: null,
      filedBy: 'admin',
      receivedAt: m.receivedAt.toISOString(),
      subject: { kind: 'email', email: 'njeri@example.org' },
    });
    expect(told).toEqual([{ id: request.id, status: 'open', address: 'njeri@example.org' }]);
    expect(answered).toEqual(['njeri@example.org']);
    expect([...sealed.values()]).toEqual([m.raw]);
    // The same message handed over again (a crash before the mailbox mark moved): nothing more.
    expect(await app.dataRights.intake.receive(m, async () => null)).toMatchObject({
      outcome: 'taken-before',
      requestId: request.id,
    });
    // A copy under another UID (delivered twice): noted, no second request.
    expect(
      await app.dataRights.intake.receive({ ...m, source: 'privacy:1:999999999' }, async () => null),
    ).toMatchObject({ outcome: 'duplicate', requestId: request.id });
    expect((await rows(sql`select count(*)::int as n from data_rights.requests`))[0]!.n).toBe(1);
    expect(told).toHaveLength(1);
    // It waits for a code sent to the sender; entering it verifies the request (by the requester).
    const { code, address } = (await app.dataRights.intake.issueCode(request.id))!;
    expect(address).toBe('njeri@example.org');
    const verified = await app.dataRights.intake.confirm(request.id, code);
    expect(verified.history.find((h) => h.event === 'verified')).toMatchObject({ by: 'self' });
    await app.close();
  });

  it('resumes a message whose request was filed but not recorded (a crash), without a second request or a second message', async () => {
    const { app, told } = await build();
    const m = message({ subject: 'Question', text: 'What happens to my messages?' });
    const first = await app.dataRights.intake.receive(m, async () => null);
    expect((await app.dataRights.get(first.requestId!)).kind).toBe('unclassified');
    await database.db.execute(
      sql`update data_rights.messages set request_id = null, unanswered = null where source = ${m.source}`,
    );
    expect(await app.dataRights.intake.receive(m, async () => null)).toMatchObject({
      outcome: 'opened',
      requestId: first.requestId,
    });
    expect((await rows(sql`select count(*)::int as n from data_rights.requests`))[0]!.n).toBe(1);
    expect(told).toHaveLength(1);
    await app.close();
  });

  it('answers nobody for a machine, or a sender past its answers, and opens the request all the same; a message without a sender opens none', async () => {
    const { app, told } = await build();
    const auto = await app.dataRights.intake.receive(
      message({ automatic: 'Auto-Submitted: auto-replied' }),
      async () => {
        throw new Error('not asked for a machine');
      },
    );
    expect(auto).toMatchObject({ outcome: 'opened', unanswered: 'Auto-Submitted: auto-replied' });
    const capped = await app.dataRights.intake.receive(
      message({ subject: 'Objection', text: 'I object to the use of my data for marketing.' }),
      async () => 'past the answers of the day',
    );
    expect(capped).toMatchObject({ outcome: 'opened', unanswered: 'past the answers of the day' });
    expect(told).toEqual([]);
    // No code waits for them: the request cannot send one.
    expect(await app.dataRights.intake.issueCode(auto.requestId!)).toBeNull();
    expect((await app.dataRights.get(capped.requestId!)).status).toBe('open');
    expect(await app.dataRights.intake.receive(message({ from: null }), async () => null)).toMatchObject({
      outcome: 'no-sender',
      requestId: null,
    });
    // A second deletion from the same sender while the first is open is the first (one deletion per subject).
    expect(await app.dataRights.intake.receive(message(), async () => null)).toMatchObject({
      outcome: 'attached',
      requestId: auto.requestId,
    });
    expect((await rows(sql`select count(*)::int as n from data_rights.verifications`))[0]!.n).toBe(0);
    await app.close();
  });

  it('joins a reply to its request: by the id of a message it came in by, or of a notification sent about it', async () => {
    const { app, sealed, events } = await build();
    const m = message();
    const { requestId } = await app.dataRights.intake.receive(m, async () => null);
    const reply = await app.dataRights.intake.receive(
      message({
        messageId: null,
        thread: ['unknown@x', m.messageId!],
        text: 'Here is my ID number.',
        subject: 'Re: Delete my data',
      }),
      async () => null,
    );
    expect(reply).toMatchObject({ outcome: 'attached', requestId });
    await app.dataRights.intake.recordSent(requestId!, '<0190aaaa-0000-7000-8000-000000000001@harakaflow.test>');
    const second = await app.dataRights.intake.receive(
      message({ thread: ['0190aaaa-0000-7000-8000-000000000001@harakaflow.test'] }),
      async () => null,
    );
    expect(second).toMatchObject({ outcome: 'attached', requestId });
    expect((await app.dataRights.get(requestId!)).history.filter((h) => h.event === 'message-received')).toHaveLength(
      2,
    );
    expect(events).toContain('data_rights.request.message');
    const list = await app.dataRights.intake.messagesOf(requestId!);
    expect(list.map((x) => x.direction)).toEqual(['in', 'in', 'in', 'out']);
    expect(sealed.size).toBe(3);
    expect(await app.dataRights.intake.evidenceOf(requestId!, list[0]!.id)).toEqual(m.raw);
    expect(await app.dataRights.intake.evidenceOf(requestId!, randomUUID())).toBeNull();
    await app.close();
  });

  it('is classified by the admin when its kind was not clear; a verified one then starts', async () => {
    const { app } = await build();
    const { requestId } = await app.dataRights.intake.receive(
      message({ subject: 'Hello', text: 'I want to know things and delete things.' }),
      async () => null,
    );
    const { code } = (await app.dataRights.intake.issueCode(requestId!))!;
    expect((await app.dataRights.intake.confirm(requestId!, code)).kind).toBe('unclassified');
    const classified = await app.dataRights.classify(requestId!, 'restriction');
    expect(classified).toMatchObject({ kind: 'restriction', status: 'denied' }); // a restriction applies to an account
    await expect(app.dataRights.classify(requestId!, 'access')).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_TRANSITION',
      statusCode: 409,
    });
    await expect(app.dataRights.classify(randomUUID(), 'access')).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_NOT_FOUND',
    });
    await expect(app.dataRights.classify(requestId!, 'unclassified' as never)).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
    });
    await app.close();
  });
});

describe('the language a request was asked in (issue 32 item 7)', () => {
  it('is kept from the form to the request, from the page a mailbox request is confirmed on, and from a filing; a tag only', async () => {
    const { app } = await build();
    const { id } = await app.dataRights.intake.submit({ email: 'amani@example.org', kind: 'access', lang: 'SW' });
    expect(await app.dataRights.intake.waiting(id)).toEqual({
      address: 'amani@example.org',
      lang: 'sw',
      kind: 'access',
      contact: null,
    });
    const form = await app.dataRights.intake.confirm(id, (await app.dataRights.intake.issueCode(id))!.code, {
      lang: 'en',
    });
    // The form's own language stands: the page's is for a request that has none.
    expect(form.lang).toBe('sw');
    // A form of an earlier version (no lang in what it waits with): none.
    const older = await app.dataRights.intake.submit({ email: 'old@example.org', kind: 'access' });
    expect(await app.dataRights.intake.waiting(older.id)).toEqual({
      address: 'old@example.org',
      lang: null,
      kind: 'access',
      contact: null,
    });
    expect(
      (await app.dataRights.intake.confirm(older.id, (await app.dataRights.intake.issueCode(older.id))!.code)).lang,
    ).toBeUndefined();

    const mailed = await app.dataRights.intake.receive(message(), async () => null);
    expect(await app.dataRights.intake.waiting(mailed.requestId!)).toEqual({
      address: 'njeri@example.org',
      lang: null,
      kind: null,
      contact: null,
    });
    const verified = await app.dataRights.intake.confirm(
      mailed.requestId!,
      (await app.dataRights.intake.issueCode(mailed.requestId!))!.code,
      { lang: 'sw' },
    );
    expect(verified.lang).toBe('sw');
    expect((await app.dataRights.get(mailed.requestId!)).lang).toBe('sw');

    expect(
      (
        await app.dataRights.file({
          kind: 'access',
          subject: { kind: 'account', accountId: ACCOUNT },
          filedBy: 'self',
          verification: 'api-key',
          lang: 'sw-KE',
        })
      ).lang,
    ).toBe('sw-ke');
    expect(
      (
        await app.dataRights.file({
          kind: 'objection',
          subject: { kind: 'account', accountId: ACCOUNT },
          filedBy: 'self',
          verification: 'api-key',
        })
      ).lang,
    ).toBeUndefined();
    for (const lang of ['', 'kiswahili-sana-sana-sana', 'sw_KE', 'sw-KE-x-y-z-w', 42, {}, '<b>']) {
      await expect(
        app.dataRights.file({
          kind: 'access',
          subject: { kind: 'account', accountId: ACCOUNT },
          filedBy: 'self',
          verification: 'api-key',
          lang: lang as string,
        }),
      ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_REQUEST' });
      await expect(
        app.dataRights.intake.submit({ email: 'x@example.org', kind: 'access', lang }),
      ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_REQUEST' });
    }
    await app.close();
  });
});

describe('the retention class rights_requests', () => {
  it('deletes a closed request past its period with its messages and their sealed copies; an open one stays', async () => {
    const { app, clock, sealed } = await build({ retainDays: 30 });
    const closed = await app.dataRights.intake.receive(message(), async () => null);
    await app.dataRights.deny(closed.requestId!, 'not ours to answer');
    const open = await app.dataRights.intake.receive(message(), async () => null);
    const spec = retentionClasses(app).find((c) => c.name === 'rights_requests')!;
    expect(spec.periodDays).toBe(30);
    clock.t += 31 * 86_400_000;
    const batch = (dryRun: boolean): RetentionBatch => ({
      cutoff: new Date(clock.t - 30 * 86_400_000),
      planCutoffs: new Map(),
      limit: 100,
      dryRun,
      heldSubjects: [],
    });
    expect(await spec.purgeBatch!(batch(true))).toEqual({ rows: 1, done: true });
    expect(await spec.purgeBatch!(batch(false))).toEqual({ rows: 1, done: true });
    await expect(app.dataRights.get(closed.requestId!)).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_NOT_FOUND' });
    expect(await app.dataRights.get(open.requestId!)).toMatchObject({ status: 'open' });
    expect([...sealed.keys()].every((k) => k.startsWith(open.requestId!))).toBe(true);
    expect(await rows(sql`select * from data_rights.messages where request_id = ${closed.requestId}`)).toEqual([]);
    await app.close();
  });
});

describe('classifyRequest', () => {
  it.each([
    ['Please delete my account and all my data', 'deletion'],
    ['I want a copy of my personal data (subject access request)', 'access'],
    ['Send my data in a machine-readable format so I can move it', 'portability'],
    ['Please correct my name, it is misspelled', 'correction'],
    ['I object to the use of my number for marketing', 'objection'],
    ['I withdraw my consent to analytics', 'withdraw_consent'],
    ['Please restrict processing of my data while you check', 'restriction'],
    ['Delete my data, and before that send me a copy of my personal data', 'unclassified'],
    ['Hello, who are you?', 'unclassified'],
  ])('%s → %s', (text, kind) => {
    expect(classifyRequest(text)).toBe(kind);
  });

  it('answers a kind for any text, quickly', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 5000 }), (text) => {
        const started = performance.now();
        expect([
          'access',
          'portability',
          'correction',
          'deletion',
          'restriction',
          'objection',
          'withdraw_consent',
          'unclassified',
        ]).toContain(classifyRequest(text));
        expect(performance.now() - started).toBeLessThan(200);
      }),
      { numRuns: 200 },
    );
  });
});
