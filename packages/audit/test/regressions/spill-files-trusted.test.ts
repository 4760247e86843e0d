// Issue 12 item 1: replay inserted every NDJSON line as it was and signed a checkpoint from the
// line's own seq/hash, so a database user who rewrote an event and dropped one forged spill line
// got `verify` to say intact; one malformed file stopped every later write and left sync events
// hanging; the default directory was under the shared temp dir and never checked.
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { prepareKeys } from '@harakaflow/core';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import audit, { auditMigrations, verifyChain, type AuditEvent } from '../../src/index.js';
import { eventHash, personalDigest } from '../../src/event.js';
import { decodeSpill, encodeSpill, prepareSpillDirectory, spillSubdirectory } from '../../src/spill.js';
import { eventsPage } from '../../src/store.js';
import { captureLogger, CHECKPOINT_KEY, flushUntilItHolds, KEYS, securityInput, writer } from '../helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [auditMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('audit'));

const run = (query: ReturnType<typeof sql>) => db.db.execute(query);
const newDir = () => mkdtempSync(join(tmpdir(), 'hf-audit-regression-'));
const verify = () => verifyChain({ db: db.db, checkpointKeys: KEYS });
const ndjson = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ndjson')) : []);

/** Ten events committed by one writer, and the writer's name and day. */
async function committed(name = 'w-victim') {
  const w = writer(db.db, { writer: name });
  for (let i = 0; i < 10; i++) w.append(securityInput(i));
  await w.flush();
  await w.close();
  return (await eventsPage(db.db, null, 100)).filter((e) => e.writer === name);
}

describe('spill files are authenticated and linked before anything is inserted or signed', () => {
  it('a rewritten event plus a forged spill line does not get verify to say intact', async () => {
    const rows = await committed();
    const last = rows.at(-1)!;
    // The database user rewrites the last event consistently (they can read its salt) ...
    const forged: AuditEvent = { ...last, details: { i: 'forged' } };
    forged.personalDigest = personalDigest(forged.personalSalt!, forged.chainVersion, forged);
    forged.hash = eventHash(forged);
    await run(
      sql`update audit.events set details = ${JSON.stringify(forged.details)}::jsonb, personal_digest = ${forged.personalDigest}, hash = ${forged.hash} where id = ${last.id}::uuid`,
    );
    expect((await verify()).ok).toBe(false);
    // ... and drops a spill line that signs the forged end (where the earlier version read files, and where this one does).
    const dir = newDir();
    const line =
      JSON.stringify({ close: true, writer: last.writer, day: last.day, count: 10, lastHash: forged.hash }) + '\n';
    mkdirSync(spillSubdirectory(dir), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'audit-0-forged.ndjson'), line);
    writeFileSync(join(spillSubdirectory(dir), 'audit-0-forged.ndjson'), line);
    const logger = captureLogger();
    const replayer = writer(db.db, { writer: 'w-replayer', spillDir: dir, logger });
    replayer.append(securityInput(100));
    await replayer.flush();
    await replayer.close();
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.problems.some((p) => p.writer === 'w-victim')).toBe(true);
    // Moved aside, logged and audited once.
    expect(readdirSync(join(spillSubdirectory(dir), 'rejected'))).toEqual(['audit-0-forged.ndjson']);
    expect(logger.lines.filter((l) => (l.obj as { code?: string }).code === 'HF_AUDIT_SPILL_REJECTED')).toHaveLength(1);
    const rejected = (await eventsPage(db.db, null, 100)).filter((e) => e.action === 'audit.spill.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.details).toMatchObject({ code: 'HF_AUDIT_SPILL_REJECTED', file: 'audit-0-forged.ndjson' });
  });

  it('a spill file edited after it was written, or signed with another key, is rejected and its events not inserted', async () => {
    const dir = newDir();
    const broken = await testDatabase(); // no audit schema: every write fails
    try {
      const w = writer(broken.db, { writer: 'w-edit', spillDir: dir });
      for (let i = 0; i < 5; i++) w.append(securityInput(i));
      await w.close(); // spills all
      const sub = spillSubdirectory(dir);
      const [name] = ndjson(sub);
      const text = readFileSync(join(sub, name!), 'utf8');
      const decoded = decodeSpill(text, KEYS);
      if ('error' in decoded) throw new Error(decoded.error);
      writeFileSync(join(sub, name!), text.replace('"resource":"thing:2"', '"resource":"thing:X"'));
      writeFileSync(
        join(sub, 'audit-1-other-key.ndjson'),
        encodeSpill(decoded, prepareKeys(['another-checkpoint-key-0123456789abcdef'])),
      );
      const replayer = writer(db.db, { writer: 'w-r2', spillDir: dir });
      replayer.append(securityInput(1));
      await replayer.flush();
      await replayer.close();
      const stored = await eventsPage(db.db, null, 100);
      expect(stored.filter((e) => e.writer === 'w-edit')).toEqual([]);
      expect(readdirSync(join(sub, 'rejected')).sort()).toEqual([name!, 'audit-1-other-key.ndjson'].sort());
      expect(
        stored
          .filter((e) => e.action === 'audit.spill.rejected')
          .map((e) => (e.details as { reason: string }).reason)
          .sort(),
      ).toEqual([
        'the MAC does not verify under any checkpoint key',
        'the MAC does not verify under any checkpoint key',
      ]);
    } finally {
      await broken.close();
    }
  });

  it('a malformed file never blocks later writes, and sync events do not hang', async () => {
    const dir = newDir();
    const sub = (await prepareSpillDirectory(dir)).path;
    writeFileSync(join(sub, 'audit-0-malformed.ndjson'), '{"truncated":');
    const w = writer(db.db, { writer: 'w-after', spillDir: dir });
    const sync = w.append(securityInput(1), true);
    await Promise.race([
      sync.committed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the sync event hung')), 5000)),
    ]);
    w.append(securityInput(2));
    await w.flush();
    await w.close();
    const stored = await eventsPage(db.db, null, 100);
    expect(stored.filter((e) => e.action === 'test.event')).toHaveLength(2);
    expect(ndjson(sub)).toEqual([]);
    expect(readdirSync(join(sub, 'rejected'))).toEqual(['audit-0-malformed.ndjson']);
    expect((await verify()).ok).toBe(true);
  });

  it('genuine files replay whatever their name order, and one whose predecessor is gone is rejected', async () => {
    const dir = newDir();
    const broken = await testDatabase();
    try {
      const w = writer(broken.db, { writer: 'w-order', spillDir: dir, batchSize: 10, maxBuffered: 10 });
      // Three rounds of a failed attempt past the memory bound: three spill files, deterministically.
      for (let round = 0; round < 3; round++) {
        const before = w.stats.spilled;
        for (let i = 0; i < 12; i++) w.append(securityInput(round * 12 + i));
        await w.flush().catch(() => undefined);
        await until(() => w.stats.spilled !== before);
      }
      await w.close();
      const sub = spillSubdirectory(dir);
      const files = ndjson(sub).sort();
      expect(files.length).toBeGreaterThan(1);
      // Reverse the names: the replay must still link them in chain order.
      const texts = files.map((f) => readFileSync(join(sub, f), 'utf8'));
      for (const f of files) rmSync(join(sub, f));
      texts.forEach((t, i) => writeFileSync(join(sub, `audit-${String(files.length - i).padStart(3, '0')}.ndjson`), t));
      const replayer = writer(db.db, { writer: 'w-r3', spillDir: dir });
      replayer.append(securityInput(1));
      await replayer.flush();
      await replayer.close();
      expect((await eventsPage(db.db, null, 100)).filter((e) => e.writer === 'w-order')).toHaveLength(36);
      expect((await verify()).ok).toBe(true);

      // A file whose predecessor was never stored (its earlier file deleted) cannot be linked.
      await db.truncate('audit');
      texts.slice(1).forEach((t, i) => writeFileSync(join(sub, `audit-x${i}.ndjson`), t));
      const again = writer(db.db, { writer: 'w-r4', spillDir: dir });
      again.append(securityInput(1));
      await again.flush();
      await again.close();
      expect((await eventsPage(db.db, null, 100)).filter((e) => e.writer === 'w-order')).toEqual([]);
      expect(readdirSync(join(sub, 'rejected')).filter((f) => f.startsWith('audit-x'))).toHaveLength(texts.length - 1);
    } finally {
      await broken.close();
    }
  });
});

describe('the spill directory', () => {
  it('is a 0700 subdirectory the writer owns, inside a shared 0777 directory', async () => {
    const dir = newDir();
    chmodSync(dir, 0o777);
    const { path } = await prepareSpillDirectory(dir);
    expect(path).toBe(spillSubdirectory(dir));
    const { statSync } = await import('node:fs');
    expect(statSync(path).mode & 0o777).toBe(0o700);
  });

  it('startup fails naming it when it is group- or world-writable, owned by another user, or a link', async () => {
    const writable = newDir();
    mkdirSync(spillSubdirectory(writable));
    chmodSync(spillSubdirectory(writable), 0o777);
    await expect(prepareSpillDirectory(writable)).rejects.toMatchObject({
      code: 'HF_AUDIT_SPILL_DIRECTORY',
      message: expect.stringContaining(spillSubdirectory(writable)),
    });
    const app = Fastify();
    await expect(
      app.register(audit, { db: db.db, checkpointKeys: [CHECKPOINT_KEY], spillDir: writable }).ready(),
    ).rejects.toMatchObject({ code: 'HF_AUDIT_SPILL_DIRECTORY' });
    await app.close();

    const linked = newDir();
    symlinkSync(newDir(), spillSubdirectory(linked));
    await expect(prepareSpillDirectory(linked)).rejects.toMatchObject({
      message: expect.stringContaining('not a directory'),
    });

    if (process.getuid?.() === 0) {
      const foreign = newDir();
      mkdirSync(spillSubdirectory(foreign), { mode: 0o700 });
      chownSync(spillSubdirectory(foreign), 65534, 65534);
      await expect(prepareSpillDirectory(foreign)).rejects.toMatchObject({
        message: expect.stringContaining('owned by another user'),
      });
    }
  });

  it('files of the earlier, unauthenticated format are never replayed', async () => {
    await committed('w-legacy-check');
    const dir = newDir();
    const fake = {
      ...securityInput(1),
      id: '01900000-0000-7000-8000-000000000001',
      writer: 'w-fake',
      day: '2026-01-01',
      seq: 0,
    };
    writeFileSync(join(dir, 'audit-old.ndjson'), JSON.stringify(fake) + '\n');
    expect((await prepareSpillDirectory(dir)).legacyFiles).toBe(1);
    const w = writer(db.db, { writer: 'w-l', spillDir: dir });
    w.append(securityInput(1));
    await w.flush();
    await w.close();
    expect((await eventsPage(db.db, null, 100)).some((e) => e.writer === 'w-fake')).toBe(false);
    expect(existsSync(join(dir, 'audit-old.ndjson'))).toBe(true);
  });
});

describe('spill files hold contiguous runs of the chain', () => {
  it('a batch committed after an earlier one failed leaves a hole; the files around it still replay', async () => {
    // Found under load (issue 13, the suite beside a second copy): with two batches in flight, the
    // first failed and the second committed; the spilled queue then had a hole, the file did not
    // link internally, and replay rejected it: events lost. The writer now cuts files at holes.
    const dir = newDir();
    let calls = 0;
    // A database whose every other statement fails, a slow one first: the second batch commits, the first does not.
    const flaky = new Proxy(db.db, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (property !== 'execute')
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (...args: unknown[]) => {
          const n = ++calls;
          if (n === 1) {
            await new Promise((r) => setTimeout(r, 50));
            throw Object.assign(new Error('first batch fails'), { code: 'ECONNRESET' });
          }
          if (n === 2) return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args); // the second commits
          if (n < 40) throw Object.assign(new Error('down'), { code: 'ECONNRESET' });
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const w = writer(flaky as typeof db.db, {
      writer: 'w-hole',
      spillDir: dir,
      batchSize: 5,
      maxBuffered: 5,
      concurrency: 2,
      retryBaseMs: 5,
      retryMaxMs: 10,
    });
    const ids = Array.from({ length: 10 }, (_, i) => w.append(securityInput(i)).event.id);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 10; i < 30; i++) ids.push(w.append(securityInput(i)).event.id);
    await flushUntilItHolds(w, 100, 20);
    await w.close();
    const stored = (await eventsPage(db.db, null, 1000)).filter((e) => e.writer === 'w-hole').map((e) => e.id);
    expect(new Set(stored)).toEqual(new Set(ids));
    expect(existsSync(join(spillSubdirectory(dir), 'rejected'))).toBe(false);
    expect((await verify()).problems).toEqual([]);
  });
});
