import { randomBytes } from 'node:crypto';

/** 2^74: the room of rand_a (12 bits) and rand_b (62 bits) together. */
const SPACE = 1n << 74n;
let lastMs = -1;
let last = 0n;

/**
 * A UUIDv7 (RFC 9562 §5.7) for `ms`: ids that sort by creation time, for keyset pagination.
 *
 * Monotonic within a millisecond in a process (§6.2, method 2 with a random increment): the next
 * id for the same millisecond as the last one adds a random 32-bit step to it, so ids made one
 * after another sort in the order made. Another millisecond starts from 74 random bits, earlier
 * or later alike: an id always carries the millisecond it was asked for (no state carries a
 * clock's time from one caller to the next). Ids keep their unpredictability to anyone who has not
 * seen a neighbour, and one who has still meets a 2^32 guess per neighbour (public request ids
 * are looked up with a code, never used as a capability on their own).
 */
export function uuidv7(ms: number): string {
  const r = randomBytes(10);
  const next = ms === lastMs ? last + BigInt(r.readUInt32BE(0)) + 1n : -1n;
  if (next < 0n || next >= SPACE) {
    // A new millisecond (or, after 2^74 ids in one, which cannot happen, a fresh start).
    lastMs = ms;
    last = BigInt(`0x${r.toString('hex')}`) >> 7n; // 73 random bits: half the space left to count in
  } else last = next;
  const randA = Number(last >> 62n);
  const randB = last & ((1n << 62n) - 1n);
  const h =
    ms.toString(16).padStart(12, '0') +
    (0x7000 | randA).toString(16).padStart(4, '0') +
    ((2n << 62n) | randB).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
