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
console.log(
  `credential-vault: seal+open of 1 KiB, local keyring, one thread: ${median.toLocaleString('en')} round trips/s (median of 5 x 1 s; goal >= 50,000)`,
);

// The machine: the same loop in one worker thread per core, at once, summed (a server runs one
// process per core). Reported beside the single-thread figure, not instead of it.
{
  const { Worker } = await import('node:worker_threads');
  const { cpus } = await import('node:os');
  const ms = 3000;
  const workers = cpus().length;
  const counts = await Promise.all(
    Array.from({ length: workers }, () => {
      const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
        workerData: { keys: `k1:${randomBytes(32).toString('base64')}`, ms },
      });
      return new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    }),
  );
  const total = Math.round(counts.reduce((a, b) => a + b, 0) / (ms / 1000));
  console.log(
    `credential-vault: seal+open of 1 KiB, ${workers} threads (one per core): ${total.toLocaleString('en')} round trips/s in all`,
  );
}

// keys.set of a 100-key Signal batch, then keys.get of it, through the auth-state adapter against
// the database (DATABASE_URL when set, else in-memory PGlite). Reported, no goal.
{
  const { createDatabase, migrate } = await import('@harakaflow/db');
  const { useVaultAuthState, vaultMigrations, VaultStore } = await import('../src/index.js');
  const handle = await createDatabase({ url: process.env.DATABASE_URL });
  await migrate(handle.db, [vaultMigrations]);
  const store = new VaultStore(handle.db, keys);
  const { state } = await useVaultAuthState(store, { accountId: 'bench', sessionId: `s-${Date.now()}` });
  const batch = Object.fromEntries(
    Array.from({ length: 100 }, (_, i) => [String(i), { public: randomBytes(32), private: randomBytes(32) }]),
  );
  const ids = Object.keys(batch);
  const times = { set: [] as number[], get: [] as number[] };
  for (let i = 0; i < 12; i++) {
    let t = performance.now();
    await state.keys.set({ 'pre-key': batch });
    times.set.push(performance.now() - t);
    t = performance.now();
    const got = await state.keys.get('pre-key', ids);
    times.get.push(performance.now() - t);
    if (Object.keys(got).length !== 100) throw new Error('keys.get lost keys');
  }
  const med = (a: number[]) => [...a.slice(2)].sort((x, y) => x - y)[Math.floor((a.length - 2) / 2)]!.toFixed(1);
  console.log(
    `credential-vault: keys.set of 100 Signal keys ${med(times.set)} ms, keys.get of them ${med(times.get)} ms (median of 10, ${handle.driver})`,
  );
  await store.deleteAccount('bench');
  await handle.close();
}
