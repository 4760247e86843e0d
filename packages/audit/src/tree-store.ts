/**
 * The tree's stored state: its block size, the state row (size, root, latest note), and reads of its index of events.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';

/** Leaves per block: complete subtrees of this many leaves or more are stored. */
export const BLOCK = 256;
export const BLOCK_LEVEL = 8;

export interface TreeHead {
  size: number;
  root: Buffer;
  /** The latest signed checkpoint (a C2SP signed note), or null when no keys sign heads. */
  note: string | null;
  /** The size the note commits to (the tree may have grown since it was signed). */
  noteSize: number | null;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A bytea as either driver returns it (Buffer, Uint8Array, or `\\x` hex text). */
export const bytes = (v: unknown): Buffer =>
  typeof v === 'string' ? Buffer.from(v.replace(/^\\x/, ''), 'hex') : Buffer.from(v as Uint8Array);

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

/** Which events are which leaves: a run of one segment's events from a tree index. */
export interface RangeRow {
  start: number;
  writer: string;
  day: string;
  firstSeq: number;
  count: number;
  firstId: string;
  lastId: string;
}

/** An `audit.tree_ranges` row as read: the start as text (a bigint), the day and ids as text. */
export interface StoredRange {
  start: string;
  writer: string;
  day: string;
  first_seq: number;
  count: number;
  first_id: string;
  last_id: string;
}

export const rangeRow = (r: StoredRange): RangeRow => ({
  start: Number(r.start),
  writer: r.writer,
  day: r.day,
  firstSeq: Number(r.first_seq),
  count: Number(r.count),
  firstId: r.first_id,
  lastId: r.last_id,
});

/** The ranges that hold leaves of [lo, hi), in tree order. */
export async function rangesOver(db: Database, lo: number, hi: number): Promise<RangeRow[]> {
  return resultRows<StoredRange>(
    await db.execute(sql`select start::text as start, writer, day::text as day, first_seq, count, first_id::text as first_id, last_id::text as last_id
      from audit.tree_ranges where start >= coalesce((select max(start) from audit.tree_ranges where start <= ${lo}), 0) and start < ${hi} order by tree_ranges.start`),
  ).map(rangeRow);
}

/** The chain hashes of one range's events still stored, by seq. */
export async function rangeHashes(
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
