/** The cache of consent cookie values that verified: one HMAC per browser, not per request. */
import { decodeDecision, type Decoded, type Secret } from './codec.js';

/**
 * Remembers cookie values that verified, so a browser that sends the same value on every request
 * costs one HMAC in its lifetime, not one per request (each HMAC allocates a native object whose
 * finalizer weighs on the garbage collector: about half of this plugin's cost before the cache).
 * Only verified values enter; expiry is checked on every hit. Bounded across names: the oldest
 * entry of the name being added goes when it is full (of another name when that one has none).
 *
 * A hit is the exact value, signature included, under the exact name: one map per cookie name (the
 * MAC covers the name, so a value verified under one name is never taken as verified under
 * another), in which a value's slot is a number made of its last four characters (for a genuine
 * value, 24 bits of its HMAC) and the entry there must equal the value in full. Hashing the whole
 * value for a string key cost more than everything else the hot path does (issue 29 item 4); two
 * values in one slot only cost a verification, and only a verified value ever takes a slot.
 */
export class VerifiedCookies {
  readonly #byName = new Map<string, Map<number, { value: string; decoded: Decoded }>>();
  readonly #capacity: number;
  #size = 0;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  decode(value: unknown, name: string, secrets: readonly Secret[], nowSeconds: number): Decoded | null {
    if (typeof value !== 'string') return null;
    let entries = this.#byName.get(name);
    const slot = slotOf(value);
    const entry = entries?.get(slot);
    if (entry && entry.value === value) {
      if (entry.decoded.decision.expiresAt > nowSeconds) return entry.decoded;
      entries!.delete(slot);
      this.#size--;
      return null;
    }
    const decoded = decodeDecision(value, name, secrets, nowSeconds);
    if (decoded && this.#capacity > 0) {
      if (!entries) this.#byName.set(name, (entries = new Map()));
      // Another verified value in the slot gives way (verified again when it comes back).
      if (!entry) {
        if (this.#size >= this.#capacity) this.#evict(entries);
        this.#size++;
      }
      entries.set(slot, { value, decoded });
    }
    return decoded;
  }

  #evict(preferred: Map<number, unknown>): void {
    for (const entries of preferred.size ? [preferred] : this.#byName.values()) {
      const oldest = entries.keys().next();
      if (!oldest.done) {
        entries.delete(oldest.value);
        this.#size--;
        return;
      }
    }
  }

  get size(): number {
    return this.#size;
  }
}

/** The slot of a value: its last four characters, 7 bits each, as one small integer. */
function slotOf(value: string): number {
  const n = value.length;
  if (n < 4) return -1 - n;
  return (
    (((value.charCodeAt(n - 1) & 0x7f) * 128 + (value.charCodeAt(n - 2) & 0x7f)) * 128 +
      (value.charCodeAt(n - 3) & 0x7f)) *
      128 +
    (value.charCodeAt(n - 4) & 0x7f)
  );
}
