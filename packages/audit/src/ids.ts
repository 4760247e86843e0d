/**
 * UUIDv7 (RFC 9562 §5.7), monotonic (§6.2, method 2: the random bits as a counter): the 48-bit
 * time is the event's own millisecond, and the 74 bits after the version and variant (rand_a and
 * rand_b) are one counter, drawn at random once per generator and incremented by one per id. So
 * ids made in one process sort in the order they were made (the primary key orders events by
 * time and, within a writer, in chain order), two processes' ids collide only if their random
 * starts fall within the ids they make (about 2^-50 for a billion each), and no id costs a call to
 * the random source (issue 29: the request path makes no random call per event).
 *
 * The counter reveals how many ids a process made between two of its ids; audit ids are not
 * secrets (they are shown to the admin and stated in erasure records, never used as capabilities).
 */
import { randomBytes } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const TWO_31 = 2 ** 31;

/** A monotonic UUIDv7 generator with its own time and counter state. */
export class Uuidv7Generator {
  #lastMs = -1;
  /** The 74-bit counter as rand_a (12 bits) and rand_b (62 bits: `high` 31, `low` 31). */
  #a: number;
  #high: number;
  #low: number;

  constructor(seed: Buffer = randomBytes(10)) {
    this.#a = seed.readUInt16BE(0) & 0x7ff; // the lower half of the 12 bits: room to count up
    this.#high = seed.readUInt32BE(2) >>> 1;
    this.#low = seed.readUInt32BE(6) >>> 1;
  }

  /** The next id's millisecond: `ms`, or the last id's when the clock stepped back (counting on from it). */
  #advance(ms: number): number {
    if (ms > this.#lastMs) this.#lastMs = ms;
    if (++this.#low === TWO_31) {
      this.#low = 0;
      if (++this.#high === TWO_31) {
        this.#high = 0;
        // 2^62 ids since the last carry: rand_a counts on; past 12 bits, the next millisecond.
        if (++this.#a > 0xfff) {
          this.#a = 0;
          this.#lastMs++;
        }
      }
    }
    return this.#lastMs;
  }

  /** Writes the next id for `ms` as 16 bytes into `out` at `offset`; returns its millisecond. */
  bytes(ms: number, out: Buffer, offset = 0): number {
    const t = this.#advance(ms);
    const hi = Math.floor(t / 2 ** 16);
    out.writeUInt32BE(hi, offset);
    out.writeUInt16BE(t - hi * 2 ** 16, offset + 4);
    out.writeUInt16BE(0x7000 | this.#a, offset + 6);
    // rand_b: variant 10, then the 62-bit counter (high 31 bits, low 31 bits).
    const high = this.#high;
    out.writeUInt32BE((0x80000000 | (high >>> 1)) >>> 0, offset + 8);
    out.writeUInt32BE((((high & 1) << 31) | this.#low) >>> 0, offset + 12);
    return t;
  }

  /** The next id for `ms` in its text form. */
  text(ms: number): string {
    this.bytes(ms, scratch, 0);
    return uuidText(scratch, 0);
  }

  /** The next id for `ms` as the hex of its 16 bytes (format 3's layout). */
  hex(ms: number): string {
    this.bytes(ms, scratch, 0);
    return scratch.toString('hex');
  }
}

const scratch = Buffer.alloc(16);

/** The text form of the 16-byte UUID at `offset` of `bytes`. */
export function uuidText(bytes: Uint8Array, offset = 0): string {
  const h = (i: number) => HEX[bytes[offset + i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

/** The 16 bytes of a UUID in text form (with or without hyphens), or null when it is not one. */
export function uuidBytes(text: string): Buffer | null {
  const hex =
    text.length === 36 && text[8] === '-' && text[13] === '-' && text[18] === '-' && text[23] === '-'
      ? text.slice(0, 8) + text.slice(9, 13) + text.slice(14, 18) + text.slice(19, 23) + text.slice(24)
      : text;
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null;
  return Buffer.from(hex, 'hex');
}

/** The millisecond a UUIDv7 (text) carries. */
export function uuidv7Ms(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** A UUIDv7 generator with its own counter state, as a function of the millisecond. */
export function createUuidv7(seed?: Buffer): (ms: number) => string {
  const generator = new Uuidv7Generator(seed);
  return (ms) => generator.text(ms);
}

/** The process's generator: one counter for every writer in it. */
export const uuidGenerator = new Uuidv7Generator();
export const uuidv7 = (ms: number): string => uuidGenerator.text(ms);

/** The smallest UUIDv7 of a millisecond: a bound for id ranges by time. */
export function uuidv7Floor(ms: number): string {
  const t = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7000-8000-000000000000`;
}
