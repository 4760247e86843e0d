// `pnpm bench`: every variant in its own process, driven in turn by autocannon (a warm-up, then
// interleaved measured rounds so drift in the machine hits every variant alike). Prints a table
// and writes .bench/latest.json at the repository root.
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { variants } from './variants.js';

const duration = Number(process.env.BENCH_DURATION ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const only = process.env.BENCH_VARIANTS?.split(',').map((s) => s.trim());
const selected = variants.filter((v) => v.name === 'bare' || !only || only.includes(v.name));

interface Running {
  name: string;
  child: ChildProcess;
  /** Requests per second of server CPU, per run. */
  capacities: number[];
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
  return { name, child, url: `http://127.0.0.1:${port}/v1/ping`, headers, capacities: [], rates: [], p50: [], p99: [] };
}

function cpuMicros(target: Running): Promise<number> {
  return new Promise((resolve) => {
    target.child.once('message', (m) => resolve((m as { cpuMicros: number }).cpuMicros));
    target.child.send('cpu');
  });
}

async function drive(target: Running, seconds: number) {
  const before = await cpuMicros(target);
  const result = Object.assign(await autocannon({ url: target.url, headers: target.headers, connections, duration: seconds }), {
    capacity: 0,
  });
  result.capacity = result.requests.total / (((await cpuMicros(target)) - before) / 1e6);
  // autocannon reports latency in whole milliseconds at this rate; keep its numbers as they are.
  if (result.non2xx || result.errors) throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const running: Running[] = [];
// Paired measurement: every measured run of a variant sits right next to a run of bare Fastify (their
// order alternating), and its ratio is the median of those paired ratios. Slow drift of the machine
// (other tenants, frequency) then cancels out instead of landing on whichever variant ran at a bad time.
const ratios = new Map<string, number[]>();
try {
  for (const variant of selected) running.push(await launch(variant.name));
  for (const target of running) await drive(target, 2); // warm-up: JIT, pools, caches
  const [bareTarget, ...others] = running;
  for (let round = 0; round < rounds; round++) {
    const order = others.map((_, i) => others[(i + round) % others.length]!);
    for (const target of order) {
      const pair = round % 2 === 0 ? [bareTarget!, target] : [target, bareTarget!];
      const [first, second] = [await drive(pair[0]!, duration), await drive(pair[1]!, duration)];
      for (const [t, result] of [
        [pair[0]!, first],
        [pair[1]!, second],
      ] as const) {
        t.rates.push(result.requests.total / duration);
        t.capacities.push(result.capacity);
        t.p50.push(result.latency.p50);
        t.p99.push(result.latency.p99);
      }
      const bareCapacity = (pair[0] === bareTarget ? first : second).capacity;
      const capacity = (pair[0] === bareTarget ? second : first).capacity;
      ratios.set(target.name, [...(ratios.get(target.name) ?? []), capacity / bareCapacity]);
    }
  }
} finally {
  for (const target of running) target.child.disconnect();
}

const rows = running.map((t) => ({
  name: t.name,
  requestsPerSecond: Math.round(median(t.rates)),
  /** Requests per second of server CPU: what one saturated core serves. */
  capacityPerCpuSecond: Math.round(median(t.capacities)),
  p50Ms: median(t.p50),
  p99Ms: median(t.p99),
  ratioToBare: t === running[0] ? 1 : Number(median(ratios.get(t.name) ?? []).toFixed(3)),
}));

const report = {
  node: process.version,
  cpus: cpus().length,
  date: new Date().toISOString(),
  settings: {
    duration,
    rounds,
    connections,
    pinned,
    statistic: 'ratioToBare = median over rounds of (requests per server CPU-second) / (the same for the adjacent bare run)', database: process.env.DATABASE_URL ? 'postgres' : 'pglite', redis: Boolean(process.env.REDIS_URL) },
  variants: rows,
};
const root = fileURLToPath(new URL('../../../', import.meta.url));
mkdirSync(`${root}.bench`, { recursive: true });
writeFileSync(`${root}.bench/latest.json`, JSON.stringify(report, null, 2) + '\n');

console.log(
  `\nGET /v1/ping, ${connections} connections, ${rounds} rounds of ${duration}s runs, each paired with a bare run; ratio = median of paired capacity ratios (requests per server CPU-second), ` +
    `node ${process.version}, ${report.cpus} cpus${pinned ? ', servers pinned to the last core' : ''}`,
);
console.table(rows);
console.log('written to .bench/latest.json');
