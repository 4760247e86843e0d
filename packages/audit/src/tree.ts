/**
 * The audit log's Merkle tree (issue 33 items 1 to 3): one RFC 6962 tree over every writer's
 * events, whose heads are signed as C2SP checkpoints, so anyone holding the public key can check
 * an event's inclusion, and a witness holding an old head can check that history only grew.
 *
 * - **Leaves.** An event's leaf is SHA-256(0x00 || its 32-byte chain hash). The chain hash covers
 *   the salted personal digest, not the personal fields, so erasure (which keeps the digest) leaves
 *   every leaf, and every proof, as it was.
 * - **Order.** Writers chain their own segments (writer, UTC day) in their batches; the
 *   integrator (`integrate`, every `treeIntervalMs` on each replica, one replica at a time through
 *   a row lock) appends the events the checkpoints show committed, segment by segment in seq
 *   order, stopping at a hole (a batch not yet committed, a spill not yet replayed). Which events
 *   are which leaves is `audit.tree_ranges` (a run of one segment's events from a tree index).
 *   Integrating off the writers' batches keeps them free of a shared lock: one global order built
 *   in every batch's transaction would serialize every writer's commit on one row.
 * - **Storage.** The frontier (one hash per bit of the size) and the root in `audit.tree_state`;
 *   every complete subtree of 256 leaves or more in `audit.tree_nodes` (about one row per 128
 *   events). A proof reads at most one block of 256 leaves (from the events) and stored nodes.
 * - **Retention.** Before a day partition is dropped, the leaf hashes of that day that share a
 *   256-leaf block with leaves of other days are kept in `audit.tree_leaves` (`keepTreeLeaves`):
 *   proofs of the kept events, and a check of the whole tree, never need a dropped row.
 * - **Heads.** Each run that appends signs the new head (when keys are set) with the retention
 *   horizon as an extension line (`horizon YYYY-MM-DD`, only once its HMAC holds): the days
 *   before it may be missing from the events; every other leaf must be there.
 */
import type { SigningKey } from '@harakaflow/core';
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { uuidv7Ms } from './ids.js';
import {
  consistencyProof,
  EMPTY_ROOT,
  Frontier,
  inclusionProof,
  leafHash,
  nodeHash,
  rootOf,
  splitPoint,
} from './merkle.js';
import { checkpointValid } from './checkpoints.js';
import { readHorizon } from './partitions.js';
import { pgArray } from './pg-array.js';

/** Leaves per block: complete subtrees of this many leaves or more are stored. */
export const BLOCK = 256;
const BLOCK_LEVEL = 8;

/** What signs tree heads: `@harakaflow/audit`'s AuditSigningKeys (note.ts), or anything shaped like it. */
export interface HeadSigner {
  readonly origin: string;
  signNote(text: string): string;
}

export interface TreeHead {
  size: number;
  root: Buffer;
  /** The latest signed checkpoint (a C2SP signed note), or null when no keys sign heads. */
  note: string | null;
  /** The size the note commits to (the tree may have grown since it was signed). */
  noteSize: number | null;
}

export interface IntegrateOptions {
  db: Database;
  /** The checkpoint HMAC keys: the horizon is named in a head only when its signature holds. */
  checkpointKeys: readonly SigningKey[];
  signer?: HeadSigner | null | undefined;
  /** Most leaves appended by one run (the rest wait for the next). Default 50,000. */
  maxLeaves?: number | undefined;
}

export interface IntegrateResult {
  appended: number;
  size: number;
  root: Buffer;
  /** The head signed by this run, when it signed one. */
  note: string | null;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A bytea as either driver returns it (Buffer, Uint8Array, or `\\x` hex text). */
export const bytes = (v: unknown): Buffer =>
  typeof v === 'string' ? Buffer.from(v.replace(/^\\x/, ''), 'hex') : Buffer.from(v as Uint8Array);

/** The body of a C2SP checkpoint (origin, size, base64 root, extension lines). */
export function headBody(
  origin: string,
  size: number,
  root: Uint8Array,
  horizon: string | null,
  ranges: { count: number; hash: Uint8Array },
): string {
  return `${origin}\n${size}\n${Buffer.from(root).toString('base64')}\n${horizon ? `horizon ${horizon}\n` : ''}ranges ${ranges.count} ${Buffer.from(ranges.hash).toString('base64')}\n`;
}

/** The empty chain of ranges. */
export const NO_RANGES: Buffer = createHash('sha256').digest();

/**
 * The chain over the tree's index of events (`audit.tree_ranges`, in tree order), which every signed
 * head commits to (`ranges <count> <base64>`): SHA-256(previous || JSON[start, writer, day,
 * first seq, count] "\n"). Without it a range's day, which says whether its events may be missing
 * (a day before the horizon), would be the database's word (review of issue 33).
 */
export function rangeLink(
  previous: Uint8Array,
  r: { start: number; writer: string; day: string; firstSeq: number; count: number },
): Buffer {
  return createHash('sha256')
    .update(previous)
    .update(`${JSON.stringify([r.start, r.writer, r.day, r.firstSeq, r.count])}\n`)
    .digest();
}

/** The `ranges` extension line of a signed head. */
export function parseRangesLine(extensions: readonly string[]): { count: number; hash: Buffer } | null {
  const line = extensions.find((l) => l.startsWith('ranges '));
  const m = line ? /^ranges (0|[1-9]\d{0,15}) ([A-Za-z0-9+/]{43}=)$/.exec(line) : null;
  return m ? { count: Number(m[1]), hash: Buffer.from(m[2]!, 'base64') } : null;
}

/** The tree's state row: size, root and the latest signed note. */
export async function readTreeHead(db: Database): Promise<TreeHead | null> {
  const [row] = resultRows<{ size: string; root: unknown; note: string | null; note_size: string | null }>(
    await db.execute(
      sql`select size::text as size, root, note, note_size::text as note_size from audit.tree_state where id`,
    ),
  );
  if (!row) return null;
  return {
    size: Number(row.size),
    root: bytes(row.root),
    note: row.note,
    noteSize: row.note_size === null ? null : Number(row.note_size),
  };
}

interface Pending {
  writer: string;
  day: string;
  count: number;
  included: number;
  lastId: string | null;
}

/**
 * Appends what the writers committed since the last run, in one transaction, and signs the new
 * head. Returns null when another replica holds the tree (it is integrating now).
 */
export async function integrate(o: IntegrateOptions): Promise<IntegrateResult | null> {
  const budget = o.maxLeaves ?? 50_000;
  return o.db.transaction(async (txn) => {
    const tx = txn as unknown as Database;
    const [state] = resultRows<{
      size: string;
      frontier: unknown;
      note: string | null;
      note_size: string | null;
      ranges_count: string;
      ranges_hash: unknown;
    }>(
      await tx.execute(
        sql`select size::text as size, frontier, note, note_size::text as note_size, ranges_count::text as ranges_count, ranges_hash from audit.tree_state where id for update skip locked`,
      ),
    );
    if (!state) return null;
    const frontier = Frontier.fromBytes(Number(state.size), bytes(state.frontier));
    const horizon = await readHorizon(tx, o.checkpointKeys);
    // A horizon is signed only when its HMAC holds and it leaves the last week (no purge reaches it).
    const validHorizon =
      horizon?.valid && horizon.day <= new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10)
        ? horizon.day
        : null;
    // Only segments whose checkpoint verifies under the HMAC keys: a row written by hand (a count
    // bumped, a writer run under another key) must not be signed into the tree. Read in pages
    // (oldest day first) until the budget is spent: segments that never complete (forged, or
    // stuck) must not hold the rest out. Days before the horizon only when its HMAC holds.
    const pending: Pending[] = [];
    for (let cursor: { day: string; writer: string } | null = null; ;) {
      type Row = {
        writer: string;
        day: string;
        count: number;
        last_hash: string;
        closed: boolean;
        mac: string;
        included: number;
        last_id: string | null;
      };
      const page: Row[] = resultRows<Row>(
        await tx.execute(sql`select c.writer, c.day::text as day, c.count, c.last_hash, c.closed, c.mac, coalesce(s.included, 0) as included, s.last_id::text as last_id
          from audit.checkpoints c left join audit.tree_segments s on s.writer = c.writer and s.day = c.day
          where c.count > coalesce(s.included, 0) and (${validHorizon}::date is null or c.day >= ${validHorizon}::date)
            ${cursor ? sql`and (c.day, c.writer) > (${cursor.day}::date, ${cursor.writer})` : sql``}
          order by c.day, c.writer limit 500`),
      );
      for (const r of page) {
        if (
          !checkpointValid(o.checkpointKeys, {
            writer: r.writer,
            day: r.day,
            count: Number(r.count),
            lastHash: r.last_hash,
            closed: r.closed === true || (r.closed as unknown) === 't',
            mac: r.mac,
          })
        )
          continue;
        pending.push({
          writer: r.writer,
          day: r.day,
          count: Number(r.count),
          included: Number(r.included),
          lastId: r.last_id,
        });
      }
      if (page.length < 500) break;
      cursor = { day: page[page.length - 1]!.day, writer: page[page.length - 1]!.writer };
    }

    const staleDay = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const nodes: { level: number; index: number; hash: Buffer }[] = [];
    const onNode = (level: number, index: number, hash: Buffer) => {
      if (level >= BLOCK_LEVEL) nodes.push({ level, index, hash });
    };
    const ranges: {
      start: number;
      writer: string;
      day: string;
      firstSeq: number;
      count: number;
      firstId: string;
      lastId: string;
    }[] = [];
    const progress: { writer: string; day: string; included: number; lastId: string }[] = [];
    let appended = 0;
    for (const p of pending) {
      if (appended >= budget) break;
      let expected = p.included;
      let after = p.lastId ?? '00000000-0000-0000-0000-000000000000';
      let range: (typeof ranges)[number] | null = null;
      for (;;) {
        const want = Math.min(5000, budget - appended, p.count - expected);
        if (want <= 0) break;
        const rows = resultRows<{ id: string; seq: number; hash: unknown }>(
          await tx.execute(sql`select e.id::text as id, e.seq, coalesce(e.hash_bytes, decode(e.hash, 'hex')) as hash from audit.events e
            where e.day = ${p.day}::date and e.id > ${after}::uuid
              and (e.writer = ${p.writer} or e.writer_id = (select w.id from audit.writers w where w.name = ${p.writer}))
            order by e.id limit ${want}`),
        );
        let stop = rows.length < want;
        for (const r of rows) {
          // A hole (not committed yet, or lost): this segment waits there, until its day is two
          // days gone (a lost spill file never fills it; verify reports it as missing), then goes on after it.
          if (Number(r.seq) !== expected) {
            if (Number(r.seq) > expected && p.day < staleDay) {
              expected = Number(r.seq);
              range = null;
            } else {
              stop = true;
              break;
            }
          }
          const hash = bytes(r.hash);
          if (hash.length !== 32) {
            stop = true;
            break;
          }
          if (!range)
            ranges.push(
              (range = {
                start: frontier.size,
                writer: p.writer,
                day: p.day,
                firstSeq: expected,
                count: 0,
                firstId: r.id,
                lastId: r.id,
              }),
            );
          frontier.append(leafHash(hash), onNode);
          range.count++;
          range.lastId = r.id;
          after = r.id;
          expected++;
          appended++;
        }
        if (stop) break;
      }
      if (range) progress.push({ writer: p.writer, day: p.day, included: expected, lastId: after });
    }

    const root = frontier.root();
    const chain = { count: Number(state.ranges_count), hash: bytes(state.ranges_hash) };
    for (const r of ranges) {
      chain.hash = rangeLink(chain.hash, r);
      chain.count++;
    }
    const body = o.signer ? headBody(o.signer.origin, frontier.size, root, validHorizon, chain) : null;
    // Sign when the tree grew, when the horizon moved, or when nothing signed the current size yet.
    const stale =
      body !== null &&
      (appended > 0 ||
        state.note === null ||
        Number(state.note_size) !== frontier.size ||
        !state.note.startsWith(body));
    const note = stale ? o.signer!.signNote(body) : null;
    if (!appended && !note) return { appended: 0, size: frontier.size, root, note: null };

    if (ranges.length) {
      await tx.execute(sql`insert into audit.tree_ranges (start, writer, day, first_seq, count, first_id, last_id)
        select * from unnest(${pgArray(ranges, (r) => String(r.start))}::bigint[], ${pgArray(ranges, (r) => r.writer)}::text[], ${pgArray(ranges, (r) => r.day)}::date[],
          ${pgArray(ranges, (r) => String(r.firstSeq))}::int[], ${pgArray(ranges, (r) => String(r.count))}::int[], ${pgArray(ranges, (r) => r.firstId)}::uuid[], ${pgArray(ranges, (r) => r.lastId)}::uuid[])`);
      await tx.execute(sql`insert into audit.tree_segments (writer, day, included, last_id)
        select * from unnest(${pgArray(progress, (r) => r.writer)}::text[], ${pgArray(progress, (r) => r.day)}::date[], ${pgArray(progress, (r) => String(r.included))}::int[], ${pgArray(progress, (r) => r.lastId)}::uuid[])
        on conflict (writer, day) do update set included = excluded.included, last_id = excluded.last_id`);
    }
    if (nodes.length) {
      await tx.execute(sql`insert into audit.tree_nodes (level, idx, hash)
        select l, i, decode(h, 'hex') from unnest(${pgArray(nodes, (n) => String(n.level))}::smallint[], ${pgArray(nodes, (n) => String(n.index))}::bigint[], ${pgArray(nodes, (n) => hex(n.hash))}::text[]) as t(l, i, h)
        on conflict do nothing`);
    }
    await tx.execute(sql`update audit.tree_state set size = ${frontier.size}, frontier = decode(${hex(frontier.bytes())}, 'hex'), root = decode(${hex(root)}, 'hex'),
      note = coalesce(${note}, note), note_size = case when ${note}::text is null then note_size else ${frontier.size} end,
      ranges_count = ${chain.count}, ranges_hash = decode(${hex(chain.hash)}, 'hex'), updated_at = now() where id`);
    if (note) {
      await tx.execute(sql`insert into audit.tree_heads (hour, size, root, note) values (date_trunc('hour', now()), ${frontier.size}, decode(${hex(root)}, 'hex'), ${note})
        on conflict (hour) do update set size = excluded.size, root = excluded.root, note = excluded.note where audit.tree_heads.size <= excluded.size`);
    }
    return { appended, size: frontier.size, root, note };
  });
}

interface RangeRow {
  start: number;
  writer: string;
  day: string;
  firstSeq: number;
  count: number;
  firstId: string;
  lastId: string;
}

const rangeRow = (r: {
  start: string;
  writer: string;
  day: string;
  first_seq: number;
  count: number;
  first_id: string;
  last_id: string;
}): RangeRow => ({
  start: Number(r.start),
  writer: r.writer,
  day: r.day,
  firstSeq: Number(r.first_seq),
  count: Number(r.count),
  firstId: r.first_id,
  lastId: r.last_id,
});

/** The ranges that hold leaves of [lo, hi), in tree order. */
async function rangesOver(db: Database, lo: number, hi: number): Promise<RangeRow[]> {
  return resultRows<Parameters<typeof rangeRow>[0]>(
    await db.execute(sql`select start::text as start, writer, day::text as day, first_seq, count, first_id::text as first_id, last_id::text as last_id
      from audit.tree_ranges where start >= coalesce((select max(start) from audit.tree_ranges where start <= ${lo}), 0) and start < ${hi} order by tree_ranges.start`),
  ).map(rangeRow);
}

/** The chain hashes of one range's events still stored, by seq. */
async function rangeHashes(
  db: Database,
  r: { writer: string; day: string; firstId: string; lastId: string },
  seqs?: { from: number; to: number },
): Promise<Map<number, Buffer>> {
  const rows = resultRows<{ seq: number; hash: unknown }>(
    await db.execute(sql`select e.seq, coalesce(e.hash_bytes, decode(e.hash, 'hex')) as hash from audit.events e
      where e.day = ${r.day}::date and e.id between ${r.firstId}::uuid and ${r.lastId}::uuid
        and (e.writer = ${r.writer} or e.writer_id = (select w.id from audit.writers w where w.name = ${r.writer}))
        ${seqs ? sql`and e.seq between ${seqs.from} and ${seqs.to}` : sql``}`),
  );
  return new Map(rows.map((row) => [Number(row.seq), bytes(row.hash)]));
}

export class TreeUnavailable extends Error {
  constructor(readonly index: number) {
    super(`leaf ${index} of the audit tree is neither stored nor kept`);
  }
}

/**
 * Reads subtree hashes for proofs: stored nodes for complete blocks, leaves (from the events, or
 * the hashes kept when their day was dropped) within a block. Caches what it read: one reader
 * proves many events (an export) at the cost of a few blocks.
 */
export class TreeReader {
  readonly #db: Database;
  readonly #blocks = new Map<number, Buffer[]>();
  readonly #nodes = new Map<string, Buffer | null>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** The leaf hashes of [lo, hi), which lie within one block. */
  async leaves(lo: number, hi: number, size: number): Promise<Buffer[]> {
    const block = Math.floor(lo / BLOCK);
    let cached = this.#blocks.get(block);
    if (!cached || cached.length < Math.min(BLOCK, size - block * BLOCK)) {
      cached = await this.#readBlock(block * BLOCK, Math.min(block * BLOCK + BLOCK, size));
      if (this.#blocks.size > 4096) this.#blocks.clear();
      this.#blocks.set(block, cached);
    }
    return cached.slice(lo - block * BLOCK, hi - block * BLOCK);
  }

  async #readBlock(lo: number, hi: number): Promise<Buffer[]> {
    const out = new Array<Buffer | undefined>(hi - lo).fill(undefined);
    for (const r of await rangesOver(this.#db, lo, hi)) {
      // Only the block's part of the range (a range may hold 50,000 events).
      const from = Math.max(lo, r.start);
      const to = Math.min(hi, r.start + r.count) - 1;
      const hashes = await rangeHashes(this.#db, r, {
        from: r.firstSeq + (from - r.start),
        to: r.firstSeq + (to - r.start),
      });
      for (let i = Math.max(lo, r.start); i < Math.min(hi, r.start + r.count); i++) {
        const h = hashes.get(r.firstSeq + (i - r.start));
        if (h) out[i - lo] = leafHash(h);
      }
    }
    if (out.some((h) => !h)) {
      const kept = resultRows<{ idx: string; hash: unknown }>(
        await this.#db.execute(
          sql`select idx::text as idx, hash from audit.tree_leaves where idx >= ${lo} and idx < ${hi}`,
        ),
      );
      for (const k of kept) if (!out[Number(k.idx) - lo]) out[Number(k.idx) - lo] = bytes(k.hash);
    }
    const missing = out.findIndex((h) => !h);
    if (missing >= 0) throw new TreeUnavailable(lo + missing);
    return out as Buffer[];
  }

  async #node(level: number, index: number): Promise<Buffer | null> {
    const key = `${level}/${index}`;
    if (!this.#nodes.has(key)) {
      const [row] = resultRows<{ hash: unknown }>(
        await this.#db.execute(sql`select hash from audit.tree_nodes where level = ${level} and idx = ${index}`),
      );
      if (this.#nodes.size > 100_000) this.#nodes.clear();
      this.#nodes.set(key, row ? bytes(row.hash) : null);
    }
    return this.#nodes.get(key)!;
  }

  /** MTH(D[lo:hi]) of the tree of `size` leaves. */
  async range(lo: number, hi: number, size: number): Promise<Buffer> {
    const n = hi - lo;
    if (n <= 0) return EMPTY_ROOT;
    if (n >= BLOCK && Number.isInteger(Math.log2(n)) && lo % n === 0) {
      const stored = await this.#node(Math.log2(n), lo / n);
      if (stored) return stored;
    }
    if (Math.floor(lo / BLOCK) === Math.floor((hi - 1) / BLOCK)) return rootOf(await this.leaves(lo, hi, size));
    const k = splitPoint(n);
    return nodeHash(await this.range(lo, lo + k, size), await this.range(lo + k, hi, size));
  }

  inclusion(index: number, size: number): Promise<Buffer[]> {
    return inclusionProof(index, size, (lo, hi) => this.range(lo, hi, size));
  }

  consistency(first: number, second: number): Promise<Buffer[]> {
    return consistencyProof(first, second, (lo, hi) => this.range(lo, hi, second));
  }
}

/** Where one event is in the tree: its leaf index, or null while it is not integrated yet. */
export async function leafIndex(db: Database, e: { writer: string; day: string; seq: number }): Promise<number | null> {
  const [row] = resultRows<{ start: string; first_seq: number; count: number }>(
    await db.execute(sql`select start::text as start, first_seq, count from audit.tree_ranges
      where writer = ${e.writer} and day = ${e.day}::date and first_seq <= ${e.seq} order by first_seq desc limit 1`),
  );
  if (!row || e.seq >= Number(row.first_seq) + Number(row.count)) return null;
  return Number(row.start) + (e.seq - Number(row.first_seq));
}

/**
 * Before day `day`'s events go (server-log retention), keeps the leaf hashes of that day that
 * share a 256-leaf block with other days' leaves, or lie in the tree's last, incomplete block: the
 * blocks whose node proofs and checks cannot use instead. Idempotent.
 */
export async function keepTreeLeaves(db: Database, day: string): Promise<number> {
  const head = await readTreeHead(db);
  if (!head?.size) return 0;
  const own = resultRows<Parameters<typeof rangeRow>[0]>(
    await db.execute(sql`select start::text as start, writer, day::text as day, first_seq, count, first_id::text as first_id, last_id::text as last_id
      from audit.tree_ranges where day = ${day}::date order by tree_ranges.start`),
  ).map(rangeRow);
  if (!own.length) return 0;
  const blocks = new Set<number>();
  for (const r of own) {
    blocks.add(Math.floor(r.start / BLOCK));
    blocks.add(Math.floor((r.start + r.count - 1) / BLOCK));
  }
  let kept = 0;
  for (const block of [...blocks].sort((a, b) => a - b)) {
    const lo = block * BLOCK;
    const hi = Math.min(lo + BLOCK, head.size);
    const inBlock = await rangesOver(db, lo, hi);
    const whole = hi - lo === BLOCK && inBlock.every((r) => r.day === day);
    if (whole) continue;
    const idx: number[] = [];
    const hashes: Buffer[] = [];
    for (const r of inBlock) {
      if (r.day !== day) continue;
      const stored = await rangeHashes(db, r);
      for (let i = Math.max(lo, r.start); i < Math.min(hi, r.start + r.count); i++) {
        const h = stored.get(r.firstSeq + (i - r.start));
        if (!h) continue;
        idx.push(i);
        hashes.push(leafHash(h));
      }
    }
    if (!idx.length) continue;
    await db.execute(sql`insert into audit.tree_leaves (idx, hash)
      select i, decode(h, 'hex') from unnest(${pgArray(idx, String)}::bigint[], ${pgArray(hashes, hex)}::text[]) as t(i, h) on conflict (idx) do nothing`);
    kept += idx.length;
  }
  return kept;
}

/** An event's inclusion proof (RFC 6962) against the latest signed head. */
export interface EventProof {
  id: string;
  /** The event's chain hash (hex), the leaf's input; the leaf hash is SHA-256(0x00 || those 32 bytes). */
  hash: string;
  leafIndex: number;
  treeSize: number;
  /** Base64, as in the checkpoint. */
  leafHash: string;
  rootHash: string;
  /** The audit path, deepest first (base64). */
  proof: string[];
  /** The signed checkpoint (C2SP signed note) of `treeSize` and `rootHash`; null when heads are not signed. */
  checkpoint: string | null;
}

/** `subjectId`: whom the event is about now (null once erased), for the caller's access check; not part of the proof. */
export type ProofResult =
  | { state: 'found'; proof: EventProof; subjectId: string | null }
  | { state: 'pending'; subjectId: string | null }
  | { state: 'missing' };

/** The UTC day a UUIDv7's time falls in. */
const dayOfId = (id: string) => new Date(uuidv7Ms(id)).toISOString().slice(0, 10);

async function eventLeaf(
  db: Database,
  id: string,
): Promise<{ writer: string; day: string; seq: number; hash: Buffer; subjectId: string | null } | null> {
  // An id whose time reads past the year 9999 (a v4 UUID, say) has no day Postgres reads ('+010889-08'): no near day then.
  const day = dayOfId(id);
  const near = /^\d{4}-\d{2}-\d{2}$/.test(day);
  const find = async (near: boolean) =>
    resultRows<{ writer: string; day: string; seq: number; hash: unknown; subject_id: string | null }>(
      await db.execute(sql`select coalesce(e.writer, w.name) as writer, e.day::text as day, e.seq, coalesce(e.hash_bytes, decode(e.hash, 'hex')) as hash, e.subject_id
        from audit.events e left join audit.writers w on w.id = e.writer_id
        where e.id = ${id}::uuid ${near ? sql`and e.day between ${day}::date - 1 and ${day}::date + 1` : sql``} limit 1`),
    )[0];
  // Ids carry their time: the day is near it, unless the event waited long (a spill replayed later).
  const row = (near ? await find(true) : undefined) ?? (await find(false));
  return row
    ? { writer: row.writer, day: row.day, seq: Number(row.seq), hash: bytes(row.hash), subjectId: row.subject_id }
    : null;
}

/**
 * The inclusion proof of event `id` in the latest signed head (the unsigned head when none is
 * signed): `missing` when no such event is stored, `pending` while it is not in that head yet
 * (integrated every `treeIntervalMs`). `reader` may be shared to prove many events (an export).
 */
export async function proveEvent(
  db: Database,
  id: string,
  reader = new TreeReader(db),
  head?: TreeHead | null,
  only?: { subjectId: string },
): Promise<ProofResult> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return { state: 'missing' };
  const e = await eventLeaf(db, id.toLowerCase());
  // `only`: another subject's event reads as no event, before any proof work (no timing tells it exists).
  if (!e || (only && e.subjectId !== only.subjectId)) return { state: 'missing' };
  const h = head === undefined ? await readTreeHead(db) : head;
  if (!h) return { state: 'pending', subjectId: e.subjectId };
  const size = h.note !== null && h.noteSize !== null ? h.noteSize : h.size;
  const index = await leafIndex(db, e);
  if (index === null || index >= size) return { state: 'pending', subjectId: e.subjectId };
  const root = size === h.size ? h.root : await reader.range(0, size, size);
  const proof = await reader.inclusion(index, size);
  return {
    state: 'found',
    subjectId: e.subjectId,
    proof: {
      id: id.toLowerCase(),
      hash: e.hash.toString('hex'),
      leafIndex: index,
      treeSize: size,
      leafHash: leafHash(e.hash).toString('base64'),
      rootHash: root.toString('base64'),
      proof: proof.map((p) => p.toString('base64')),
      checkpoint: h.note !== null && h.noteSize === size ? h.note : null,
    },
  };
}
