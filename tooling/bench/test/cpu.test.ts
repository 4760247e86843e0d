// What the bench counts as a server's CPU (issue 29 item 1): process.cpuUsage() is the whole process,
// every thread, so work moved to a worker thread is counted; the main thread's share is read from
// /proc beside it, and is null where /proc is missing.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { mainThreadCpuMicros, parseStatTicks } from '../src/cpu.js';

const total = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

describe('parseStatTicks', () => {
  it('reads utime + stime after a command name holding spaces and parentheses', () => {
    const line =
      '4242 (node (bench) x) R 1 4242 4242 0 -1 4194304 2171 0 0 0 517 38 0 0 20 0 7 0 25506 745713664 10045 18446744073709551615';
    expect(parseStatTicks(line)).toBe(555);
  });

  it('answers null for a line it cannot read', () => {
    expect(parseStatTicks('')).toBeNull();
    expect(parseStatTicks('4242 (node) R 1 2')).toBeNull();
  });
});

describe.runIf(existsSync(`/proc/self/task/${process.pid}/stat`))('mainThreadCpuMicros', () => {
  it('grows with work on the main thread', () => {
    const before = mainThreadCpuMicros()!;
    const start = total();
    let x = 0;
    while (total() - start < 300_000) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    // 10 ms ticks: allow a few of them and whatever other threads took meanwhile.
    expect(mainThreadCpuMicros()! - before).toBeGreaterThan(200_000);
  });

  it('leaves out a worker thread that process.cpuUsage counts', async () => {
    const mainBefore = mainThreadCpuMicros()!;
    const processBefore = total();
    // The worker spins until the process has used 400 ms of CPU more; the main thread only waits.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const total = () => { const u = process.cpuUsage(); return u.user + u.system; };
       let x = 0; while (total() - workerData.from < 400000) x += Math.sqrt(x + 1);
       parentPort.postMessage(x > 0);`,
      { eval: true, workerData: { from: processBefore } },
    );
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    const processUsed = total() - processBefore;
    const mainUsed = mainThreadCpuMicros()! - mainBefore;
    expect(processUsed).toBeGreaterThanOrEqual(400_000);
    expect(mainUsed).toBeLessThan(processUsed - 250_000);
  });
});
