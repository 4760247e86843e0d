/** Retention and the tree: the leaf hashes a dropped day leaves behind, so proofs and checks never need its rows. */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { leafHash } from './merkle.js';
import { pgArray } from './pg-array.js';
import { BLOCK, hex, rangeHashes, rangeRow, rangesOver, readTreeHead, type StoredRange } from './tree-store.js';

/**
 * Before day `day`'s events go (server-log retention), keeps the leaf hashes of that day that
 * share a 256-leaf block with other days' leaves, or lie in the tree's last, incomplete block: the
 * blocks whose node proofs and checks cannot use instead. Idempotent.
 */
export async function keepTreeLeaves(db: Database, day: string): Promise<number> {
  const head = await readTreeHead(db);
  if (!head?.size) return 0;
  const own = resultRows<StoredRange>(
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
