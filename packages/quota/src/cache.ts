/**
 * The bounded caches of the hot path: a Map with a size bound, evicting the entry set longest ago
 * (one store read later, never a wrong answer, never emptied at once), and no work on a read
 * beyond the lookup. lru-cache did the same with an options object per read and a timer per
 * millisecond for its clock: 5% of a limited request's CPU.
 */

/** key → an instant (ms) until which the entry holds; expired entries read as absent. */
export class ExpiringSet {
  readonly #until = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** The instant the key holds until, if it still holds at `now`. */
  until(key: string, now: number): number | undefined {
    const until = this.#until.get(key);
    return until !== undefined && until > now ? until : undefined;
  }

  has(key: string, now: number): boolean {
    const until = this.#until.get(key);
    return until !== undefined && until > now;
  }

  set(key: string, until: number): void {
    if (this.#until.delete(key) === false && this.#until.size >= this.#max)
      this.#until.delete(this.#until.keys().next().value!);
    this.#until.set(key, until);
  }

  delete(key: string): void {
    this.#until.delete(key);
  }
}

/** A memo of at most `max` entries, evicting the one made longest ago. */
export class Memo<V> {
  readonly #values = new Map<string, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): V | undefined {
    return this.#values.get(key);
  }

  set(key: string, value: V): V {
    if (this.#values.size >= this.#max && !this.#values.has(key))
      this.#values.delete(this.#values.keys().next().value!);
    this.#values.set(key, value);
    return value;
  }
}
