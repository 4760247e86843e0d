/** Reading subtree hashes for inclusion and consistency proofs, from stored nodes, events and kept leaves. */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, nodeHash, rootOf, splitPoint } from './merkle.js';
import { BLOCK, bytes, rangeHashes, rangesOver } from './tree-store.js';

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
