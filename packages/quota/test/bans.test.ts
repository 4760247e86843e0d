// The ban book alone (no Fastify): escalation, the block cache, lifting and erasure, over real
// memory limiters whose store calls are counted.
import { describe, expect, it } from 'vitest';
import { BanBook } from '../src/bans.js';
import type { StoreConfig } from '../src/store-config.js';
import { GuardedLimiter } from '../src/store-guarded.js';
import { Store } from '../src/store.js';

const config: StoreConfig = { kind: 'memory', timeoutMs: 50, onFallback: () => {} };
function book(checkMs = 1000) {
  const store = new Store(config);
  const bans = new GuardedLimiter('bans', 1, 1, store);
  const violations = new GuardedLimiter('violations', 1_000_000, 600, store);
  const level = new GuardedLimiter('ban-level', 1_000_000, 7 * 86_400, store);
  const calls = () => store.calls;
  return {
    b: new BanBook({ bans, violations, level, after: 3, windowSeconds: 600, durations: [60, 900], checkMs }),
    bans,
    calls,
  };
}

describe('BanBook', () => {
  it('bans on the after-th refusal, for longer each time, and answers from memory once it knows', async () => {
    const { b, calls } = book();
    expect(await b.violation(['acct:a'])).toBeNull();
    expect(await b.violation(['acct:a'])).toBeNull();
    expect(await b.violation(['acct:a'])).toEqual({ seconds: 60, reason: '3 refusals within 600 s' });
    const ms = b.cached('acct:a');
    expect(ms).toBeGreaterThan(59_000);
    expect(ms).toBeLessThanOrEqual(60_000);
    const before = calls();
    expect(await b.remainingMs('acct:a')).toBeGreaterThan(59_000);
    expect(calls()).toBe(before); // the block cache answered
    for (let i = 0; i < 2; i++) await b.violation(['acct:a']);
    expect(await b.violation(['acct:a'])).toEqual({ seconds: 900, reason: '3 refusals within 600 s' });
    // Past the last duration it stays at the longest.
    for (let i = 0; i < 3; i++) await b.violation(['acct:a']);
    expect(b.cached('acct:a')).toBeGreaterThan(899_000);
  });

  it('bans every form of a key, and reads a legacy form when the first is clear', async () => {
    const { b } = book();
    await b.ban(['ipk:x', 'ip:10.0.0.1'], 30);
    expect(b.cached('ipk:x')).toBeGreaterThan(29_000);
    expect(b.cached('ip:10.0.0.1')).toBeGreaterThan(29_000);
    // Another replica (a fresh book on the same store) that only knows the legacy form.
    const other = book();
    await other.bans.block('ip:10.0.0.2', 30);
    expect(await other.b.anyRemainingMs(['ipk:y', 'ip:10.0.0.2'])).toBeGreaterThan(29_000);
    expect(other.b.cached('ipk:y')).toBeGreaterThan(29_000); // remembered under the stored form too
  });

  it('trusts a clear read for checkMs only, then reads the store again', async () => {
    const { b, bans, calls } = book(40);
    expect(await b.remainingMs('acct:c')).toBe(0);
    expect(b.cached('acct:c')).toBe(0);
    const before = calls();
    expect(await b.remainingMs('acct:c')).toBe(0);
    expect(calls()).toBe(before);
    await bans.block('acct:c', 30); // banned elsewhere
    await new Promise((r) => setTimeout(r, 60));
    expect(b.cached('acct:c')).toBeUndefined();
    expect(await b.remainingMs('acct:c')).toBeGreaterThan(29_000);
  });

  it('lifts a ban with its refusals, and erases every trace', async () => {
    const { b } = book();
    await b.ban(['acct:d'], 60);
    await b.violation(['acct:d']);
    await b.lift(['acct:d']);
    expect(b.cached('acct:d')).toBeUndefined();
    expect(await b.remainingMs('acct:d')).toBe(0);
    // The refusal count went with it: two more do not ban.
    await b.violation(['acct:d']);
    expect(await b.violation(['acct:d'])).toBeNull();
    await b.ban(['acct:d'], 60);
    expect(await b.bannedUntil('acct:d')).toBeInstanceOf(Date);
    await b.erase(['acct:d']);
    expect(await b.bannedUntil('acct:d')).toBeNull();
    expect(await b.violation(['acct:d'])).toBeNull();
  });

  it('stays bounded: a full cache evicts (a store read later), never empties at once', async () => {
    const store = new Store(config);
    const bans = new GuardedLimiter('bans-small', 1, 1, store);
    const other = new GuardedLimiter('v-small', 1_000_000, 600, store);
    const b = new BanBook({
      bans,
      violations: other,
      level: other,
      after: 1,
      windowSeconds: 600,
      durations: [60],
      checkMs: 10_000,
      cacheSize: 100,
    });
    for (let i = 0; i < 150; i++) await b.remainingMs(`acct:${i}`);
    let known = 0;
    for (let i = 0; i < 150; i++) if (b.cached(`acct:${i}`) === 0) known++;
    expect(known).toBe(100); // the 100 most recent, not 0 after a clear-when-full
    expect(b.cached('acct:149')).toBe(0);
    expect(b.cached('acct:0')).toBeUndefined();
  });
});
