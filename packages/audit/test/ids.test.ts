import { describe, expect, it } from 'vitest';
import { createUuidv7, uuidv7Floor } from '../src/ids.js';

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
});
