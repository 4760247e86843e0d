/**
 * An RFC 6962 inclusion-proof check written from the RFC for the tests (sections 2.1.1 and 2.1.3),
 * independent of `@harakaflow/audit`'s merkle.ts: the audit log's proofs are checked with this, as an
 * outsider holding only the public key would check them.
 */
import { createHash, verify, type KeyObject } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/**
 * The root an audit path leads to: RFC 6962's PATH recursion run backwards (the path lists the deepest sibling first).
 */
export function rootFromPath(leaf: Buffer, m: number, n: number, path: Buffer[]): Buffer | null {
  if (n === 1) return path.length === 0 ? leaf : null;
  if (path.length === 0 || m < 0 || m >= n) return null;
  let k = 1;
  while (k * 2 < n) k *= 2;
  const top = path[path.length - 1]!;
  const rest = path.slice(0, -1);
  if (m < k) {
    const left = rootFromPath(leaf, m, k, rest);
    return left && sha256(Buffer.from([1]), left, top);
  }
  const right = rootFromPath(leaf, m - k, n - k, rest);
  return right && sha256(Buffer.from([1]), top, right);
}

/** The proof of an audit event as `GET /v1/audit/events/:id/proof` serves it. */
export interface ServedProof {
  hash: string;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
  checkpoint: string | null;
}

/**
 * Checks a proof as an outsider would: the leaf from the event's hash (SHA-256(0x00 || hash)), the
 * path to the root, and the root and size in the checkpoint, whose first signature must verify
 * under `publicKey` (Ed25519 over the note's text, after a 4-byte key id).
 */
export function outsiderVerifies(p: ServedProof, publicKey: KeyObject): boolean {
  const leaf = sha256(Buffer.from([0]), Buffer.from(p.hash, 'hex'));
  if (leaf.toString('base64') !== p.leafHash || !p.checkpoint) return false;
  const root = rootFromPath(
    leaf,
    p.leafIndex,
    p.treeSize,
    p.proof.map((x) => Buffer.from(x, 'base64')),
  );
  if (!root || root.toString('base64') !== p.rootHash) return false;
  const [body, sigs] = p.checkpoint.split('\n\n');
  const lines = body!.split('\n');
  if (lines[1] !== String(p.treeSize) || lines[2] !== p.rootHash) return false;
  const sig = Buffer.from(sigs!.trim().split('\n')[0]!.split(' ')[2]!, 'base64').subarray(4);
  return verify(null, Buffer.from(`${body}\n`), publicKey, sig);
}
