/**
 * Checks the audit log's Merkle tree (tree.ts) against its latest signed head, with public keys
 * only: every leaf is recomputed from the stored events' chain hashes, in the tree's order, and the
 * root must be the signed one. Leaves of days before the signed horizon (dropped by retention) are
 * taken from the nodes and leaf hashes kept for them; anywhere else a missing event is reported.
 * With a witness's head (an older signed note), the tree's first leaves must still hash to the
 * witness's root, and a consistency proof between the two sizes must verify.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { EMPTY_ROOT, Frontier, leafHash, verifyConsistency } from './merkle.js';
import { NO_RANGES, parseRangesLine, rangeLink } from './tree-head.js';
import { TreeReader, TreeUnavailable } from './tree-reader.js';
import { bytes, readTreeHead, type StoredRange } from './tree-store.js';
import { DroppedLeaves } from './tree-verify-dropped.js';

/** Opens a signed head (a C2SP checkpoint) under the verifier keys given; throws when it does not verify. */
export type HeadOpener = (note: string) => { size: number; root: Buffer; extensions: string[]; keyName?: string };

export type TreeProblemReason = 'tree-unsigned' | 'tree-mismatch' | 'tree-missing' | 'witness-mismatch';

export interface TreeProblem {
  reason: TreeProblemReason;
  writer: string;
  day: string;
  seq: number | null;
  detail: string;
}

export interface TreeCheck {
  /** The signed head checked: its size, key and horizon (null when none verified). */
  size: number | null;
  keyName: string | null;
  horizon: string | null;
  /** Leaves recomputed from stored events, and leaves covered by kept hashes and nodes (dropped days). */
  leaves: number;
  kept: number;
  witness: { size: number; consistent: boolean } | null;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export async function checkTree(
  db: Database,
  open: HeadOpener,
  witnessNote: string | null,
  problems: TreeProblem[],
): Promise<TreeCheck> {
  const result: TreeCheck = { size: null, keyName: null, horizon: null, leaves: 0, kept: 0, witness: null };
  const fail = (reason: TreeProblemReason, detail: string, at?: { writer: string; day: string; seq: number | null }) =>
    problems.push({ reason, writer: at?.writer ?? '', day: at?.day ?? '', seq: at?.seq ?? null, detail });
  const head = await readTreeHead(db);
  if (!head?.note) {
    fail('tree-unsigned', 'the audit tree has no signed head (no AUDIT_SIGNING_KEYS yet, or its note was removed)');
    return result;
  }
  let signed: ReturnType<HeadOpener>;
  try {
    signed = open(head.note);
  } catch (error) {
    fail('tree-unsigned', `the latest tree head does not verify under the keys given: ${(error as Error).message}`);
    return result;
  }
  result.size = signed.size;
  result.keyName = signed.keyName ?? null;
  const horizon = signed.extensions.find((l) => l.startsWith('horizon '))?.slice(8) ?? null;
  result.horizon = horizon;

  let witness: { size: number; root: Buffer } | null = null;
  if (witnessNote !== null) {
    try {
      const w = open(witnessNote);
      witness = { size: w.size, root: w.root };
    } catch (error) {
      fail('witness-mismatch', `the witness's head does not verify under the keys given: ${(error as Error).message}`);
      return result;
    }
    result.witness = { size: witness.size, consistent: false };
    if (witness.size > signed.size) {
      fail(
        'witness-mismatch',
        `a witness kept a head of ${witness.size} leaves; the database's latest signed head has ${signed.size}: history was cut back`,
      );
      return result;
    }
  }

  const n = signed.size;
  const frontier = new Frontier();
  let rootAtWitness: Buffer | null = witness?.size === 0 ? EMPTY_ROOT : null;
  const atWitness = () => {
    if (witness && frontier.size === witness.size) rootAtWitness = frontier.root();
  };
  const dropped = new DroppedLeaves({
    db,
    frontier,
    witnessSize: witness?.size ?? null,
    count: result,
    appended: atWitness,
    missing: (detail, at) => fail('tree-missing', detail, at),
  });
  // The index of events is the database's: the signed head commits to it (its `ranges` line), so a
  // range relabelled as a dropped day, moved or cut is caught even where the root still holds.
  const signedRanges = parseRangesLine(signed.extensions);
  let chain: Buffer = NO_RANGES;
  let chainCount = 0;
  for (let next = 0; next < n;) {
    const page = resultRows<StoredRange>(
      await db.execute(sql`select start::text as start, writer, day::text as day, first_seq, count, first_id::text as first_id, last_id::text as last_id
        from audit.tree_ranges where start >= ${next} and start < ${n} order by tree_ranges.start limit 1000`), // the column: 'order by start' sorts the text output
    );
    // At most about 200,000 leaves a page (at least one range): memory stays bounded when a run appended long ranges.
    for (let i = 0, leaves = 0; i < page.length; i++) {
      leaves += Number(page[i]!.count);
      if (leaves > 200_000 && i > 0) {
        page.length = i;
        break;
      }
    }
    if (!page.length || Number(page[0]!.start) !== next) {
      fail(
        'tree-missing',
        `leaves from ${next} to ${page.length ? Number(page[0]!.start) - 1 : n - 1} belong to no range: the tree's index of events was changed`,
      );
      return result;
    }
    // One read per segment in the page: its events between the page's first and last ids.
    const bySegment = new Map<
      string,
      { writer: string; day: string; first: string; last: string; hashes?: Map<number, Buffer> }
    >();
    for (const r of page) {
      const key = `${r.writer}\u0000${r.day}`;
      const s = bySegment.get(key);
      if (!s) bySegment.set(key, { writer: r.writer, day: r.day, first: r.first_id, last: r.last_id });
      else {
        if (r.first_id < s.first) s.first = r.first_id;
        if (r.last_id > s.last) s.last = r.last_id;
      }
    }
    for (const s of bySegment.values()) {
      const rows = resultRows<{ seq: number; hash: unknown }>(
        await db.execute(sql`select e.seq, coalesce(e.hash_bytes, decode(e.hash, 'hex')) as hash from audit.events e
          where e.day = ${s.day}::date and e.id between ${s.first || ZERO_UUID}::uuid and ${s.last}::uuid
            and (e.writer = ${s.writer} or e.writer_id = (select w.id from audit.writers w where w.name = ${s.writer}))`),
      );
      s.hashes = new Map(rows.map((r) => [Number(r.seq), bytes(r.hash)]));
    }
    for (const r of page) {
      const start = Number(r.start);
      chain = rangeLink(chain, {
        start,
        writer: r.writer,
        day: r.day,
        firstSeq: Number(r.first_seq),
        count: Number(r.count),
      });
      chainCount++;
      if (start !== next) {
        fail(
          'tree-missing',
          `leaves from ${next} to ${start - 1} belong to no range: the tree's index of events was changed`,
        );
        return result;
      }
      const count = Math.min(Number(r.count), n - start);
      const hashes = bySegment.get(`${r.writer}\u0000${r.day}`)!.hashes!;
      const droppedDay = horizon !== null && r.day < horizon;
      for (let i = 0; i < count; i++) {
        const seq = Number(r.first_seq) + i;
        const h = hashes.get(seq);
        if (!h) {
          if (!droppedDay) {
            fail(
              'tree-missing',
              `an event the signed tree holds is gone (seq ${seq}), in a day the signed horizon keeps`,
              { writer: r.writer, day: r.day, seq },
            );
            return result;
          }
          // Consecutive dropped leaves (across ranges too) go as one stretch: the largest kept nodes fit it.
          if (!(await dropped.add(start + i, { writer: r.writer, day: r.day, seq }))) return result;
          continue;
        }
        if (!(await dropped.flush())) return result;
        frontier.append(leafHash(h));
        result.leaves++;
        atWitness();
      }
      next = start + count;
    }
  }
  if (!(await dropped.flush())) return result;
  if (!signedRanges || signedRanges.count !== chainCount || !signedRanges.hash.equals(chain)) {
    fail(
      'tree-mismatch',
      "the tree's index of events (audit.tree_ranges: which events are which leaves, and their days) is not the one the signed head commits to",
    );
    return result;
  }
  if (!frontier.root().equals(signed.root)) {
    fail(
      'tree-mismatch',
      `the events the tree holds do not hash to the signed root of ${n} leaves: an event's hash, its order, or the tree's index of events was changed`,
    );
    return result;
  }
  if (witness) {
    let consistent = rootAtWitness !== null && (rootAtWitness as Buffer).equals(witness.root);
    if (!consistent)
      fail(
        'witness-mismatch',
        `the first ${witness.size} leaves no longer hash to the root a witness kept: history before it was rewritten`,
      );
    else {
      try {
        const proof = await new TreeReader(db).consistency(witness.size, n);
        consistent = verifyConsistency(witness.size, n, witness.root, signed.root, proof);
      } catch (error) {
        if (!(error instanceof TreeUnavailable)) throw error;
        consistent = false;
      }
      if (!consistent)
        fail(
          'witness-mismatch',
          `no consistency proof from the witness's ${witness.size} leaves to the signed ${n} holds: the stored nodes were changed`,
        );
    }
    result.witness = { size: witness.size, consistent };
  }
  return result;
}
