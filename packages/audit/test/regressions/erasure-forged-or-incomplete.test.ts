import { accountSubject } from '@harakaflow/core';
// Issue 12 items 2 and 3: setting erased_at and nulling subject_id, ip, user_agent and
// personal_salt on any event (a vault.secret.read, say) still verified, so who read a credential
// could be erased silently; and erased events kept path, resource and details, which often hold
// phone numbers. Erasure now writes a chained audit.subject.erased record and verify reports an
// erased event no record covers; path, resource and details are personal fields (chain format 2).
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditMigrations, auditPersonalData, verifyChain } from '../../src/index.js';
import { idsDigest } from '../../src/tombstones.js';
import { eventsPage } from '../../src/store.js';
import { KEYS, writer } from '../helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [auditMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('audit'));

const run = (query: ReturnType<typeof sql>) => db.db.execute(query);
const verify = (o: { from?: string; to?: string } = {}) => verifyChain({ db: db.db, checkpointKeys: KEYS, ...o });
const PATH = '/v1/whatsapp/sessions/kid-254799999999/credentials/creds';

function credentialRead(subjectId: string) {
  return {
    kind: 'security' as const,
    action: 'vault.secret.read',
    resource: 'whatsapp/kid-254799999999/creds',
    outcome: 'success',
    route: '/v1/whatsapp/sessions/:sessionId/credentials/:name',
    path: PATH,
    subjectId,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 test',
    details: { sessionId: 'kid-254799999999' },
  };
}

describe('erasure is recorded in the chain', () => {
  it('a silent erasure of a credential read is reported as erasure-unrecorded', async () => {
    const w = writer(db.db);
    for (let i = 0; i < 3; i++) w.append(credentialRead('acct-reader'));
    await w.close();
    await run(
      sql`update audit.events set erased_at = now(), subject_id = null, ip = null, user_agent = null, path = null, resource = null, details = null, personal_salt = null where action = 'vault.secret.read'`,
    );
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.problems.filter((p) => p.reason === 'erasure-unrecorded')).toHaveLength(3);
  });

  it('a genuine erasure writes one record (no subject, count, id range, digest) and verifies', async () => {
    const w = writer(db.db);
    const ids = [0, 1, 2, 3].map(() => w.append(credentialRead('acct-gone')).event.id);
    w.append(credentialRead('acct-stays'));
    const handler = auditPersonalData(db.db, w);
    expect(await handler.eraseSubject(accountSubject('acct-gone'))).toEqual({ erased: 4 });
    await w.close();
    const rows = await eventsPage(db.db, null, 100);
    const records = rows.filter((e) => e.action === 'audit.subject.erased');
    expect(records).toHaveLength(1);
    expect(records[0]!.subjectId).toBeNull();
    expect(records[0]!.details).toMatchObject({ count: 4, firstId: ids[0], lastId: ids[3], idsSha256: idsDigest(ids) });
    expect(JSON.stringify(records[0])).not.toContain('acct-gone');
    const result = await verify();
    expect(result.problems).toEqual([]);
    expect(result.erasures).toEqual({ recorded: 1, incomplete: [] });
    // A range that holds only part of the erased events still verifies.
    expect((await verify({ from: rows[0]!.day, to: rows[0]!.day })).ok).toBe(true);
  });

  it('another event tagged with a genuine erasure id is reported', async () => {
    const w = writer(db.db);
    w.append(credentialRead('acct-gone'));
    w.append(credentialRead('acct-victim'));
    await auditPersonalData(db.db, w).eraseSubject(accountSubject('acct-gone'));
    await w.close();
    const [record] = (await eventsPage(db.db, null, 100)).filter((e) => e.action === 'audit.subject.erased');
    const erasureId = (record!.details as { erasureId: string }).erasureId;
    await run(
      sql`update audit.events set erased_at = now(), erased_by = ${erasureId}, subject_id = null, ip = null, user_agent = null, path = null, resource = null, details = null, personal_salt = null where subject_id = 'acct-victim'`,
    );
    const result = await verify();
    expect(result.problems).toMatchObject([{ reason: 'erasure-unrecorded' }]);
  });

  it('an erasure id that names no record is reported', async () => {
    const w = writer(db.db);
    w.append(credentialRead('acct-x'));
    await w.close();
    await run(
      sql`update audit.events set erased_at = now(), erased_by = 'made-up', subject_id = null, ip = null, user_agent = null, path = null, resource = null, details = null, personal_salt = null`,
    );
    expect((await verify()).problems).toMatchObject([
      { reason: 'erasure-unrecorded', detail: 'its erasure id names no erasure record' },
    ]);
  });
});

describe('erasure removes path, resource and details (chain format 2); version-1 events still verify', () => {
  it('nulls them, keeps the route pattern, and the chain verifies', async () => {
    const w = writer(db.db);
    w.append(credentialRead('acct-phone'));
    await auditPersonalData(db.db, w).eraseSubject(accountSubject('acct-phone'));
    await w.close();
    const [erased] = (await eventsPage(db.db, null, 100)).filter((e) => e.action === 'vault.secret.read');
    expect(erased).toMatchObject({
      chainVersion: 2,
      subjectId: null,
      ip: null,
      userAgent: null,
      path: null,
      resource: null,
      details: null,
      route: '/v1/whatsapp/sessions/:sessionId/credentials/:name',
    });
    const raw = JSON.stringify(await eventsPage(db.db, null, 100));
    expect(raw).not.toContain('254799999999');
    expect((await verify()).ok).toBe(true);
  });

  it('a version-1 writer (rolling upgrade) writes events that verify, and erasing them keeps their hashed fields', async () => {
    const old = writer(db.db, { writer: 'w-v1', chainVersion: 1 });
    old.append(credentialRead('acct-v1'));
    const next = writer(db.db, { writer: 'w-v2' });
    next.append(credentialRead('acct-v1'));
    await old.flush();
    await next.flush();
    expect(await auditPersonalData(db.db, next).eraseSubject(accountSubject('acct-v1'))).toEqual({ erased: 2 });
    await Promise.all([old.close(), next.close()]);
    const rows = (await eventsPage(db.db, null, 100)).filter((e) => e.action === 'vault.secret.read');
    expect(rows.find((e) => e.writer === 'w-v1')).toMatchObject({
      chainVersion: 1,
      subjectId: null,
      ip: null,
      path: PATH,
    });
    expect(rows.find((e) => e.writer === 'w-v2')).toMatchObject({ chainVersion: 2, subjectId: null, path: null });
    expect((await verify()).problems).toEqual([]);
  });
});
