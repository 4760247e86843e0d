import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { accountSubject, collectExport, prepareKeys } from '@harakaflow/core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditMigrations } from '../src/index.js';
import { eventHash, type AuditEvent } from '../src/event.js';
import { auditPersonalData } from '../src/plugin-personal-data.js';
import { readCheckpoint, eventsPage } from '../src/store.js';
import { verifyChain } from '../src/verify.js';
import { CHECKPOINT_KEY, clock, KEYS, securityInput, writer } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [auditMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('audit'));

const verify = (extra: { from?: string; to?: string } = {}) =>
  verifyChain({ db: db.db, checkpointKeys: KEYS, ...extra });
const run = (query: ReturnType<typeof sql>) => db.db.execute(query);

/** Ten events in one segment of writer w1 on 2026-03-01, closed. */
async function tenEvents(): Promise<AuditEvent[]> {
  const c = clock('2026-03-01T10:00:00.000Z');
  const w = writer(db.db, { now: c.now });
  for (let i = 0; i < 10; i++) {
    w.append(securityInput(i));
    c.advance(1000);
  }
  await w.close();
  return eventsPage(db.db, null, 100);
}

describe('verifyChain', () => {
  it('passes an untouched log and counts what it checked', async () => {
    await tenEvents();
    const result = await verify();
    expect(result).toEqual({
      ok: true,
      segments: 1,
      events: 10,
      problems: [],
      gaps: [],
      checkpoints: { total: 1, valid: 1 },
      erasures: { recorded: 0, incomplete: [] },
      anchor: { kind: 'genesis', horizon: null, writers: [] },
      held: { events: 0, days: 0, released: 0 },
      tree: null,
    });
    const checkpoint = await readCheckpoint(db.db, 'w1', '2026-03-01');
    expect(checkpoint).toMatchObject({ count: 10, closed: true });
  });

  it('names a modified event', async () => {
    const rows = await tenEvents();
    await run(sql`update audit.events set action = 'test.other' where seq = 3`);
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ reason: 'modified', seq: 3, id: rows[3]!.id });
  });

  it('names a modified personal field (a changed IP)', async () => {
    const rows = await tenEvents();
    await run(sql`update audit.events set ip = '198.51.100.1' where seq = 2`);
    expect((await verify()).problems[0]).toMatchObject({
      reason: 'modified',
      seq: 2,
      id: rows[2]!.id,
      detail: 'personal fields do not match their digest',
    });
  });

  it('names a deleted event', async () => {
    await tenEvents();
    await run(sql`delete from audit.events where seq = 4`);
    expect((await verify()).problems[0]).toMatchObject({ reason: 'missing', seq: 4 });
  });

  it('names reordered events', async () => {
    const rows = await tenEvents();
    await run(sql`update audit.events set seq = -1 where seq = 5`);
    await run(sql`update audit.events set seq = 5 where seq = 6`);
    await run(sql`update audit.events set seq = 6 where seq = -1`);
    expect((await verify()).problems[0]).toMatchObject({
      reason: 'reordered',
      seq: 6,
      id: rows[5]!.id,
      detail: 'seq 6 found where seq 5 belongs',
    });
  });

  it('detects a truncated tail through the checkpoint', async () => {
    await tenEvents();
    await run(sql`delete from audit.events where seq >= 7`);
    expect((await verify()).problems[0]).toMatchObject({ reason: 'missing', seq: 7 });
  });

  it('detects a whole segment rewritten with valid hashes', async () => {
    const rows = await tenEvents();
    // The attacker knows the algorithm: change event 5 and recompute every hash after it.
    let prev = rows[4]!.hash;
    for (const row of rows.slice(5)) {
      const forged = { ...row, prevHash: prev, action: row.seq === 5 ? 'test.forged' : row.action };
      forged.hash = eventHash(forged);
      await run(
        sql`update audit.events set action = ${forged.action}, prev_hash = ${forged.prevHash}, hash = ${forged.hash} where id = ${row.id}`,
      );
      prev = forged.hash;
    }
    const result = await verify();
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ reason: 'checkpoint-mismatch', seq: 9 });
  });

  it('refuses a missing checkpoint and one signed with another key', async () => {
    await tenEvents();
    await run(sql`update audit.checkpoints set mac = ${'A'.repeat(43)}`);
    expect((await verify()).problems[0]).toMatchObject({ reason: 'checkpoint-mismatch' });
    await run(sql`delete from audit.checkpoints`);
    expect((await verify()).problems[0]).toMatchObject({ reason: 'checkpoint-missing' });
  });

  it('verifies checkpoints signed with a retired key while it is still listed', async () => {
    await tenEvents();
    const rotated = prepareKeys(['new-checkpoint-key-0123456789abcdef01234', CHECKPOINT_KEY]);
    expect((await verifyChain({ db: db.db, checkpointKeys: rotated })).ok).toBe(true);
    const without = prepareKeys(['new-checkpoint-key-0123456789abcdef01234']);
    expect((await verifyChain({ db: db.db, checkpointKeys: without })).problems[0]).toMatchObject({
      reason: 'checkpoint-mismatch',
    });
  });

  it('segments the chain by UTC day, closes each day, links the days, and finds a deleted day', async () => {
    const c = clock('2026-03-01T23:59:59.000Z');
    const w = writer(db.db, { now: c.now });
    for (const day of [
      '2026-03-01T23:59:59.500Z',
      '2026-03-02T00:00:00.100Z',
      '2026-03-02T12:00:00.000Z',
      '2026-03-03T08:00:00.000Z',
    ]) {
      c.set(day);
      w.append(securityInput(1));
      await w.flush();
    }
    expect(await readCheckpoint(db.db, 'w1', '2026-03-01')).toMatchObject({ count: 1, closed: true });
    expect(await readCheckpoint(db.db, 'w1', '2026-03-02')).toMatchObject({ count: 2, closed: true });
    expect(await readCheckpoint(db.db, 'w1', '2026-03-03')).toMatchObject({ count: 1, closed: false });
    await w.close();
    expect(await readCheckpoint(db.db, 'w1', '2026-03-03')).toMatchObject({ count: 1, closed: true });
    expect(await verify()).toMatchObject({ ok: true, segments: 3, events: 4 });

    // Retention-style purge of the first day: verification from the second day on still passes.
    await run(sql`delete from audit.events where day = '2026-03-01'`);
    await run(sql`delete from audit.checkpoints where day = '2026-03-01'`);
    expect((await verify({ from: '2026-03-02' })).ok).toBe(true);
    // A day deleted from the middle, checkpoint and all, breaks the link of the next day.
    await run(sql`delete from audit.events where day = '2026-03-02'`);
    await run(sql`delete from audit.checkpoints where day = '2026-03-02'`);
    const result = await verify({ from: '2026-03-01' });
    expect(result.ok).toBe(true); // nothing before 03-03 is left to link to: the range's first segment is the anchor
    const full = await verify();
    expect(full.problems[0]).toMatchObject({ reason: 'segment-missing', day: '2026-03-03' });
  });
});

describe('personal-data handler', () => {
  it('exports a subject and erases the personal fields while the chain stays valid', async () => {
    const c = clock('2026-03-01T10:00:00.000Z');
    const w = writer(db.db, { now: c.now });
    for (let i = 0; i < 6; i++) w.append(securityInput(i, i % 2 ? 'acct-erase' : 'acct-keep'));
    const handler = auditPersonalData(db.db, w);
    const exported = (await collectExport(handler.exportSubject(accountSubject('acct-erase')))) as {
      ip: string;
      userAgent: string;
      action: string;
    }[];
    expect(exported).toHaveLength(3);
    expect(exported[0]).toMatchObject({ ip: '203.0.113.7', userAgent: 'Mozilla/5.0 test', action: 'test.event' });

    expect(await handler.eraseSubject(accountSubject('acct-erase'))).toEqual({ erased: 3 });
    expect(await handler.eraseSubject(accountSubject('acct-erase'))).toEqual({ erased: 0 });
    const rows = await eventsPage(db.db, null, 100);
    const erased = rows.filter((r) => r.erasedAt !== null);
    expect(erased).toHaveLength(3);
    for (const r of erased) expect(r).toMatchObject({ subjectId: null, ip: null, userAgent: null, personalSalt: null });
    expect(rows.filter((r) => r.subjectId === 'acct-keep')).toHaveLength(3);
    await w.close();
    expect((await verify()).ok).toBe(true);
    expect(await collectExport(handler.exportSubject(accountSubject('acct-erase')))).toEqual([]);

    // Erasure is a permitted change; restoring different values afterwards is not.
    await run(sql`update audit.events set ip = '198.51.100.9' where erased_at is not null`);
    expect((await verify()).problems[0]).toMatchObject({
      reason: 'modified',
      detail: 'salt removed without an erasure',
    });
  });
});
