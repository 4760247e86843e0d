import { createDatabase, migrate } from '@harakaflow/db';
import { postgresUrl, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditMigrations } from '../src/index.js';
import { spillSubdirectory } from '../src/spill.js';
import { readCheckpoint, writeBatch } from '../src/store.js';
import { verifyChain } from '../src/verify.js';
import { captureLogger, flushUntilItHolds, KEYS, securityInput, writer } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [auditMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('audit'));

async function ids(): Promise<string[]> {
  const result = (await db.db.execute(sql`select id from audit.events order by id`)) as unknown as
    { id: string }[] | { rows: { id: string }[] };
  return (Array.isArray(result) ? result : result.rows).map((r) => r.id);
}

const spillDir = () => mkdtempSync(join(tmpdir(), 'hf-audit-spill-'));

describe('batched delivery', () => {
  it('writes in batches of batchSize, one statement each', async () => {
    const w = writer(db.db, { batchSize: 100 });
    const appended = Array.from({ length: 250 }, (_, i) => w.append(securityInput(i)).event.id);
    await w.flush();
    expect(w.stats).toMatchObject({ written: 250, batches: 3, failedBatches: 0 });
    expect(await ids()).toEqual([...appended].sort());
    await w.close();
  });

  it('is idempotent: a batch written twice stores each event once, and an older checkpoint never replaces a newer one', async () => {
    const w = writer(db.db);
    const events = Array.from({ length: 5 }, (_, i) => w.append(securityInput(i)).event);
    await w.flush();
    const before = await readCheckpoint(db.db, 'w1', events[0]!.day);
    await writeBatch(db.db, events.slice(0, 2), [{ ...before!, count: 2, lastHash: events[1]!.hash }]);
    expect((await ids()).length).toBe(5);
    expect(await readCheckpoint(db.db, 'w1', events[0]!.day)).toEqual(before);
    await w.close();
    expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(true);
  });

  it('sync durability resolves once the event is committed', async () => {
    const w = writer(db.db, { flushIntervalMs: 60_000 });
    const { event, committed } = w.append(securityInput(1), true);
    await committed;
    expect(await ids()).toEqual([event.id]);
    await w.close();
  });
});

describe('when the database fails', () => {
  let broken: TestDatabase;
  beforeEach(async () => {
    // A real database without the audit schema: every write fails until it is migrated.
    broken = await testDatabase();
    return () => broken.close();
  });

  it('sync durability fails closed with HF_AUDIT_UNAVAILABLE, and the event is still delivered later', async () => {
    const w = writer(broken.db, { retryBaseMs: 50, retryMaxMs: 50 });
    const { event, committed } = w.append(securityInput(1), true);
    await expect(committed).rejects.toMatchObject({ code: 'HF_AUDIT_UNAVAILABLE', statusCode: 503 });
    await migrate(broken.db, [auditMigrations]);
    await w.flush();
    const rows = (await broken.db.execute(sql`select id from audit.events`)) as unknown as
      { id: string }[] | { rows: { id: string }[] };
    expect((Array.isArray(rows) ? rows : rows.rows).map((r) => r.id)).toEqual([event.id]);
    await w.close();
  });

  it('retries with backoff, spills past the memory bound, replays on recovery: nothing lost, nothing twice', async () => {
    const dir = spillDir();
    const logger = captureLogger();
    const w = writer(broken.db, {
      batchSize: 10,
      maxBuffered: 40,
      spillDir: dir,
      retryBaseMs: 5,
      retryMaxMs: 10,
      logger,
      staleAfterMs: 1,
    });
    const appended: string[] = [];
    for (let i = 0; i < 200; i++) {
      appended.push(w.append(securityInput(i)).event.id);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 15));
    }
    // The spill runs between failed attempts (file writes, off the request path): wait for it to
    // bring memory under the bound rather than for a fixed time a loaded machine may overrun.
    // Without spilling, all 200 stay in memory and this times out.
    await until(() => w.buffered <= 40 + 20);
    expect(w.stats.spilled).toBeGreaterThan(0);
    const files = readdirSync(spillSubdirectory(dir));
    expect(files.length).toBeGreaterThan(0);
    // One JSON document per line, however hostile the content.
    for (const line of readFileSync(join(spillSubdirectory(dir), files[0]!), 'utf8')
      .trim()
      .split('\n'))
      expect(() => JSON.parse(line)).not.toThrow();
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg.includes('getting old'))).toBe(true);
    expect(JSON.stringify(logger.lines)).not.toContain('203.0.113.7');

    await migrate(broken.db, [auditMigrations]);
    // A write already under way when the schema appeared may still fail: flush until it holds.
    await flushUntilItHolds(w);
    await w.close();
    const result = (await broken.db.execute(sql`select id from audit.events`)) as unknown as
      { id: string }[] | { rows: { id: string }[] };
    const stored = (Array.isArray(result) ? result : result.rows).map((r) => r.id);
    expect(stored.length).toBe(200);
    expect(new Set(stored)).toEqual(new Set(appended));
    expect(readdirSync(spillSubdirectory(dir))).toEqual([]);
    expect((await verifyChain({ db: broken.db, checkpointKeys: KEYS })).ok).toBe(true);
  });

  it('close() spills what the database will not take, and the next writer replays it', async () => {
    const dir = spillDir();
    const w = writer(broken.db, { spillDir: dir, writer: 'w-old' });
    const appended = Array.from({ length: 30 }, (_, i) => w.append(securityInput(i)).event.id);
    await w.close();
    expect(readdirSync(spillSubdirectory(dir)).length).toBeGreaterThan(0);

    await migrate(broken.db, [auditMigrations]);
    const next = writer(broken.db, { spillDir: dir, writer: 'w-new' });
    next.append(securityInput(99));
    await next.flush();
    await next.close();
    const result = (await broken.db.execute(sql`select id from audit.events where writer = 'w-old'`)) as unknown as
      { id: string }[] | { rows: { id: string }[] };
    expect(new Set((Array.isArray(result) ? result : result.rows).map((r) => r.id))).toEqual(new Set(appended));
    expect((await verifyChain({ db: broken.db, checkpointKeys: KEYS })).ok).toBe(true);
  });
});

describe.skipIf(!postgresUrl)('Postgres going away mid-stream (real server)', () => {
  it('loses no acknowledged event and duplicates none', async () => {
    const name = new URL(db.url!).pathname.slice(1);
    const admin = postgres(postgresUrl!, { max: 1, onnotice: () => {} });
    const own = await createDatabase({ url: db.url, max: 2 });
    const dir = spillDir();
    const w = writer(own.db, {
      batchSize: 20,
      maxBuffered: 100,
      spillDir: dir,
      retryBaseMs: 10,
      retryMaxMs: 50,
      writeTimeoutMs: 2000,
    });
    const appended: string[] = [];
    const stream = async (n: number) => {
      for (let i = 0; i < n; i++) {
        appended.push(w.append(securityInput(i)).event.id);
        if (i % 25 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      await stream(100);
      // Committed before the outage: the pool has worked once, as a replica has when Postgres goes
      // away. (postgres.js 3 asks for the array types on a pool's connections until one query
      // succeeds, in a promise it never catches: a pool whose very first connection meets a refusing
      // database is the db package's known limit, see its README "postgres.js 3"; a loaded machine
      // could start the outage before this writer's first batch.)
      await w.flush();
      // The outage: no new connections, and every existing one cut.
      await admin.unsafe(`alter database "${name}" allow_connections false`);
      await admin.unsafe(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid()`,
      );
      const during = w.append(securityInput(-1), true);
      appended.push(during.event.id);
      await expect(during.committed).rejects.toMatchObject({ code: 'HF_AUDIT_UNAVAILABLE' });
      await stream(400);
      await new Promise((r) => setTimeout(r, 200));
      expect(w.stats.failedBatches).toBeGreaterThan(0);
      await admin.unsafe(`alter database "${name}" allow_connections true`);
      await stream(100);
      // The first attempts after the outage may still meet cut connections.
      await flushUntilItHolds(w);
      await w.close();
      const stored = await ids();
      expect(stored.length).toBe(appended.length);
      expect(new Set(stored)).toEqual(new Set(appended));
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(true);
    } finally {
      await admin.unsafe(`alter database "${name}" allow_connections true`);
      await admin.end();
      await own.close();
    }
  });
});
