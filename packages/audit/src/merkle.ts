/**
 * RFC 6962 Merkle trees (RFC 9162 section 2.1), as plain functions: the leaf and node hashes, a
 * tree's frontier (the roots of its perfect subtrees, enough to append and to compute the root),
 * inclusion and consistency proofs built from any source of subtree hashes, and their checks.
 * A reviewer reads the tree's rules here alone; tree.ts stores it in Postgres.
 *
 * Sizes and indexes are JavaScript numbers (exact below 2^53) and never use bit operators, which
 * would cut them to 32 bits.
 */
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** SHA-256(0x00 || data): the hash of one leaf. */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}

/** SHA-256(0x01 || left || right): an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** The largest power of two smaller than `n` (n ≥ 2): where RFC 6962 splits a range of n leaves. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number) => n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

/** MTH over leaf hashes held in memory. */
export function rootOf(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  const f = new Frontier();
  for (const leaf of leaves) f.append(leaf);
  return f.root();
}

/**
 * The frontier of a tree of `size` leaves: the hashes of its perfect subtrees, largest (leftmost)
 * first, one per bit set in `size`. Appending a leaf merges equal subtrees; `onNode` hears every
 * interior node completed (its level: 1 for two leaves; its index among the nodes of that level).
 */
export class Frontier {
  size: number;
  readonly hashes: Buffer[];

  constructor(size = 0, hashes: Buffer[] = []) {
    let bits = 0;
    for (let n = size; n > 0; n = half(n)) if (odd(n)) bits++;
    if (!Number.isSafeInteger(size) || size < 0 || bits !== hashes.length)
      throw new RangeError(`a frontier of ${size} leaves holds ${bits} hashes, not ${hashes.length}`);
    this.size = size;
    this.hashes = hashes;
  }

  append(leaf: Uint8Array, onNode?: (level: number, index: number, hash: Buffer) => void): void {
    let hash: Buffer = Buffer.from(leaf);
    let level = 0;
    let index = this.size;
    while (odd(index)) {
      hash = nodeHash(this.hashes.pop()!, hash);
      level++;
      index = half(index);
      onNode?.(level, index, hash);
    }
    this.hashes.push(hash);
    this.size++;
  }

  /** Appends a whole perfect subtree of 2^level leaves (its root `hash`); the size must be a multiple of 2^level. */
  appendNode(level: number, hash: Uint8Array): void {
    const width = 2 ** level;
    if (this.size % width !== 0) throw new RangeError(`a subtree of ${width} leaves cannot follow ${this.size}`);
    let h: Buffer = Buffer.from(hash);
    let index = this.size / width;
    while (odd(index)) {
      h = nodeHash(this.hashes.pop()!, h);
      index = half(index);
    }
    this.hashes.push(h);
    this.size += width;
  }

  root(): Buffer {
    if (this.size === 0) return EMPTY_ROOT;
    let h = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = nodeHash(this.hashes[i]!, h);
    return h;
  }

  clone(): Frontier {
    return new Frontier(this.size, [...this.hashes]);
  }

  /** The hashes, concatenated (32 bytes each), as stored. */
  bytes(): Buffer {
    return Buffer.concat(this.hashes);
  }

  static fromBytes(size: number, bytes: Uint8Array): Frontier {
    if (bytes.length % 32 !== 0) throw new RangeError('a frontier is a whole number of 32-byte hashes');
    const hashes: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 32) hashes.push(Buffer.from(bytes.subarray(i, i + 32)));
    return new Frontier(size, hashes);
  }
}

/**
 * Where proofs read the tree: `range(lo, hi)` is MTH(D[lo:hi]) for the ranges RFC 6962's
 * recursion asks for (a perfect, aligned subtree, or a tree's right edge).
 */
export type SubtreeSource = (lo: number, hi: number) => Promise<Buffer>;

/** RFC 6962 PATH(m, D[n]): the audit path of leaf `index` in the tree of its first `size` leaves. */
export async function inclusionProof(index: number, size: number, range: SubtreeSource): Promise<Buffer[]> {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Buffer[] = [];
  let lo = 0;
  let hi = size;
  const siblings: [number, number][] = [];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      siblings.push([lo + k, hi]);
      hi = lo + k;
    } else {
      siblings.push([lo, lo + k]);
      lo += k;
    }
  }
  // Deepest first, as RFC 6962 lists them.
  for (let i = siblings.length - 1; i >= 0; i--) path.push(await range(siblings[i]![0], siblings[i]![1]));
  return path;
}

/** RFC 6962 PROOF(m, D[n]): that the tree of `first` leaves is a prefix of the tree of `second`. */
export async function consistencyProof(first: number, second: number, range: SubtreeSource): Promise<Buffer[]> {
  if (!(first >= 0 && first <= second)) throw new RangeError(`no consistency proof from ${first} to ${second}`);
  if (first === 0 || first === second) return [];
  const wanted: [number, number][] = [];
  let lo = 0;
  let hi = second;
  let m = first;
  let whole = true;
  for (;;) {
    const n = hi - lo;
    if (m === n) {
      if (!whole) wanted.push([lo, hi]);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      wanted.push([lo + k, hi]);
      hi = lo + k;
    } else {
      wanted.push([lo, lo + k]);
      lo += k;
      m -= k;
      whole = false;
    }
  }
  const proof: Buffer[] = [];
  for (let i = wanted.length - 1; i >= 0; i--) proof.push(await range(wanted[i]![0], wanted[i]![1]));
  return proof;
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** RFC 9162 2.1.3.2: does `proof` lead leaf `index`'s hash to `root` in a tree of `size` leaves? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn))
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else r = nodeHash(r, p);
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && same(r, root);
}

/**
 * RFC 9162 2.1.4.2: is the tree of `second` leaves (root `secondRoot`) an extension of the tree of `first` (root
 * `firstRoot`)?
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!(Number.isSafeInteger(first) && Number.isSafeInteger(second) && first >= 0 && first <= second)) return false;
  if (first === second) return proof.length === 0 && same(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn))
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else sr = nodeHash(sr, c);
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && same(fr, firstRoot) && same(sr, secondRoot);
}
