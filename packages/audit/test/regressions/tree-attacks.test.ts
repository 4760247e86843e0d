// Review of issue 33 (the Merkle tree, signed heads, public-key verify): what a database-only
// attacker (no HMAC checkpoint key, no signing key) can do to the tree and to what the integrator signs.
//
// 1. The integrator appends "what the checkpoints show committed" without checking the checkpoints'
//    HMAC: anyone who can write to the database can run a writer under a key of their own (or bump a
//    checkpoint's count and add rows) and the next run signs their forged events into the tree, with
//    inclusion proofs an outsider accepts. It must only integrate segments whose checkpoint verifies.
// 2. The integrator's pending query takes the first 500 segments with work (oldest day first): 500
//    checkpoint rows that never complete (forged, or stuck) freeze the tree for good, and public-key
//    verify goes on passing against the frozen head while everything after it is unprotected.
// 3. The pending query filtered on the horizon row's day whether or not its HMAC held: a horizon
//    moved into the future by hand stopped the tree.
// 4. checkTree takes a leaf from the kept hashes and nodes whenever the (unsigned) tree_ranges row
//    says its day is before the signed horizon: relabel a kept day's ranges as a dropped day, put
//    their leaf hashes in tree_leaves (computed from the events before deleting them), and delete
//    the events: public-key verify still says ok. (Not fixed here: it needs a design change, see
//    the report; the test stays failing as the record.)
import { prepareKeys } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import type { TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { leafHash } from '../../src/merkle.js';
import { purgeServerLogs } from '../../src/partitions.js';
import { integrate, proveEvent } from '../../src/tree.js';
import { verifyChain } from '../../src/verify.js';
import { DRIVERS, freshDatabases, integratedDays, KEYS, securityInput, treeSigner, writer } from '../helpers.js';

const DAY = 86_400_000;

describe.each(DRIVERS)('the Merkle tree against a database-only attacker on %s', (name, server) => {
  const skip = name === 'Postgres' && !server;
  const fresh = freshDatabases(server, afterAll);
  const idsOf = async (db: TestDatabase, writerName: string) =>
    resultRows<{ id: string }>(
      await db.db
        .execute(sql`select e.id::text as id from audit.events e left join audit.writers w on w.id = e.writer_id
        where coalesce(e.writer, w.name) = ${writerName} order by e.id`),
    ).map((r) => r.id);

  it.skipIf(skip)(
    "events written under a key that is not the log's (a forged checkpoint) are never signed into the tree",
    async () => {
      const db = await fresh();
      const { signer } = treeSigner();
      const w1 = writer(db.db, { writer: 'w1', chainVersion: 3 });
      for (let i = 0; i < 5; i++) w1.append(securityInput(i));
      await w1.close();
      expect(await integrate({ db: db.db, checkpointKeys: KEYS, signer })).toMatchObject({ appended: 5 });

      // The attacker runs the package's own writer against the database, under a key of their own.
      const mallory = writer(db.db, {
        writer: 'w-admin',
        chainVersion: 3,
        checkpointKeys: prepareKeys(['not-the-log-key-0123456789abcdef0123456']),
      });
      for (let i = 0; i < 3; i++) mallory.append({ ...securityInput(i, 'acct-victim'), action: 'account.deleted' });
      await mallory.close();
      // The HMAC path sees the forged checkpoint...
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).problems).toContainEqual(
        expect.objectContaining({ writer: 'w-admin', reason: 'checkpoint-mismatch' }),
      );
      // ...the integrator must not sign it into the tree (before the fix: appended 3, and each forged event had a proof).
      const run = await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      expect(run?.appended ?? 0).toBe(0);
      for (const id of await idsOf(db, 'w-admin')) expect((await proveEvent(db.db, id)).state).not.toBe('found');

      // The same with a real writer's segment: rows added after its end and its count bumped by hand.
      await db.db.execute(sql`update audit.checkpoints set count = count + 1 where writer = 'w1'`);
      expect((await integrate({ db: db.db, checkpointKeys: KEYS, signer }))?.appended ?? 0).toBe(0);
    },
  );

  it.skipIf(skip)('500 segments that never complete do not freeze the tree', async () => {
    const db = await fresh();
    const { signer } = treeSigner();
    const yesterday = new Date(Date.now() - DAY).toISOString().slice(0, 10);
    // Checkpoint rows claiming events that are not there (forged, or a segment that never fills).
    await db.db.execute(sql`insert into audit.checkpoints (writer, day, count, last_hash, closed, mac)
      select 'stuck-' || lpad(g::text, 4, '0'), ${yesterday}::date, 10, repeat('0', 64), false, 'x' from generate_series(1, 600) g`);
    const w1 = writer(db.db, { writer: 'w1', chainVersion: 3 });
    for (let i = 0; i < 5; i++) w1.append(securityInput(i));
    await w1.close();
    // Before the fix: appended 0, on every run, for good.
    expect(await integrate({ db: db.db, checkpointKeys: KEYS, signer })).toMatchObject({ appended: 5, size: 5 });
  });

  it.skipIf(skip)('a horizon moved by hand (its HMAC fails) does not stop the integrator', async () => {
    const db = await fresh();
    const { signer } = treeSigner();
    await db.db.execute(sql`insert into audit.horizon (id, day, mac) values (true, '2999-01-01', 'forged')
      on conflict (id) do update set day = excluded.day, mac = excluded.mac`);
    const w1 = writer(db.db, { writer: 'w1', chainVersion: 3 });
    for (let i = 0; i < 5; i++) w1.append(securityInput(i));
    await w1.close();
    // Before the fix: appended 0 (every segment is "before the horizon").
    const run = await integrate({ db: db.db, checkpointKeys: KEYS, signer });
    expect(run).toMatchObject({ appended: 5, size: 5 });
    expect(run!.note).not.toContain('horizon');
  });

  it.skipIf(skip)(
    "a kept day's events deleted, with their ranges relabelled as a dropped day and their leaf hashes planted in tree_leaves, are caught on public keys",
    async () => {
      const db = await fresh();
      const { signer, open: openHead } = treeSigner();
      const days = await integratedDays(db.db, signer, { days: 2, perDay: [200, 100] });
      await purgeServerLogs({ db: db.db, checkpointKeys: KEYS, beforeDay: days[1]!, limit: 5000, dryRun: false });
      expect((await integrate({ db: db.db, checkpointKeys: KEYS, signer }))!.note).toContain(`\nhorizon ${days[1]}\n`);
      expect((await verifyChain({ db: db.db, checkpointKeys: [], openHead })).problems).toEqual([]);

      // The attacker (database only): w2's whole segment of the kept day is to disappear.
      const ranges = resultRows<{ start: string; first_seq: number; count: number }>(
        await db.db.execute(
          sql`select start::text as start, first_seq, count from audit.tree_ranges where writer = 'w2' and day = ${days[1]!}::date`,
        ),
      );
      expect(ranges.length).toBeGreaterThan(0);
      const hashes = new Map(
        resultRows<{ seq: number; hash: string }>(
          await db.db
            .execute(sql`select e.seq, encode(e.hash_bytes, 'hex') as hash from audit.events e join audit.writers w on w.id = e.writer_id
          where w.name = 'w2' and e.day = ${days[1]!}::date`),
        ).map((r) => [Number(r.seq), r.hash]),
      );
      for (const r of ranges) {
        for (let i = 0; i < Number(r.count); i++) {
          const leaf = leafHash(Buffer.from(hashes.get(Number(r.first_seq) + i)!, 'hex')).toString('hex');
          await db.db.execute(
            sql`insert into audit.tree_leaves (idx, hash) values (${Number(r.start) + i}, decode(${leaf}, 'hex')) on conflict (idx) do nothing`,
          );
        }
      }
      await db.db.execute(
        sql`update audit.tree_ranges set day = ${days[0]!}::date where writer = 'w2' and day = ${days[1]!}::date`,
      );
      await db.db.execute(
        sql`delete from audit.events e using audit.writers w where w.id = e.writer_id and w.name = 'w2' and e.day = ${days[1]!}::date`,
      );

      const pk = await verifyChain({ db: db.db, checkpointKeys: [], openHead });
      // The HMAC path sees it (w2's checkpoint counts 100 events of that day)...
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(false);
      // ...public keys alone must too: 100 events of a day the signed horizon keeps are gone.
      expect(pk.ok).toBe(false);
    },
  );
});
