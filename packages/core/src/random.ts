/**
 * One CSPRNG pool for the kit (issue 19 item 7; the audit log and the vault each had one): random
 * bytes drawn from a 4 KiB block of `crypto.randomBytes`, one call to the random source per block
 * instead of one per id, nonce or key.
 *
 * - `randomView(n)`: a view into the block, for bytes used at once (ids, salts turned into text).
 *   A block is never refilled in place: a new one is allocated, so a view stays valid.
 * - `randomCopy(n)`: a copy, and the block's bytes are zeroed, for key material: nothing handed out
 *   as a secret stays in the pool.
 */
import { randomBytes } from 'node:crypto';

const BLOCK = 4096;
let pool = Buffer.alloc(0);
let at = 0;

function take(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > BLOCK)
    throw new RangeError(`random bytes are drawn 1 to ${BLOCK} at a time`);
  if (at + n > pool.length) {
    pool = randomBytes(BLOCK);
    at = 0;
  }
  const start = at;
  at += n;
  return start;
}

/** `n` (1 to 4096) random bytes as a view into the pool: use them at once, never as a key. */
export function randomView(n: number): Buffer {
  const start = take(n);
  return pool.subarray(start, start + n);
}

/** `n` (1 to 4096) random bytes of their own (keys, nonces); the pool's copy is zeroed. */
export function randomCopy(n: number): Buffer {
  const start = take(n);
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, start, start + n);
  pool.fill(0, start, start + n);
  return out;
}
