import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  Frontier,
  inclusionProof,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../src/merkle.js';

// A naive MTH straight from RFC 6962 2.1, to check the frontier and the proofs against.
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
const leavesOf = (n: number, seed = 0) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${seed} ${i}`)));
const source = (leaves: Buffer[]) => async (lo: number, hi: number) => mth(leaves.slice(lo, hi));

describe('RFC 6962 Merkle tree', () => {
  it('the frontier computes the same root as the naive MTH, and reports every interior node', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), (n) => {
        const leaves = leavesOf(n);
        const f = new Frontier();
        const nodes = new Map<string, Buffer>();
        for (const l of leaves) f.append(l, (level, index, hash) => nodes.set(`${level}/${index}`, hash));
        expect(f.root().equals(mth(leaves))).toBe(true);
        expect(rootOf(leaves).equals(mth(leaves))).toBe(true);
        for (const [key, hash] of nodes) {
          const [level, index] = key.split('/').map(Number) as [number, number];
          expect(hash.equals(mth(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)))).toBe(true);
        }
        const again = Frontier.fromBytes(f.size, f.bytes());
        expect(again.root().equals(f.root())).toBe(true);
      }),
      { numRuns: 60 },
    );
    expect(new Frontier().root().equals(EMPTY_ROOT)).toBe(true);
    expect(() => new Frontier(3, [])).toThrow(RangeError);
  });

  it('inclusion proofs verify for every leaf, and fail when anything is changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.nat(), async (n, pick) => {
        const leaves = leavesOf(n, 1);
        const root = mth(leaves);
        const i = pick % n;
        const proof = await inclusionProof(i, n, source(leaves));
        expect(verifyInclusion(leaves[i]!, i, n, proof, root)).toBe(true);
        expect(verifyInclusion(leafHash(Buffer.from('other')), i, n, proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion(leaves[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        if (proof.length) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[0]![0]! ^= 1;
          expect(verifyInclusion(leaves[i]!, i, n, bad, root)).toBe(false);
          expect(verifyInclusion(leaves[i]!, i, n, proof.slice(1), root)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('consistency proofs verify between any two sizes, and fail for another history', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), async (a, b) => {
        const [m, n] = a <= b ? [a, b] : [b, a];
        const leaves = leavesOf(n, 2);
        const proof = await consistencyProof(m, n, source(leaves));
        expect(verifyConsistency(m, n, mth(leaves.slice(0, m)), mth(leaves), proof)).toBe(true);
        if (m > 0 && m < n) {
          const forked = [...leaves];
          forked[m - 1] = leafHash(Buffer.from('rewritten'));
          expect(verifyConsistency(m, n, mth(leaves.slice(0, m)), mth(forked), proof)).toBe(false);
          expect(verifyConsistency(m, n, mth(forked.slice(0, m)), mth(leaves), proof)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });
});
