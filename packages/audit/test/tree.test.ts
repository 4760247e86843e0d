// The audit log's Merkle tree (issue 33 items 1 to 3) on PGlite and real Postgres: every event is
// a leaf of a signed head, and its proof verifies with a verifier written from RFC 6962 apart from
// the package's merkle.ts (@harakaflow/testing's rfc6962.ts); before and after its subject's erasure, and across a day partition
// dropped by retention. Public keys alone verify the database, and a history rewritten by someone
// holding every key is caught against a head a witness kept.
import { resultRows } from '@harakaflow/db';
import { outsiderVerifies, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { purgeServerLogs } from '../src/partitions.js';
import { auditPersonalData, eraseSubject } from '../src/plugin-personal-data.js';
import { integrate, proveEvent, readTreeHead, TreeReader, type EventProof } from '../src/tree.js';
import { verifyChain } from '../src/verify.js';
import { checkpointMac } from '../src/checkpoints.js';
import {
  clock,
  DRIVERS,
  flushUntilItHolds,
  freshDatabases,
  integratedDays,
  KEYS,
  securityInput,
  treeSigner,
  writer,
} from './helpers.js';

const DAY = 86_400_000;

describe.each(DRIVERS)('the audit Merkle tree on %s', (name, server) => {
  const skip = name === 'Postgres' && !server;
  const fresh = freshDatabases(server, afterAll);
  const ids = async (db: TestDatabase, where = sql`true`) =>
    resultRows<{ id: string }>(
      await db.db.execute(sql`select id::text as id from audit.events where ${where} order by id`),
    ).map((x) => x.id);

  it.skipIf(skip)(
    'every event of formats 2 and 3, of two writers, is a leaf of the signed head: each proof verifies for an outsider, and public keys alone verify the log',
    async () => {
      const db = await fresh();
      const { signer, open: openHead, publicKey } = treeSigner();
      const w1 = writer(db.db, { writer: 'w1', chainVersion: 3 });
      const w2 = writer(db.db, { writer: 'w2', chainVersion: 2, copy: false });
      for (let i = 0; i < 300; i++) {
        w1.append(securityInput(i, i % 3 ? 'acct-1' : null));
        if (i % 2) w2.append(securityInput(i, 'acct-2'));
      }
      await w1.flush();
      await w2.flush();
      const first = await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      expect(first).toMatchObject({ appended: 450, size: 450 });
      // The head commits to the tree's index of events too: 2 ranges (one a writer).
      expect(first!.note).toMatch(
        /^audit\.test\.example\/log\n450\n[A-Za-z0-9+/]{43}=\nranges 2 [A-Za-z0-9+/]{43}=\n\n— /,
      );
      // Nothing new: no new leaf, no new signature.
      expect(await integrate({ db: db.db, checkpointKeys: KEYS, signer })).toMatchObject({ appended: 0, note: null });

      const all = await ids(db);
      expect(all).toHaveLength(450);
      // Every event, through one reader (as an export proves a subject's events).
      const reader = new TreeReader(db.db);
      for (const id of all) {
        const r = await proveEvent(db.db, id, reader);
        expect(r.state).toBe('found');
        if (r.state === 'found') expect(outsiderVerifies(r.proof, publicKey)).toBe(true);
      }
      // A proof changed anywhere fails for the outsider.
      const r = await proveEvent(db.db, all[123]!);
      if (r.state !== 'found') throw new Error('no proof');
      const bent = {
        ...r.proof,
        proof: r.proof.proof.map((p, i) => (i === 2 ? Buffer.alloc(32, 7).toString('base64') : p)),
      };
      expect(outsiderVerifies(bent, publicKey)).toBe(false);
      expect(outsiderVerifies({ ...r.proof, leafIndex: r.proof.leafIndex + 1 }, publicKey)).toBe(false);

      // Scoped to a subject: another subject's event reads as no event at all.
      const ofTwo = resultRows<{ id: string }>(
        await db.db.execute(sql`select id::text as id from audit.events where subject_id = 'acct-2' limit 1`),
      )[0]!.id;
      expect((await proveEvent(db.db, ofTwo, undefined, undefined, { subjectId: 'acct-2' })).state).toBe('found');
      expect(await proveEvent(db.db, ofTwo, undefined, undefined, { subjectId: 'acct-1' })).toEqual({
        state: 'missing',
      });

      // Unknown ids, and events not yet in the head.
      expect(await proveEvent(db.db, '0190f1c2-0000-7000-8000-000000000000')).toEqual({ state: 'missing' });
      expect(await proveEvent(db.db, 'not-an-id')).toEqual({ state: 'missing' });
      w1.append(securityInput(999));
      await w1.flush();
      const late = (await ids(db)).find((id) => !all.includes(id))!;
      expect(await proveEvent(db.db, late)).toEqual({ state: 'pending', subjectId: 'acct-1' });
      await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      expect((await proveEvent(db.db, late)).state).toBe('found');

      // Public keys alone: no HMAC key at all.
      const pk = await verifyChain({ db: db.db, checkpointKeys: [], openHead });
      expect(pk.problems).toEqual([]);
      expect(pk.tree).toMatchObject({ size: 451, leaves: 451, kept: 0 });
      // And with both.
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS, openHead })).ok).toBe(true);

      // A leaf's event truncated from its segment's end: HMAC verify sees it by the checkpoint; public keys by the tree.
      await w1.close();
      await w2.close();
      await db.db.execute(sql`delete from audit.events where id = ${late}::uuid`);
      const cut = await verifyChain({ db: db.db, checkpointKeys: [], openHead });
      expect(cut.problems).toContainEqual(expect.objectContaining({ reason: 'tree-missing', writer: 'w1' }));
      // An event's stored hash changed along with its fields cannot be hidden from the tree either.
      const unsigned = await verifyChain({
        db: db.db,
        checkpointKeys: [],
        openHead: () => {
          throw new Error('unknown key');
        },
      });
      expect(unsigned.problems).toContainEqual(expect.objectContaining({ reason: 'tree-unsigned' }));
    },
  );

  it.skipIf(skip)(
    'a hole in a segment holds its later events out of the tree while the day is recent, and is stepped over two days on',
    async () => {
      const db = await fresh();
      const { signer, open: openHead } = treeSigner();
      const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
      for (const [name, daysAgo] of [
        ['recent', 0],
        ['old', 5],
      ] as const) {
        const c = clock(new Date(today - daysAgo * DAY + 3_600_000).toISOString());
        const w = writer(db.db, { writer: name, chainVersion: 3, now: c.now });
        for (let i = 0; i < 10; i++) w.append(securityInput(i));
        await flushUntilItHolds(w);
        await w.close();
      }
      // A batch lost for good (a spill file deleted): seq 4 of both segments.
      await db.db.execute(sql`delete from audit.events e using audit.writers w where w.id = e.writer_id and e.seq = 4`);
      const r = await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      // The old segment: 9 events, in two ranges; the recent one waits at its hole (4 events).
      expect(r).toMatchObject({ appended: 13 });
      const ranges = resultRows<{ writer: string; first_seq: number; count: number }>(
        await db.db.execute(sql`select writer, first_seq, count from audit.tree_ranges order by start`),
      );
      expect(ranges).toEqual([
        { writer: 'old', first_seq: 0, count: 4 },
        { writer: 'old', first_seq: 5, count: 5 },
        { writer: 'recent', first_seq: 0, count: 4 },
      ]);
      const after = resultRows<{ id: string }>(
        await db.db.execute(
          sql`select e.id::text as id from audit.events e join audit.writers w on w.id = e.writer_id where w.name = 'old' and e.seq = 7`,
        ),
      )[0]!.id;
      expect((await proveEvent(db.db, after)).state).toBe('found');
      // The tree holds what it holds; the chains still report the holes.
      const checked = await verifyChain({ db: db.db, checkpointKeys: KEYS, openHead });
      expect(checked.problems.map((p) => [p.writer, p.reason])).toEqual([
        ['old', 'missing'],
        ['recent', 'missing'],
      ]);
    },
  );

  it.skipIf(skip)(
    'a proof fetched before an erasure and one fetched after both verify: leaves are over the salted digest',
    async () => {
      const db = await fresh();
      const { signer, publicKey } = treeSigner();
      const w = writer(db.db, { writer: 'w1', chainVersion: 3 });
      for (let i = 0; i < 40; i++) w.append(securityInput(i, i % 2 ? 'acct-gone' : 'acct-stays'));
      await w.flush();
      await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      const target = (await ids(db, sql`subject_id = 'acct-gone'`))[5]!;
      const before = await proveEvent(db.db, target);
      // The subject's export carries each event's proof (issue 33 item 2).
      const exported: { id: string; proof: EventProof | null }[] = [];
      const items = auditPersonalData(db.db, w).exportSubject!({
        kind: 'account',
        accountId: 'acct-gone',
      }) as AsyncIterable<unknown>;
      for await (const item of items) exported.push(item as { id: string; proof: EventProof | null });
      expect(exported).toHaveLength(20);
      for (const item of exported) expect(item.proof && outsiderVerifies(item.proof, publicKey)).toBe(true);
      expect(await eraseSubject(db.db, w, 'acct-gone')).toBe(20);
      expect(await ids(db, sql`subject_id = 'acct-gone'`)).toEqual([]);
      await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      const after = await proveEvent(db.db, target);
      if (before.state !== 'found' || after.state !== 'found') throw new Error('no proof');
      expect(outsiderVerifies(before.proof, publicKey)).toBe(true);
      expect(outsiderVerifies(after.proof, publicKey)).toBe(true);
      expect(after.proof.leafHash).toBe(before.proof.leafHash);
      // The erasure record was appended: the tree grew, and the old proof is for a smaller head.
      expect(after.proof.treeSize).toBeGreaterThan(before.proof.treeSize);
      await w.close();
    },
  );

  it.skipIf(skip)(
    'a day partition dropped by retention: the kept events still prove, and the whole tree still verifies on public keys',
    async () => {
      const db = await fresh();
      const { signer, open: openHead, publicKey } = treeSigner();
      // Three days, 100 days back; each day 200 events of w1 and 150 of w2, integrated day by day (so
      // blocks of 256 leaves straddle the days), the last day's tail in a second run.
      const days = await integratedDays(db.db, signer, { days: 3, perDay: [200, 150], subjects: ['acct-1', null] });
      const size = (await readTreeHead(db.db))!.size;
      expect(size).toBe(1050);
      // An event of day 2 whose 256-leaf block also holds day 1's leaves: its proof needs day 1's hashes.
      const kept = await ids(db, sql`day = ${days[1]!}::date`);
      const proofsBefore = new Map<string, EventProof>();
      const sample = kept.filter((_, i) => i % 5 === 0 || i < 10);
      for (const id of sample) {
        const r = await proveEvent(db.db, id);
        if (r.state === 'found') proofsBefore.set(id, r.proof);
      }
      expect(proofsBefore.size).toBe(sample.length);

      // Retention drops day 1 (its events are gone), the tree is not touched.
      const step = await purgeServerLogs({
        db: db.db,
        checkpointKeys: KEYS,
        beforeDay: days[1]!,
        limit: 5000,
        dryRun: false,
      });
      expect(step).toMatchObject({ partitions: 1 });
      // Day 1's leaves that share a block with day 2's were kept (leaves 256 to 349), no others.
      expect(
        resultRows(
          await db.db.execute(
            sql`select count(*)::int as n, min(idx)::int as lo, max(idx)::int as hi from audit.tree_leaves`,
          ),
        ),
      ).toEqual([{ n: 94, lo: 256, hi: 349 }]);
      expect(await ids(db, sql`day = ${days[0]!}::date`)).toEqual([]);
      // The next head names the horizon; every kept event still proves, against it too.
      const after = await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      expect(after!.note).toContain(`\nhorizon ${days[1]}\n`);
      for (const id of sample) {
        const r = await proveEvent(db.db, id);
        if (r.state !== 'found') throw new Error(`no proof for ${id}`);
        expect(outsiderVerifies(r.proof, publicKey)).toBe(true);
        expect(outsiderVerifies(proofsBefore.get(id)!, publicKey)).toBe(true);
      }
      const pk = await verifyChain({ db: db.db, checkpointKeys: [], openHead });
      expect(pk.problems).toEqual([]);
      expect(pk.tree).toMatchObject({ horizon: days[1], leaves: 700 });
      expect(pk.tree!.kept).toBe(350);
      // A kept day deleted by hand is no purge: the signed horizon keeps it.
      await db.db.execute(sql`delete from audit.events where day = ${days[2]!}::date and seq = 7`);
      expect((await verifyChain({ db: db.db, checkpointKeys: [], openHead })).problems).toContainEqual(
        expect.objectContaining({ reason: 'tree-missing', day: days[2] }),
      );
    },
  );

  it.skipIf(skip)(
    'a history cut back by someone holding every key passes their re-signed head, and is caught against a witness copy',
    async () => {
      const db = await fresh();
      const { signer, open: openHead } = treeSigner();
      const w1 = writer(db.db, { writer: 'w1', chainVersion: 3 });
      const w2 = writer(db.db, { writer: 'w2', chainVersion: 3 });
      for (let i = 0; i < 10; i++) w1.append(securityInput(i, 'acct-1'));
      for (let i = 0; i < 10; i++) w2.append(securityInput(i, 'acct-2'));
      await w1.flush();
      await w2.flush();
      const witnessed = (await integrate({ db: db.db, checkpointKeys: KEYS, signer }))!.note!;
      for (let i = 10; i < 15; i++) w2.append(securityInput(i, 'acct-2'));
      await w1.close();
      await w2.close();
      await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      expect((await verifyChain({ db: db.db, checkpointKeys: [], openHead, witness: witnessed })).problems).toEqual([]);

      // The attacker removes w1's last three events, re-signs its checkpoint with the HMAC key...
      await db.db.execute(
        sql`delete from audit.events e using audit.writers w where w.id = e.writer_id and w.name = 'w1' and e.seq >= 7`,
      );
      const lastRow = resultRows<{ hash: string; day: string }>(
        await db.db.execute(
          sql`select encode(e.hash_bytes, 'hex') as hash, e.day::text as day from audit.events e join audit.writers w on w.id = e.writer_id where w.name = 'w1' and e.seq = 6`,
        ),
      )[0]!;
      const checkpoint = { writer: 'w1', day: lastRow.day, count: 7, lastHash: lastRow.hash, closed: true };
      await db.db.execute(
        sql`update audit.checkpoints set count = 7, last_hash = ${lastRow.hash}, closed = true, mac = ${checkpointMac(KEYS, checkpoint)} where writer = 'w1'`,
      );
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(true);
      // ...and rebuilds and re-signs the tree with the signing key.
      await db.db.execute(sql`delete from audit.tree_ranges`);
      await db.db.execute(sql`delete from audit.tree_segments`);
      await db.db.execute(sql`delete from audit.tree_nodes`);
      await db.db.execute(
        sql`update audit.tree_state set size = 0, frontier = '\\x'::bytea, root = sha256(''::bytea), note = null, note_size = null, ranges_count = 0, ranges_hash = sha256(''::bytea)`,
      );
      expect(await integrate({ db: db.db, checkpointKeys: KEYS, signer })).toMatchObject({ size: 22 });
      expect((await verifyChain({ db: db.db, checkpointKeys: [], openHead })).ok).toBe(true);
      // The witness kept the head of 20 leaves: the database no longer extends it.
      const caught = await verifyChain({ db: db.db, checkpointKeys: [], openHead, witness: witnessed });
      expect(caught.ok).toBe(false);
      expect(caught.problems).toContainEqual(expect.objectContaining({ reason: 'witness-mismatch' }));
      expect(caught.tree!.witness).toEqual({ size: 20, consistent: false });
    },
  );
});
