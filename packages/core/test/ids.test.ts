import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { uuidv7 } from '../src/index.js';

const FORM = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('uuidv7', () => {
  it('carries the millisecond, the version and the variant', () => {
    const ms = Date.UTC(2099, 0, 1);
    const id = uuidv7(ms);
    expect(id).toMatch(FORM);
    expect(msOf(id)).toBe(ms);
  });

  it('sorts in the order made within one millisecond (the export listed two notices of one millisecond out of order), and always carries the millisecond asked for', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 200 }), (steps) => {
        let ms = Date.UTC(2030, 0, 1) + Math.floor(Math.random() * 1e9);
        const made = steps.map((s) => {
          ms += s;
          return { ms, id: uuidv7(ms) };
        });
        for (const { ms: at, id } of made) {
          expect(id).toMatch(FORM);
          expect(msOf(id)).toBe(at);
        }
        // Ids of non-decreasing milliseconds sort in the order made.
        for (let i = 1; i < made.length; i++)
          if (made[i]!.ms >= made[i - 1]!.ms) expect(made[i]!.id > made[i - 1]!.id).toBe(true);
        expect(new Set(made.map((m) => m.id)).size).toBe(made.length);
      }),
    );
  });

  it("an earlier millisecond after a later one (another caller's clock) gets an id of its own millisecond", () => {
    const late = uuidv7(Date.UTC(2098, 0, 1));
    const early = uuidv7(Date.UTC(2026, 11, 7));
    expect(msOf(early)).toBe(Date.UTC(2026, 11, 7));
    expect(early < late).toBe(true);
  });

  it('two ids of one millisecond are not neighbours a guess finds', () => {
    const ms = Date.UTC(2031, 0, 1);
    const [a, b] = [uuidv7(ms), uuidv7(ms)];
    const tail = (id: string) => BigInt(`0x${id.slice(24)}`);
    expect(tail(b!) - tail(a!)).not.toBe(1n);
  });
});
