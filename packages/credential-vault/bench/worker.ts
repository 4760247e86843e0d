// One benchmark worker: the same seal+open loop as bench/crypto.ts, in its own thread.
import { parentPort, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { LocalKeyProvider, open, seal } from '../src/index.js';

const keys = new LocalKeyProvider(workerData.keys as string);
const place = { accountId: '6f1c2c1e-2b7c-4c55-9d1e-1f2a3b4c5d6e', sessionId: 'session-1', name: 'creds' };
const plaintext = randomBytes(1024);
const run = async (ms: number) => {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await open(await seal(plaintext, place, keys), place, keys);
    n += 100;
  }
  return n;
};
await run(1000);
parentPort!.postMessage(await run(workerData.ms as number));
