// `pnpm bench`: every variant in its own process, driven in turn by autocannon (a warm-up, then
// interleaved measured rounds so drift in the machine hits every variant alike). Prints a table
// and writes .bench/latest.json at the repository root.
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { variants } from './variants.js';

const duration = Number(process.env.BENCH_DURATION ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const only = process.env.BENCH_VARIANTS?.split(',').map((s) => s.trim());
const selected = variants.filter((v) => v.name === 'bare' || !only || only.includes(v.name));

interface Running {
  name: string;
  child: ChildProcess;
  url: string;
  headers: Record<string, string>;
  rates: number[];
  p50: number[];
  p99: number[];
}

// On a 2-core machine the load generator and the server fight for CPU; pinning the servers to the
// last core and autocannon to the others keeps that fight the same for every variant.
const cores = cpus().length;
let pinned = false;
try {
  if (cores >= 2) {
    execFileSync('taskset', ['-p', '-c', `0-${cores - 2}`, String(process.pid)], { stdio: 'ignore' });
    pinned = true;
  }
} catch {
  pinned = false;
}

async function launch(name: string): Promise<Running> {
  const args = [process.execPath, '--import', 'tsx', fileURLToPath(new URL('./serve.ts', import.meta.url)), name];
  const child = spawn(pinned ? 'taskset' : args[0]!, pinned ? ['-c', String(cores - 1), ...args] : args.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const { port, headers } = await new Promise<{ port: number; headers: Record<string, string> }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number; headers: Record<string, string> }));
    child.once('exit', (code) => reject(new Error(`variant ${name} exited with ${code}`)));
  });
  return { name, child, url: `http://127.0.0.1:${port}/v1/ping`, headers, rates: [], p50: [], p99: [] };
}

async function drive(target: Running, seconds: number) {
  const result = await autocannon({ url: target.url, headers: target.headers, connections, duration: seconds });
  // autocannon reports latency in whole milliseconds at this rate; keep its numbers as they are.
  if (result.non2xx || result.errors) throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const running: Running[] = [];
try {
  for (const variant of selected) running.push(await launch(variant.name));
  for (const target of running) await drive(target, 2); // warm-up: JIT, pools, caches
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round: no variant is always the one measured first.
    const order = running.map((_, i) => running[(i + round) % running.length]!);
    for (const target of order) {
      const result = await drive(target, duration);
      target.rates.push(result.requests.total / duration);
      target.p50.push(result.latency.p50);
      target.p99.push(result.latency.p99);
    }
  }
} finally {
  for (const target of running) target.child.disconnect();
}

const bareRate = median(running[0]!.rates);
const rows = running.map((t) => {
  const requestsPerSecond = Math.round(median(t.rates));
  return {
    name: t.name,
    requestsPerSecond,
    p50Ms: median(t.p50),
    p99Ms: median(t.p99),
    ratioToBare: Number((requestsPerSecond / bareRate).toFixed(3)),
  };
});

const report = {
  node: process.version,
  cpus: cpus().length,
  date: new Date().toISOString(),
  settings: { duration, rounds, connections, pinned, statistic: 'median of rounds', database: process.env.DATABASE_URL ? 'postgres' : 'pglite', redis: Boolean(process.env.REDIS_URL) },
  variants: rows,
};
const root = fileURLToPath(new URL('../../../', import.meta.url));
mkdirSync(`${root}.bench`, { recursive: true });
writeFileSync(`${root}.bench/latest.json`, JSON.stringify(report, null, 2) + '\n');

console.log(
  `\nGET /v1/ping, ${connections} connections, ${rounds} x ${duration}s interleaved and rotated, median per round, ` +
    `node ${process.version}, ${report.cpus} cpus${pinned ? ', servers pinned to the last core' : ''}`,
);
console.table(rows);
console.log('written to .bench/latest.json');
