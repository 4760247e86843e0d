import { describe, expect, it } from 'vitest';
import { withTimeout } from '../src/timeout.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const late = () => Object.assign(new Error('late'), { code: 'TEST_TIMEOUT' });

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('withTimeout', () => {
  it('settles as the work does, and clears its timer either way', async () => {
    const idle = timers();
    const ok = deferred<string>();
    const pending = withTimeout(ok.promise, 60_000, late);
    expect(timers()).toBe(idle + 1);
    ok.resolve('answered');
    await expect(pending).resolves.toBe('answered');
    expect(timers()).toBe(idle);

    const failing = deferred<string>();
    const refused = withTimeout(failing.promise, 60_000, late);
    const cause = new Error('the work failed');
    failing.reject(cause);
    await expect(refused).rejects.toBe(cause);
    expect(timers()).toBe(idle);
  });

  it('rejects with onTimeout() when the work is slower, and a later outcome of the work changes nothing', async () => {
    const slow = deferred<string>();
    await expect(withTimeout(slow.promise, 5, late)).rejects.toMatchObject({ code: 'TEST_TIMEOUT' });
    // Rejecting the work afterwards is handled (no unhandled rejection fails the run).
    slow.reject(new Error('too late'));
    const never = deferred<string>();
    await expect(withTimeout(never.promise, 5, late)).rejects.toThrow('late');
    never.resolve('ignored');
  });

  it('accepts work that is already settled', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, late)).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('no')), 1000, late)).rejects.toThrow('no');
  });
});
