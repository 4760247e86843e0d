// Exact takes of one key coalesced per replica (coalesce.ts), against the memory backend's atomic
// take with every call answered after a random number of turns, so replicas and rounds interleave.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Taken } from '../src/backend.js';
import { TakeCoalescer } from '../src/coalesce.js';
import { MemoryBackend } from '../src/memory-store.js';

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('coalesced exact takes', () => {
  it('never pass the limit, store exactly what they admit, refuse only what would not fit, and leave nothing waiting', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(
          fc.record({
            replica: fc.integer({ min: 0, max: 2 }),
            n: fc.integer({ min: 1, max: 5 }),
            delay: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        async (max, takes, latencies) => {
          const backend = new MemoryBackend();
          const replicas = [new TakeCoalescer(), new TakeCoalescer(), new TakeCoalescer()];
          let calls = 0;
          const call = (n: number): Promise<Taken> =>
            turns(latencies[calls++ % latencies.length]!).then(() => backend.take('k', n, max, 60_000));
          const results = await Promise.all(
            takes.map(async (t) => (await turns(t.delay), replicas[t.replica]!.take('k', t.n, max, call))),
          );
          const admitted = results.reduce((sum, r, i) => sum + (r.allowed ? takes[i]!.n : 0), 0);
          const held = (await backend.take('k', 0, max, 60_000)).count;
          expect(held).toBe(admitted);
          expect(admitted).toBeLessThanOrEqual(max);
          // A refusal was right when it was made: the key, which only grows, cannot take it now either.
          results.forEach((r, i) => r.allowed || expect(held + takes[i]!.n).toBeGreaterThan(max));
          // Each admitted take's count is what the key held just after it: distinct, within the limit.
          const counts = results.filter((r) => r.allowed).map((r) => r.count);
          expect(new Set(counts).size).toBe(counts.length);
          expect(counts.every((c) => c >= 1 && c <= max)).toBe(true);
          expect(replicas.map((r) => r.size)).toEqual([0, 0, 0]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a failed call fails every take it carried, and the line goes on', async () => {
    const backend = new MemoryBackend();
    const coalescer = new TakeCoalescer();
    let fail = true;
    const call = async (n: number): Promise<Taken> => {
      await turns(1);
      if (fail && n > 1) throw new Error('store down');
      return backend.take('k', n, 10, 60_000);
    };
    const first = coalescer.take('k', 1, 10, call); // alone: n = 1, succeeds
    const carried = [coalescer.take('k', 1, 10, call), coalescer.take('k', 1, 10, call)]; // one call of 2: fails
    expect(await first).toMatchObject({ allowed: true, count: 1 });
    await expect(Promise.all(carried)).rejects.toThrow('store down');
    fail = false;
    expect(await coalescer.take('k', 3, 10, call)).toMatchObject({ allowed: true, count: 4 });
    expect(coalescer.size).toBe(0);
  });
});
