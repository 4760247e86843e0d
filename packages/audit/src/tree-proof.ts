/**
 * An event's inclusion proof (RFC 6962) against the latest signed head: where it is in the tree, and its audit path.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { uuidv7Ms } from './ids.js';
import { leafHash } from './merkle.js';
import { TreeReader } from './tree-reader.js';
import { bytes, readTreeHead, type TreeHead } from './tree-store.js';

/** Where one event is in the tree: its leaf index, or null while it is not integrated yet. */
export async function leafIndex(db: Database, e: { writer: string; day: string; seq: number }): Promise<number | null> {
  const [row] = resultRows<{ start: string; first_seq: number; count: number }>(
    await db.execute(sql`select start::text as start, first_seq, count from audit.tree_ranges
      where writer = ${e.writer} and day = ${e.day}::date and first_seq <= ${e.seq} order by first_seq desc limit 1`),
  );
  if (!row || e.seq >= Number(row.first_seq) + Number(row.count)) return null;
  return Number(row.start) + (e.seq - Number(row.first_seq));
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

/**
 * `subjectId`: whom the event is about now (null once erased), for the caller's access check; not part of the proof.
 */
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
  // An id whose time reads past the year 9999 (a v4 UUID, say) has no day Postgres reads ('+010889-08'): no near day
  // then.
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
