/**
 * The tree check's leaves of days dropped by retention: the largest kept nodes that fit a stretch, else kept leaf
 * hashes.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import type { Frontier } from './merkle.js';
import { BLOCK, bytes } from './tree-store.js';

/** The event a dropped leaf stood for, to name it in a problem. */
export interface DroppedAt {
  writer: string;
  day: string;
  seq: number;
}

export interface DroppedLeavesOptions {
  db: Database;
  /** The tree being recomputed: dropped leaves are appended to it, as kept nodes or kept leaf hashes. */
  frontier: Frontier;
  /** The witness's size, which no node may cross (its root is needed there), or null. */
  witnessSize: number | null;
  /** Counts the leaves covered by kept nodes and hashes. */
  count: { kept: number };
  /** Called after each append, to catch the frontier at the witness's size. */
  appended: () => void;
  /** Reports a leaf neither kept nor under a kept node. */
  missing: (detail: string, at: DroppedAt) => void;
}

export class DroppedLeaves {
  readonly #o: DroppedLeavesOptions;
  readonly #kept = new Map<number, Map<number, Buffer>>();
  #pending: { a: number; b: number; at: DroppedAt } | null = null;

  constructor(options: DroppedLeavesOptions) {
    this.#o = options;
  }

  /**
   * Leaf `index` belongs to a dropped day and its event is gone. Consecutive dropped leaves (across
   * ranges too) go as one stretch: the largest kept nodes fit it. False when the stretch before it
   * could not be covered (reported).
   */
  async add(index: number, at: DroppedAt): Promise<boolean> {
    if (this.#pending && this.#pending.b === index) {
      this.#pending.b++;
      return true;
    }
    if (!(await this.flush())) return false;
    this.#pending = { a: index, b: index + 1, at };
    return true;
  }

  /** Appends the pending stretch, if any: false when a leaf of it is neither kept nor under a kept node (reported). */
  async flush(): Promise<boolean> {
    const p = this.#pending;
    if (!p) return true;
    this.#pending = null;
    return this.#append(p.a, p.b, p.at);
  }

  async #keptLeaf(i: number): Promise<Buffer | undefined> {
    const block = Math.floor(i / BLOCK);
    if (!this.#kept.has(block)) {
      if (this.#kept.size > 64) this.#kept.clear();
      const rows = resultRows<{ idx: string; hash: unknown }>(
        await this.#o.db.execute(
          sql`select idx::text as idx, hash from audit.tree_leaves where idx >= ${block * BLOCK} and idx < ${block * BLOCK + BLOCK}`,
        ),
      );
      this.#kept.set(block, new Map(rows.map((r) => [Number(r.idx), bytes(r.hash)])));
    }
    return this.#kept.get(block)!.get(i);
  }

  async #node(level: number, index: number): Promise<Buffer | null> {
    const [row] = resultRows<{ hash: unknown }>(
      await this.#o.db.execute(sql`select hash from audit.tree_nodes where level = ${level} and idx = ${index}`),
    );
    return row ? bytes(row.hash) : null;
  }

  /** Leaves [a, b) of a dropped day: the largest kept nodes that fit, else kept leaf hashes. */
  async #append(a: number, b: number, at: DroppedAt): Promise<boolean> {
    const { frontier, witnessSize, count } = this.#o;
    while (a < b) {
      let level = 0;
      while (a % 2 ** (level + 1) === 0 && a + 2 ** (level + 1) <= b) level++;
      // Never across the witness's size: its root is needed there.
      while (level > 0 && witnessSize !== null && a < witnessSize && witnessSize < a + 2 ** level) level--;
      let done = false;
      for (let l = level; l >= 8; l--) {
        const h = await this.#node(l, a / 2 ** l);
        if (h) {
          frontier.appendNode(l, h);
          count.kept += 2 ** l;
          a += 2 ** l;
          done = true;
          break;
        }
      }
      if (!done) {
        const h = await this.#keptLeaf(a);
        if (!h) {
          this.#o.missing(
            `leaf ${a} of the tree belongs to a day dropped by retention, and neither its hash nor a node over it was kept`,
            at,
          );
          return false;
        }
        frontier.append(h);
        count.kept++;
        a++;
      }
      this.#o.appended();
    }
    return true;
  }
}
