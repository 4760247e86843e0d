import { randomBytes } from 'node:crypto';

/** 2^74: the room of rand_a (12 bits) and rand_b (62 bits) together. */
const SPACE = 1n << 74n;
let lastMs = -1;
let last = 0n;

/**
 * A UUIDv7 (RFC 9562 §5.7) for `ms`: ids that sort by creation time, for keyset pagination.
 *
 * Monotonic within a process (§6.2, method 2 with a random increment): a later call never gets a
 * smaller id, also within one millisecond or when the clock steps back. A new millisecond starts
 * from 74 random bits; within the same one, the next id adds a random 32-bit step to the last.
 * So ids keep their 74 bits of unpredictability to anyone who has not seen a neighbour, and one
 * who has still meets a 2^32 guess per neighbour (public request ids are looked up with a code,
 * never used as a capability on their own).
 */
export function uuidv7(ms: number): string {
  const r = randomBytes(10);
  if (ms > lastMs) {
    lastMs = ms;
    last = BigInt(`0x${r.toString('hex')}`) >> 6n; // 74 random bits
  } else {
    last += BigInt(r.readUInt32BE(0)) + 1n;
    if (last >= SPACE) {
      // 2^74 past the start of a millisecond: count on in the next one.
      lastMs++;
      last = BigInt(`0x${r.toString('hex')}`) >> 7n; // half the space: room to count
    }
  }
  const randA = Number(last >> 62n);
  const randB = last & ((1n << 62n) - 1n);
  const h = lastMs.toString(16).padStart(12, '0') + (0x7000 | randA).toString(16) + ((2n << 62n) | randB).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
