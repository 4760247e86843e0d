// Micro-benchmark of the vault's core: seal + open of 1 KiB with the local keyring (goal: at least
// 50,000 round trips per second on the project's 2-core machine). Part of `pnpm bench`.
import { LocalKeyProvider, open, seal } from '../src/index.js';
import { randomBytes } from 'node:crypto';

const keys = new LocalKeyProvider(`k1:${randomBytes(32).toString('base64')}`);
const place = { accountId: '6f1c2c1e-2b7c-4c55-9d1e-1f2a3b4c5d6e', sessionId: 'session-1', name: 'creds' };
const plaintext = randomBytes(1024);

async function roundTrips(ms: number): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) {
      const blob = await seal(plaintext, place, keys);
      await open(blob, place, keys);
    }
    n += 100;
  }
  return (n / ms) * 1000;
}

await roundTrips(1000); // warm-up
const rates: number[] = [];
for (let i = 0; i < 5; i++) rates.push(await roundTrips(1000));
rates.sort((a, b) => a - b);
const median = Math.round(rates[2]!);
console.log(`credential-vault: seal+open of 1 KiB, local keyring: ${median.toLocaleString('en')} round trips/s (median of 5 x 1 s; goal >= 50,000)`);
