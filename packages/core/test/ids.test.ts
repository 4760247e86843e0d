import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { uuidv7 } from '../src/index.js';

const FORM = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('uuidv7', () => {
  it('carries the millisecond, the version and the variant', () => {
    const ms = Date.UTC(2099, 0, 1); // later than any other id of this file, whatever the order
    const id = uuidv7(ms);
    expect(id).toMatch(FORM);
    expect(msOf(id)).toBe(ms);
  });

  it('sorts in the order made, within one millisecond and when the clock steps back (the export listed two notices of one millisecond out of order)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 200 }), (steps) => {
        let ms = Date.UTC(2030, 0, 1) + Math.floor(Math.random() * 1e9);
        const ids = steps.map((s) => uuidv7((ms += s)));
        for (const id of ids) expect(id).toMatch(FORM);
        expect([...ids].sort()).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
  });

  it('two ids of one millisecond are not neighbours a guess finds', () => {
    const ms = Date.UTC(2031, 0, 1);
    const [a, b] = [uuidv7(ms), uuidv7(ms)];
    const tail = (id: string) => BigInt(`0x${id.slice(24)}`);
    expect(tail(b!) - tail(a!)).not.toBe(1n);
  });
});
