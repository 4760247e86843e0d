/**
 * UUIDv7 (RFC 9562 §5.7) with a 12-bit counter in rand_a (§6.2, method 1): the 48-bit time is the
 * event's own millisecond, and ids made in one process sort in the order they were made, so the
 * primary key orders events by time and, within a writer, in chain order. Random bits come from a
 * pooled CSPRNG buffer (one randomBytes call per 512 ids).
 */
import { randomView } from '@harakaflow/core';

const random8 = () => randomView(8);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A UUIDv7 generator with its own counter state. */
export function createUuidv7(): (ms: number) => string {
  let lastMs = -1;
  let counter = 0;
  return (ms) => {
    if (ms > lastMs) {
      lastMs = ms;
      counter = random8().readUInt16BE(0) & 0x3ff; // start low in the 12 bits: room to count up
    } else {
      // Same millisecond, or the clock stepped back: keep counting on the last id's time.
      ms = lastMs;
      if (++counter > 0xfff) {
        lastMs = ms = lastMs + 1;
        counter = 0;
      }
    }
    const r = random8();
    const t = ms.toString(16).padStart(12, '0');
    const a = (0x7000 | counter).toString(16);
    const b = HEX[0x80 | (r[0]! & 0x3f)]! + HEX[r[1]!]!;
    let tail = '';
    for (let i = 2; i < 8; i++) tail += HEX[r[i]!]!;
    return `${t.slice(0, 8)}-${t.slice(8)}-${a}-${b}-${tail}`;
  };
}

/** The process's generator: one counter for every writer in it. */
export const uuidv7 = createUuidv7();

/** The smallest UUIDv7 of a millisecond: a bound for id ranges by time. */
export function uuidv7Floor(ms: number): string {
  const t = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7000-8000-000000000000`;
}
