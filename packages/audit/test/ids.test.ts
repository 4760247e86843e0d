import { describe, expect, it } from 'vitest';
import { createUuidv7, uuidBytes, uuidText, Uuidv7Generator, uuidv7Floor } from '../src/ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is a version 7, variant 10 UUID carrying the given millisecond', () => {
    const ms = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
    const id = createUuidv7()(ms);
    expect(id).toMatch(V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts in the order ids were made, within a millisecond and across a clock step back', () => {
    const uuidv7 = createUuidv7();
    const base = Date.now();
    const ids = [];
    for (let i = 0; i < 5000; i++) ids.push(uuidv7(base + Math.floor(i / 3000)));
    ids.push(uuidv7(base - 5)); // the clock stepped back
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has a floor below every id of its millisecond and above every earlier one', () => {
    const ms = Date.now();
    const id = createUuidv7()(ms);
    expect(uuidv7Floor(ms) < id).toBe(true);
    expect(uuidv7Floor(ms + 1) > id).toBe(true);
  });

  it('makes no random call per id: a generator is its seed and a counter (two with one seed agree id for id)', () => {
    const seed = Buffer.from('00112233445566778899', 'hex');
    const a = createUuidv7(seed);
    const b = createUuidv7(Buffer.from(seed));
    const ms = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 1000 }, (_, i) => a(ms + Math.floor(i / 7)));
    expect(Array.from({ length: 1000 }, (_, i) => b(ms + Math.floor(i / 7)))).toEqual(ids);
    // Consecutive ids differ by one in their 74 counter bits, also across a millisecond.
    const counter = (id: string) => {
      const h = id.replace(/-/g, '');
      return (BigInt(`0x${h.slice(13, 16)}`) << 62n) | (BigInt(`0x${h.slice(16)}`) & ((1n << 62n) - 1n));
    };
    for (let i = 1; i < ids.length; i++) expect(counter(ids[i]!) - counter(ids[i - 1]!)).toBe(1n);
  });

  it('carries the counter from rand_b into rand_a, stays sorted and never repeats', () => {
    // rand_b's 62 counter bits all ones: the first id carries into rand_a (0x7ff, the seed's top, to 0x800).
    const seed = Buffer.alloc(10, 0xff);
    const g = new Uuidv7Generator(seed);
    const ms = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 4 }, () => g.text(ms));
    expect(ids[0]!.slice(14, 18)).toBe('7800');
    expect(ids[0]!.slice(19)).toBe('8000-000000000000');
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    expect(ids.every((id) => V7.test(id))).toBe(true);
    // The text and byte forms agree.
    expect(uuidText(uuidBytes(ids[0]!)!)).toBe(ids[0]);
  });
});
