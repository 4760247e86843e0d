import {
  registerHoldSource,
  registerPersonalDataHandler,
  type PersonalDataHandler,
  type SubjectRef,
} from '@harakaflow/core';
import dataRights, {
  dataRightsMigrations,
  REQUEST_STATUSES,
  signedManifestFields,
  verifySignature,
  type DataRightsOptions,
  type Manifest,
} from '@harakaflow/data-rights';
import { canTransition, isFinal } from '@harakaflow/data-rights/internals';
import { captureLogs, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const SEED = Buffer.alloc(32, 9).toString('base64');
/** Polls until `check` holds (the purge of a request due now runs just after it is filed). */
async function until(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const rowsOf = resultRows;
let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [dataRightsMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('data_rights'));

/** A fake package: rows per subject in memory, a stream for large parts, a crash on demand. */
function fakeHandler(
  name: string,
  identifiers: PersonalDataHandler['identifiers'],
  rows: Map<string, number>,
  opts: { failOnce?: boolean; kept?: number } = {},
): PersonalDataHandler {
  let fail = opts.failOnce ?? false;
  const key = (ref: SubjectRef) =>
    ref.kind === 'contact' ? `${ref.accountId}|${ref.phone}` : ref.kind === 'account' ? ref.accountId : ref.email;
  return {
    name,
    identifiers,
    withheld: name === 'secrets' ? 'secret values' : undefined,
    async *exportSubject(ref) {
      for (let i = 0; i < (rows.get(key(ref)) ?? 0); i++) yield { n: i, of: name };
    },
    async eraseSubject(ref) {
      if (fail) {
        fail = false;
        throw new Error('database away');
      }
      const n = rows.get(key(ref)) ?? 0;
      rows.delete(key(ref));
      return { erased: n, kept: opts.kept ? [{ count: opts.kept, reason: `${name}: kept by law` }] : [] };
    },
  };
}

interface Built {
  app: FastifyInstance;
  alerts: string[];
  events: { action: string; details?: Record<string, unknown> }[];
  pending: Map<string, boolean>;
  keys: Map<string, Buffer>;
  clock: { t: number };
}

async function build(options: Partial<DataRightsOptions> = {}, handlers: PersonalDataHandler[] = []): Promise<Built> {
  const events: Built['events'] = [];
  const alerts: string[] = [];
  const pending = new Map<string, boolean>();
  const keys = new Map<string, Buffer>();
  const clock = { t: Date.parse('2026-06-01T10:00:00Z') };
  const logs = captureLogs();
  const app = Fastify({ logger: { stream: logs.stream, level: 'warn' } });
  // Security events reach the audit plugin when there is one; here, a recorder with its decorator.
  app.decorate('audit', {
    record: async (e: { action: string; details?: Record<string, unknown> }) => void events.push(e),
  });
  for (const h of handlers) registerPersonalDataHandler(app, h);
  await app.register(dataRights, {
    db: database.db,
    signingKeys: `k1:${SEED}`,
    subjectKey: 'subject-key-0123456789abcdef0123456789',
    keyStore: {
      put: async (n, v) => void keys.set(n, v),
      get: async (n) => keys.get(n) ?? null,
      delete: async (n) => void keys.delete(n),
    },
    accountExists: async (id) => !id.startsWith('00000000'),
    sweepIntervalMs: 0,
    purgeAfterDays: 7,
    now: () => clock.t,
    onPendingDeletion: async (id, p) => void pending.set(id, p),
    onAlert: async ({ action, request }) => void alerts.push(`${action} ${request.id}`),
    ...options,
  });
  await app.ready();
  return { app, alerts, events, pending, keys, clock };
}

describe('request states', () => {
  it('never leave a final state, and every state but the final ones can be canceled or fulfilled from open', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUEST_STATUSES), fc.constantFrom(...REQUEST_STATUSES), (from, to) => {
        if (isFinal(from)) expect(canTransition(from, to)).toBe(false);
        if (to === 'open') expect(canTransition(from, to)).toBe(false);
      }),
    );
    expect(canTransition('open', 'in_progress')).toBe(true);
    expect(canTransition('fulfilled', 'open')).toBe(false);
    expect(canTransition('in_progress', 'expired')).toBe(false);
  });
});

describe('filing and moving requests', () => {
  it('files with a 30-day due date, a history, and an audit event per transition; a bad move is 409', async () => {
    const { app, events } = await build();
    const accountId = randomUUID();
    const r = await app.dataRights.file({
      kind: 'objection',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
      details: 'direct marketing',
    });
    expect(r).toMatchObject({
      kind: 'objection',
      status: 'open',
      subject: { kind: 'account', accountId },
      receivedAt: '2026-06-01T10:00:00.000Z',
      dueAt: '2026-07-01T10:00:00.000Z',
    });
    expect(r.history).toEqual([{ status: 'open', at: '2026-06-01T10:00:00.000Z', by: 'self' }]);
    const done = await app.dataRights.fulfil(r.id, 'processing stopped');
    expect(done.status).toBe('fulfilled');
    expect(done.history.map((h) => h.status)).toEqual(['open', 'fulfilled']);
    await expect(app.dataRights.cancel(r.id, 'self')).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_TRANSITION',
      statusCode: 409,
    });
    expect(events.map((e) => e.action)).toEqual(['data_rights.request.received', 'data_rights.request.fulfilled']);
    await app.close();
  });

  it('refuses unknown kinds, bad subjects, missing accounts; another account sees 404', async () => {
    const { app } = await build();
    const accountId = randomUUID();
    const base = { filedBy: 'self' as const, verification: 'api-key' };
    await expect(
      app.dataRights.file({ ...base, kind: 'erase-everything' as never, subject: { kind: 'account', accountId } }),
    ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_REQUEST', statusCode: 400 });
    await expect(
      app.dataRights.file({ ...base, kind: 'access', subject: { kind: 'contact', accountId, phone: '0712345678' } }),
    ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_REQUEST' });
    await expect(
      app.dataRights.file({ ...base, kind: 'access', subject: { kind: 'account', accountId: 'not-a-uuid' } }),
    ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_REQUEST' });
    await expect(
      app.dataRights.file({
        ...base,
        kind: 'access',
        subject: { kind: 'account', accountId: '00000000-0000-4000-8000-000000000000' },
      }),
    ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_SUBJECT_NOT_FOUND', statusCode: 404 });
    const r = await app.dataRights.file({ ...base, kind: 'objection', subject: { kind: 'account', accountId } });
    await expect(app.dataRights.get(r.id, randomUUID())).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_NOT_FOUND',
      statusCode: 404,
    });
    await expect(app.dataRights.get('nope')).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_NOT_FOUND' });
    await app.close();
  });

  it('withdraws consent through withdrawConsent, except a manual withdrawal (a consent outside the ledger), which waits for the admin', async () => {
    const withdrawn: string[] = [];
    const { app } = await build({ withdrawConsent: async (id) => (withdrawn.push(id), 2) });
    const accountId = randomUUID();
    const base = {
      kind: 'withdraw_consent' as const,
      subject: { kind: 'account' as const, accountId },
      filedBy: 'self' as const,
      verification: 'api-key',
    };
    const ledger = await app.dataRights.file(base);
    expect(ledger.status).toBe('fulfilled');
    expect(ledger.history.at(-1)).toMatchObject({ event: 'consent-withdrawn', note: '2 ledger record(s)' });
    expect(withdrawn).toEqual([accountId]);
    const manual = await app.dataRights.file({
      ...base,
      manual: true,
      details: 'the consent to share my data with Example Ltd',
    });
    expect(manual).toMatchObject({ status: 'open', details: 'the consent to share my data with Example Ltd' });
    expect(withdrawn).toEqual([accountId]);
    expect((await app.dataRights.fulfil(manual.id, 'no longer shared')).status).toBe('fulfilled');
    expect(withdrawn).toEqual([accountId]);
    // Only a withdrawal, only verified when filed (one verified later would start as any other).
    await expect(app.dataRights.file({ ...base, kind: 'restriction', manual: true })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
      statusCode: 400,
    });
    await expect(
      app.dataRights.file({ ...base, filedBy: 'admin', verification: null, manual: true }),
    ).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_REQUEST', statusCode: 400 });
    await expect(app.dataRights.file({ ...base, manual: 'yes' as never })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
      statusCode: 400,
    });
    await app.close();
  });

  it('extends once, by at most 60 days, with a reason', async () => {
    const { app, events } = await build();
    const r = await app.dataRights.file({
      kind: 'objection',
      subject: { kind: 'account', accountId: randomUUID() },
      filedBy: 'self',
      verification: 'api-key',
    });
    await expect(app.dataRights.extend(r.id, 61, 'complex')).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
    });
    const extended = await app.dataRights.extend(r.id, 60, 'the request covers ten years of records');
    expect(extended).toMatchObject({
      dueAt: '2026-07-01T10:00:00.000Z',
      extendedDueAt: '2026-08-30T10:00:00.000Z',
      extensionReason: 'the request covers ten years of records',
    });
    await expect(app.dataRights.extend(r.id, 5, 'again')).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_ALREADY_EXTENDED',
      statusCode: 409,
    });
    expect(events.filter((e) => e.action === 'data_rights.request.extended')).toHaveLength(1);
    await app.close();
  });

  it('lists newest first with a keyset cursor, filtered by account, status and kind', async () => {
    const { app, clock } = await build();
    const a = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.t += 1000;
      ids.push(
        (
          await app.dataRights.file({
            kind: i % 2 ? 'objection' : 'correction',
            subject: { kind: 'account', accountId: a },
            filedBy: 'self',
            verification: 'api-key',
          })
        ).id,
      );
    }
    await app.dataRights.file({
      kind: 'objection',
      subject: { kind: 'account', accountId: randomUUID() },
      filedBy: 'self',
      verification: 'api-key',
    });
    const first = await app.dataRights.list({ accountId: a, limit: 2 });
    expect(first.requests.map((r) => r.id)).toEqual([ids[4], ids[3]]);
    const second = await app.dataRights.list({ accountId: a, limit: 2, cursor: first.nextCursor! });
    expect(second.requests.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const last = await app.dataRights.list({ accountId: a, limit: 2, cursor: second.nextCursor! });
    expect(last).toEqual({ requests: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect((await app.dataRights.list({ kind: 'objection' })).requests).toHaveLength(3);
    await expect(app.dataRights.list({ cursor: 'garbage!' })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
    });
    await app.close();
  });
});

describe('deletion', () => {
  it('holds the account pending for the grace period, then purges through every handler with a signed receipt', async () => {
    const accountId = randomUUID();
    const rows = new Map([[accountId, 3]]);
    const secrets = new Map([[accountId, 2]]);
    const { app, events, pending, clock } = await build({}, [
      fakeHandler('rows', ['account', 'contact'], rows),
      fakeHandler('secrets', ['account'], secrets, { kept: 1 }),
    ]);
    const r = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    expect(r.status).toBe('in_progress');
    expect(pending.get(accountId)).toBe(true);
    // A second deletion request answers the first (idempotent).
    expect(
      (
        await app.dataRights.file({
          kind: 'deletion',
          subject: { kind: 'account', accountId },
          filedBy: 'self',
          verification: 'api-key',
        })
      ).id,
    ).toBe(r.id);
    expect(await app.dataRights.runDueErasures()).toBe(0); // not due yet
    expect(rows.get(accountId)).toBe(3);
    clock.t += 7 * 86_400_000;
    expect(await app.dataRights.runDueErasures()).toBe(1);
    expect(rows.has(accountId)).toBe(false);
    const done = await app.dataRights.get(r.id);
    expect(done.status).toBe('fulfilled');
    expect(done.subject).toEqual({ kind: 'account', erased: true });
    expect(done.receipt!.handlers).toEqual([
      { name: 'rows', erased: 3, kept: 0 },
      { name: 'secrets', erased: 2, kept: 1, keptReason: 'secrets: kept by law' },
      { name: 'data_rights', erased: 0, kept: 1, keptReason: expect.stringContaining('keyed hash') },
    ]);
    const jwk = app.dataRights.publicKeys().keys[0]!;
    const [{ receipt }] = rowsOf<{ receipt: Record<string, unknown> }>(
      await database.db.execute(sql`select receipt from data_rights.requests where id = ${r.id}`),
    ) as [{ receipt: Record<string, unknown> }];
    const { keyId, signature, ...signed } = receipt as { keyId: string; signature: string };
    expect(keyId).toBe('k1');
    expect(verifySignature(signed, signature, jwk)).toBe(true);
    expect(verifySignature({ ...signed, handlers: [] }, signature, jwk)).toBe(false);
    expect(events.some((e) => e.action === 'data_rights.erasure.completed')).toBe(true);
    // Nothing of the account is left in the package's tables but the keyed hash.
    const dump = JSON.stringify(rowsOf(await database.db.execute(sql`select * from data_rights.requests`)));
    expect(dump).not.toContain(accountId);
    await app.close();
  });

  it('waits while a legal hold keeps the account (said once), and purges when it is released', async () => {
    const accountId = randomUUID();
    const rows = new Map([[accountId, 4]]);
    const held = new Set([accountId]);
    // A grace period, so no purge is kicked off on its own: this test runs each one.
    const { app, events, clock } = await build({}, [fakeHandler('rows', ['account'], rows)]);
    // Any hold source (core's registry): @harakaflow/retention's in the app.
    registerHoldSource(app, async (className) => (className === 'deleted_accounts' ? [...held] : []));
    const r = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    clock.t += 7 * 86_400_000;
    expect(await app.dataRights.runDueErasures()).toBe(0);
    clock.t += 3_700_000;
    expect(await app.dataRights.runDueErasures()).toBe(0);
    expect(rows.get(accountId)).toBe(4);
    const waiting = await app.dataRights.get(r.id);
    expect(waiting.status).toBe('in_progress');
    expect(waiting.history.filter((h) => h.event === 'held')).toHaveLength(1);
    expect(events.filter((e) => e.action === 'data_rights.erasure.held')).toHaveLength(1);
    held.delete(accountId);
    expect(await app.dataRights.runDueErasures()).toBe(0); // checked again in an hour
    clock.t += 3_700_000;
    expect(await app.dataRights.runDueErasures()).toBe(1);
    expect(rows.has(accountId)).toBe(false);
    expect((await app.dataRights.get(r.id)).status).toBe('fulfilled');
    await app.close();
  });

  it('cancels a deletion before its purge and restores the account', async () => {
    const accountId = randomUUID();
    const rows = new Map([[accountId, 1]]);
    const { app, pending, clock } = await build({}, [fakeHandler('rows', ['account'], rows)]);
    const r = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    const canceled = await app.dataRights.cancel(r.id, 'self', accountId);
    expect(canceled.status).toBe('canceled');
    expect(pending.get(accountId)).toBe(false);
    clock.t += 8 * 86_400_000;
    expect(await app.dataRights.runDueErasures()).toBe(0);
    expect(rows.get(accountId)).toBe(1);
    await app.close();
  });

  it('resumes a purge that failed halfway, skipping the handlers already done, and ends with one receipt', async () => {
    const accountId = randomUUID();
    const first = new Map([[accountId, 4]]);
    const second = new Map([[accountId, 5]]);
    let firstCalls = 0;
    const counting = fakeHandler('first', ['account'], first);
    const wrapped: PersonalDataHandler = {
      ...counting,
      eraseSubject: (ref) => (firstCalls++, counting.eraseSubject(ref)),
    };
    const { app, events, clock } = await build({ purgeAfterDays: 0, leaseMs: 1000 }, [
      wrapped,
      fakeHandler('second', ['account'], second, { failOnce: true }),
    ]);
    const r = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    // The purge runs at once and fails at the second handler: the request stays in progress.
    const id = r.id;
    expect(r.status).toBe('in_progress');
    await until(() => !first.has(accountId));
    await until(
      async () =>
        rowsOf<{ n: number }>(
          await database.db.execute(sql`select attempts as n from data_rights.erasure_jobs where status = 'running'`),
        ).length === 1,
    );
    await app.close();
    expect(second.get(accountId)).toBe(5);
    // Another replica takes the job over once the lease runs out.
    const other = await build({ purgeAfterDays: 0, leaseMs: 1000 }, [
      wrapped,
      fakeHandler('second', ['account'], second),
    ]);
    other.clock.t = clock.t;
    expect(await other.app.dataRights.runDueErasures()).toBe(0); // the lease still holds
    other.clock.t += 2000;
    expect(await other.app.dataRights.runDueErasures()).toBe(1);
    expect(firstCalls).toBe(1);
    const done = await other.app.dataRights.get(id);
    expect(done.receipt!.handlers.map((h) => [h.name, h.erased])).toEqual([
      ['first', 4],
      ['second', 5],
      ['data_rights', 0],
    ]);
    expect([...events, ...other.events].filter((e) => e.action === 'data_rights.erasure.completed')).toHaveLength(1);
    await other.app.close();
  });

  it("erases a contact's number from its account's data only, at once", async () => {
    const a = randomUUID();
    const rows = new Map([
      [`${a}|+254700000001`, 2],
      [`${a}|+254700000002`, 3],
      [a, 9],
    ]);
    const { app, pending } = await build({}, [
      fakeHandler('rows', ['account', 'contact'], rows),
      fakeHandler('accountonly', ['account'], new Map([[a, 1]])),
    ]);
    const filed = await app.dataRights.file({
      kind: 'deletion',
      subject: { kind: 'contact', accountId: a, phone: '+254700000001' },
      filedBy: 'self',
      verification: 'api-key',
    });
    await until(async () => (await app.dataRights.get(filed.id)).status === 'fulfilled');
    const r = await app.dataRights.get(filed.id);
    expect(r.receipt!.handlers.map((h) => h.name)).toEqual(['rows', 'data_rights']);
    expect(rows.has(`${a}|+254700000001`)).toBe(false);
    expect(rows.get(`${a}|+254700000002`)).toBe(3);
    expect(rows.get(a)).toBe(9);
    expect(pending.has(a)).toBe(false);
    await app.close();
  });
});

describe('exports', () => {
  it('streams every part into an encrypted bundle with a signed manifest, downloadable once', async () => {
    const a = randomUUID();
    const big = new Map([[a, 2500]]);
    const { app, keys, events } = await build({}, [
      fakeHandler('rows', ['account'], big),
      {
        name: 'profile',
        identifiers: ['account'],
        exportSubject: async () => ({ name: 'Amina' }),
        eraseSubject: async () => ({ erased: 0 }),
      },
    ]);
    const r = await app.dataRights.file({
      kind: 'access',
      subject: { kind: 'account', accountId: a },
      filedBy: 'self',
      verification: 'api-key',
    });
    expect(r.status).toBe('fulfilled');
    expect(r.export!.url).toMatch(/^\/v1\/privacy\/exports\/[A-Za-z0-9_-]{43}$/);
    const token = r.export!.url!.split('/').pop()!;
    // At rest: ciphertext only, and not the token.
    const dump = JSON.stringify(
      rowsOf(await database.db.execute(sql`select encode(sealed, 'hex') as s from data_rights.export_chunks`)),
    );
    expect(dump).not.toContain(Buffer.from('Amina').toString('hex'));
    expect(JSON.stringify(rowsOf(await database.db.execute(sql`select * from data_rights.exports`)))).not.toContain(
      token,
    );
    expect(keys.size).toBe(1);

    const got = await app.dataRights.download(token);
    const chunks: Buffer[] = [];
    for await (const c of got!.body) chunks.push(c);
    const text = Buffer.concat(chunks).toString();
    expect(text.length).toBe(got!.size);
    const doc = JSON.parse(text) as { parts: Record<string, unknown>; manifest: Manifest };
    expect((doc.parts.rows as unknown[]).length).toBe(2500);
    expect(doc.parts.profile).toEqual({ name: 'Amina' });
    expect(doc.manifest.parts.map((p) => [p.name, p.records])).toEqual([
      ['rows', 2500],
      ['profile', 1],
      ['data_rights', 1],
    ]);
    // Each part's hash is over its text in the document; the manifest's signature verifies with the public key.
    const { createHash } = await import('node:crypto');
    expect(doc.manifest.parts[1]!.sha256).toBe(
      createHash('sha256').update(JSON.stringify(doc.parts.profile)).digest('hex'),
    );
    expect(doc.manifest.parts[0]!.sha256).toBe(
      createHash('sha256').update(JSON.stringify(doc.parts.rows)).digest('hex'),
    );
    expect(
      verifySignature(signedManifestFields(doc.manifest), doc.manifest.signature, app.dataRights.publicKeys().keys[0]!),
    ).toBe(true);
    // Once: then gone, and its key shredded.
    expect(await app.dataRights.download(token)).toBeNull();
    expect(keys.size).toBe(0);
    expect(events.filter((e) => e.action === 'data_rights.export.downloaded')).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(token);
    await app.close();
  });

  it('serves the same export as a zip: an entry per part and the manifest, each exactly the bytes the manifest hashes', async () => {
    const a = randomUUID();
    // A part (one record of 1.4 MB) larger than many stored chunks (32 KiB, read 16 a statement) crosses their boundaries whole.
    const blob = 'é'.repeat(700_000);
    const { app } = await build({}, [
      fakeHandler('rows', ['account'], new Map([[a, 3000]])),
      {
        name: 'profile',
        identifiers: ['account'],
        exportSubject: async () => ({ name: 'Zawadi', blob }),
        eraseSubject: async () => ({ erased: 0 }),
      },
    ]);
    const r = await app.dataRights.file({
      kind: 'portability',
      subject: { kind: 'account', accountId: a },
      filedBy: 'self',
      verification: 'api-key',
    });
    const got = await app.dataRights.download(r.export!.url!.split('/').pop()!, 'zip');
    expect(got!.format).toBe('zip');
    const chunks: Buffer[] = [];
    for await (const c of got!.body) chunks.push(c);
    const zip = Buffer.concat(chunks);
    // A zip library of its own reads it (CRC-32 and sizes checked as it reads).
    const { default: yauzl } = await import('yauzl');
    const entries = await new Promise<Map<string, Buffer>>((resolve, reject) => {
      const found = new Map<string, Buffer>();
      yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true }, (error, file) => {
        if (error || !file) return reject(error);
        file.on('entry', (entry: { fileName: string }) =>
          file.openReadStream(entry as never, (e, stream) => {
            if (e || !stream) return reject(e);
            const parts: Buffer[] = [];
            stream
              .on('data', (c: Buffer) => parts.push(c))
              .on('end', () => (found.set(entry.fileName, Buffer.concat(parts)), file.readEntry()));
          }),
        );
        file.on('end', () => resolve(found));
        file.on('error', reject);
        file.readEntry();
      });
    });
    expect([...entries.keys()]).toEqual(['rows.json', 'profile.json', 'data_rights.json', 'manifest.json']);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as Manifest;
    const { createHash } = await import('node:crypto');
    for (const part of manifest.parts)
      expect(
        createHash('sha256')
          .update(entries.get(`${part.name}.json`)!)
          .digest('hex'),
        part.name,
      ).toBe(part.sha256);
    expect((JSON.parse(entries.get('rows.json')!.toString()) as unknown[]).length).toBe(3000);
    expect(JSON.parse(entries.get('profile.json')!.toString())).toEqual({ name: 'Zawadi', blob });
    expect(
      verifySignature(signedManifestFields(manifest), manifest.signature, app.dataRights.publicKeys().keys[0]!),
    ).toBe(true);
    await app.close();
  });

  it('refuses to serve a bundle with a chunk missing (HF_DATA_RIGHTS_EXPORT_DAMAGED), and still deletes it', async () => {
    const a = randomUUID();
    const { app, keys } = await build({}, [fakeHandler('rows', ['account'], new Map([[a, 40_000]]))]);
    const r = await app.dataRights.file({
      kind: 'access',
      subject: { kind: 'account', accountId: a },
      filedBy: 'self',
      verification: 'api-key',
    });
    const [{ id, chunks }] = resultRows<{ id: string; chunks: number }>(
      await database.db.execute(sql`select id, chunks from data_rights.exports where request_id = ${r.id}`),
    ) as [{ id: string; chunks: number }];
    expect(chunks).toBeGreaterThan(16); // more than one statement's worth
    await database.db.execute(sql`delete from data_rights.export_chunks where export_id = ${id} and seq = 17`);
    const got = await app.dataRights.download(r.export!.url!.split('/').pop()!);
    const read: Buffer[] = [];
    await expect(async () => {
      for await (const c of got!.body) read.push(c);
    }).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_EXPORT_DAMAGED' });
    expect(read).toHaveLength(17); // every chunk before the gap, none after
    expect(keys.size).toBe(0);
    expect(resultRows(await database.db.execute(sql`select 1 from data_rights.exports where id = ${id}`))).toHaveLength(
      0,
    );
    await app.close();
  });

  it('refuses an expired or unknown token', async () => {
    const a = randomUUID();
    const { app, clock } = await build({ exportTtlHours: 1 }, [fakeHandler('rows', ['account'], new Map([[a, 1]]))]);
    const r = await app.dataRights.file({
      kind: 'portability',
      subject: { kind: 'account', accountId: a },
      filedBy: 'self',
      verification: 'api-key',
    });
    const token = r.export!.url!.split('/').pop()!;
    clock.t += 3_600_001;
    expect(await app.dataRights.download(token)).toBeNull();
    expect(await app.dataRights.download('x'.repeat(43))).toBeNull();
    expect(await app.dataRights.download('x'.repeat(1000))).toBeNull();
    expect((await app.dataRights.get(r.id)).export).toBeUndefined();
    await app.close();
  });
});

describe('deadlines', () => {
  it('raises due-soon and overdue once each, across two instances, and expires unverified emailed requests', async () => {
    const one = await build();
    const two = await build();
    const alerts: string[] = [];
    const a = randomUUID();
    const r = await one.app.dataRights.file({
      kind: 'objection',
      subject: { kind: 'account', accountId: a },
      filedBy: 'self',
      verification: 'api-key',
    });
    const emailed = await one.app.dataRights.file({
      kind: 'access',
      subject: { kind: 'email', email: 'someone@example.org' },
      filedBy: 'admin',
      verification: null,
    });
    expect(emailed.status).toBe('open');
    for (const b of [one, two]) b.clock.t += 24 * 86_400_000;
    const results = await Promise.all([one.app.dataRights.checkDeadlines(), two.app.dataRights.checkDeadlines()]);
    expect(results.reduce((n, x) => n + x.dueSoon, 0)).toBe(2);
    for (const b of [one, two]) b.clock.t += 7 * 86_400_000;
    const later = await Promise.all([one.app.dataRights.checkDeadlines(), two.app.dataRights.checkDeadlines()]);
    expect(later.reduce((n, x) => n + x.overdue, 0)).toBe(1); // the emailed one expired instead
    expect(later.reduce((n, x) => n + x.expired, 0)).toBe(1);
    expect((await one.app.dataRights.get(emailed.id)).status).toBe('expired');
    expect((await one.app.dataRights.get(r.id)).status).toBe('open');
    for (const b of [one, two])
      alerts.push(
        ...b.events
          .filter(
            (e) =>
              e.action.startsWith('data_rights.request.due_soon') || e.action.startsWith('data_rights.request.overdue'),
          )
          .map((e) => e.action),
      );
    expect(alerts.sort()).toEqual([
      'data_rights.request.due_soon',
      'data_rights.request.due_soon',
      'data_rights.request.overdue',
    ]);
    // The operator is told once per alert too, whichever instance raised it.
    expect([...one.alerts, ...two.alerts].sort()).toEqual(
      [
        `data_rights.request.due_soon ${emailed.id}`,
        `data_rights.request.due_soon ${r.id}`,
        `data_rights.request.overdue ${r.id}`,
      ].sort(),
    );
    await Promise.all([one.app.close(), two.app.close()]);
  });
});
