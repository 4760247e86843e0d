// `pnpm bench`: every variant in its own process, driven in turn by autocannon (a warm-up, then
// interleaved measured rounds so drift in the machine hits every variant alike). Prints a table
// and writes .bench/latest.json at the repository root.
import autocannon from 'autocannon';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pinned, serverCore, spawnVariant } from './spawn.js';
import { variants } from './variants.js';

const duration = Number(process.env.BENCH_DURATION ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** Rounds at most, when bare-again is off by more than the tolerance (then the run is marked noisy). */
const maxRounds = Number(process.env.BENCH_MAX_ROUNDS ?? rounds * 3);
const TOLERANCE = 0.05;
/** Seconds each variant serves before anything is measured. */
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
/** Server processes per variant (see Running.procs). */
const processes = Math.max(1, Number(process.env.BENCH_PROCESSES ?? 3));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const only = process.env.BENCH_VARIANTS?.split(',').map((s) => s.trim());
// A variant's peer is measured whenever the variant is.
const wanted =
  only && new Set([...only, ...variants.filter((v) => only.includes(v.name) && v.peer).map((v) => v.peer!)]);
const selected = variants.filter((v) => v.name === 'bare' || !wanted || wanted.has(v.name));

/** One server process of a variant. */
interface Proc {
  child: ChildProcess;
  url: string;
  headers: Record<string, string>;
}

interface Running {
  name: string;
  /**
   * Several processes of the same variant, taken in turn round by round. A process carries an
   * efficiency of its own (±10 to 20% measured here between two bare servers: placement, not
   * load), which pairing cannot cancel; rotating through processes averages it out.
   */
  procs: Proc[];
  /** Requests per second of server CPU, per run. */
  capacities: number[];
  /** Server CPU µs per request, per run: the whole process, every thread. */
  cpuPerRequest: number[];
  /** The main thread's share of it, per run (empty where /proc is missing). */
  mainCpuPerRequest: number[];
  rates: number[];
  p50: number[];
  p99: number[];
}

const launchProc = (name: string): Promise<Proc> => spawnVariant(name);

async function launch(name: string): Promise<Running> {
  const procs: Proc[] = [];
  for (let i = 0; i < processes; i++) procs.push(await launchProc(name));
  return { name, procs, capacities: [], cpuPerRequest: [], mainCpuPerRequest: [], rates: [], p50: [], p99: [] };
}

/** Pins the local Postgres and Redis (every thread) to the servers' core, so their background work never takes the load generator's. */
function pinServices(): string[] {
  // Off by default: on 2 cores, Postgres and Redis on the servers' core starve the variants that
  // wait on them (quota-redis timed out), and on the load generator's they lower the offered load.
  // BENCH_PIN_SERVICES=1 puts them on the servers' core.
  if (!pinned || process.env.BENCH_PIN_SERVICES !== '1') return [];
  const done: string[] = [];
  for (const name of ['postgres', 'redis-server']) {
    let pids: string[] = [];
    try {
      pids = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of pids) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', String(serverCore), pid], { stdio: 'ignore' });
        if (!done.includes(name)) done.push(name);
      } catch {
        // not ours to pin
      }
    }
  }
  return done;
}

/** Waits until the variant's own background work is done (its audit backlog flushed) and Postgres has no query running. */
async function quiesce(target: Proc, idle: (() => Promise<number>) | null): Promise<void> {
  await new Promise<void>((resolve) => {
    const onMessage = (m: unknown) => {
      if ((m as { quiesced?: boolean }).quiesced) {
        target.child.off('message', onMessage);
        resolve();
      }
    };
    target.child.on('message', onMessage);
    target.child.send('quiesce');
  });
  if (idle) for (let i = 0; i < 40 && (await idle()) > 0; i++) await new Promise((r) => setTimeout(r, 25));
}

/** The server's CPU time so far (serve.ts): the whole process, every thread, and the main thread alone (null without /proc). */
interface CpuReading {
  cpuMicros: number;
  mainThreadCpuMicros: number | null;
}

function cpuMicros(target: Proc): Promise<CpuReading> {
  return new Promise((resolve) => {
    target.child.once('message', (m) => resolve(m as CpuReading));
    target.child.send('cpu');
  });
}

let idle: (() => Promise<number>) | null = null;
async function drive(variant: Running, seconds: number, target: Proc = variant.procs[0]!) {
  const before = await cpuMicros(target);
  const result = Object.assign(
    await autocannon({ url: target.url, headers: target.headers, connections, duration: seconds }),
    {
      capacity: 0,
      cpuPerRequest: 0,
      mainCpuPerRequest: null as number | null,
    },
  );
  const after = await cpuMicros(target);
  const requests = result.requests.total;
  result.capacity = requests / ((after.cpuMicros - before.cpuMicros) / 1e6);
  result.cpuPerRequest = (after.cpuMicros - before.cpuMicros) / requests;
  if (after.mainThreadCpuMicros !== null && before.mainThreadCpuMicros !== null)
    result.mainCpuPerRequest = (after.mainThreadCpuMicros - before.mainThreadCpuMicros) / requests;
  // Its leftovers (batches, Postgres work) settle before anyone else is measured.
  await quiesce(target, idle);
  // autocannon reports latency in whole milliseconds at this rate; keep its numbers as they are.
  if (result.non2xx || result.errors)
    throw new Error(`${variant.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
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
let pinnedServices: string[] = [];
let roundsRun = 0;
let noisy = false;
let closeIdle: (() => Promise<void>) | null = null;
try {
  for (const variant of selected) running.push(await launch(variant.name));
  pinnedServices = pinServices();
  if (process.env.DATABASE_URL) {
    const { createDatabase } = await import('@harakaflow/db');
    const { sql } = await import('drizzle-orm');
    const probe = await createDatabase({ url: process.env.DATABASE_URL, max: 1 });
    closeIdle = () => probe.close();
    idle = async () => {
      const rows = (await probe.db.execute(
        sql`select count(*)::int as n from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
      )) as unknown as { n: number }[] | { rows: { n: number }[] };
      return (Array.isArray(rows) ? rows : rows.rows)[0]?.n ?? 0;
    };
  }
  for (const target of running) for (const proc of target.procs) await drive(target, warmup, proc); // warm-up: JIT, pools, caches
  const [bareTarget, ...others] = running;
  const calibration = () => {
    const list = ratios.get('bare-again');
    return list?.length ? median(list) : 1;
  };
  // The run counts once bare-again (the same bare server in another process) is within the
  // tolerance of 1; until then more rounds, up to maxRounds, else the run is marked noisy.
  for (let round = 0; round < rounds || (Math.abs(calibration() - 1) > TOLERANCE && round < maxRounds); round++) {
    roundsRun = round + 1;
    const order = others.map((_, i) => others[(i + round) % others.length]!);
    for (const target of order) {
      const pair = round % 2 === 0 ? [bareTarget!, target] : [target, bareTarget!];
      // Bare's process turns at another pace than the variant's: every pairing of processes comes up.
      const proc = (t: Running) =>
        t.procs[(t === bareTarget ? round : round + Math.floor(round / t.procs.length)) % t.procs.length]!;
      const [first, second] = [
        await drive(pair[0]!, duration, proc(pair[0]!)),
        await drive(pair[1]!, duration, proc(pair[1]!)),
      ];
      for (const [t, result] of [
        [pair[0]!, first],
        [pair[1]!, second],
      ] as const) {
        t.rates.push(result.requests.total / duration);
        t.capacities.push(result.capacity);
        t.cpuPerRequest.push(result.cpuPerRequest);
        if (result.mainCpuPerRequest !== null) t.mainCpuPerRequest.push(result.mainCpuPerRequest);
        t.p50.push(result.latency.p50);
        t.p99.push(result.latency.p99);
      }
      const bareCapacity = (pair[0] === bareTarget ? first : second).capacity;
      const capacity = (pair[0] === bareTarget ? second : first).capacity;
      ratios.set(target.name, [...(ratios.get(target.name) ?? []), capacity / bareCapacity]);
    }
  }
  noisy = running.some((t) => t.name === 'bare-again') && Math.abs(calibration() - 1) > TOLERANCE;
} finally {
  for (const target of running) for (const proc of target.procs) proc.child.disconnect();
  await closeIdle?.();
}

/** "Ahead of a peer": a higher median ratio, and higher in at least 4 of 5 paired rounds (the same share of however many ran). */
function versusPeer(
  name: string,
  peer: string | undefined,
): { ahead: boolean; roundsAhead: number; rounds: number } | null {
  if (!peer) return null;
  const mine = ratios.get(name);
  const theirs = ratios.get(peer);
  if (!mine?.length || !theirs?.length) return null;
  const n = Math.min(mine.length, theirs.length);
  let roundsAhead = 0;
  for (let i = 0; i < n; i++) if (mine[i]! > theirs[i]!) roundsAhead++;
  return { ahead: median(mine) > median(theirs) && roundsAhead >= Math.ceil((n * 4) / 5), roundsAhead, rounds: n };
}

const peers = new Map(variants.map((v) => [v.name, v.peer]));
const rows = running.map((t) => ({
  name: t.name,
  peer: peers.get(t.name) ?? null,
  requestsPerSecond: Math.round(median(t.rates)),
  /** Requests per second of server CPU: what one saturated core serves. */
  capacityPerCpuSecond: Math.round(median(t.capacities)),
  p50Ms: median(t.p50),
  p99Ms: median(t.p99),
  ratioToBare: t === running[0] ? 1 : Number(median(ratios.get(t.name) ?? []).toFixed(3)),
  /** Median server CPU µs per request: the whole server process, every thread (getrusage), so work moved to a worker thread is counted. */
  cpuMicrosPerRequest: Number(median(t.cpuPerRequest).toFixed(1)),
  /** Median CPU µs per request of the server's main thread alone (/proc/self/task/<pid>/stat); null where /proc is missing. */
  mainThreadCpuMicrosPerRequest: t.mainCpuPerRequest.length ? Number(median(t.mainCpuPerRequest).toFixed(1)) : null,
  vsPeer: versusPeer(t.name, peers.get(t.name)),
  /** Every paired round's ratio, in order. */
  rounds: (ratios.get(t.name) ?? []).map((r) => Number(r.toFixed(3))),
}));

const report = {
  noisy,
  node: process.version,
  cpus: cpus().length,
  date: new Date().toISOString(),
  settings: {
    duration,
    rounds,
    connections,
    pinned,
    pinnedServices,
    processesPerVariant: processes,
    roundsRun,
    tolerance: TOLERANCE,
    quiesce:
      'after every run: the variant flushes its background work (audit batches) and Postgres has no active client query',
    statistic:
      'ratioToBare = median over rounds of (requests per server CPU-second) / (the same for the adjacent bare run)',
    cpu: 'cpuMicrosPerRequest = median over measured runs of the server process CPU (process.cpuUsage: user + system, every thread) / requests; mainThreadCpuMicrosPerRequest = the same for the main thread alone (/proc/self/task/<pid>/stat utime + stime), null without /proc',
    database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    redis: Boolean(process.env.REDIS_URL),
  },
  variants: rows,
};
const root = fileURLToPath(new URL('../../../', import.meta.url));
mkdirSync(`${root}.bench`, { recursive: true });
writeFileSync(`${root}.bench/latest.json`, JSON.stringify(report, null, 2) + '\n');

console.log(
  `\nGET /v1/ping, ${connections} connections, ${rounds} rounds of ${duration}s runs, each paired with a bare run; ratio = median of paired capacity ratios (requests per server CPU-second), ` +
    `node ${process.version}, ${report.cpus} cpus${pinned ? ', servers pinned to the last core' : ''}`,
);
console.table(
  rows.map(({ rounds: _r, vsPeer, ...row }) => ({
    ...row,
    vsPeer: vsPeer ? `${vsPeer.ahead ? 'ahead' : 'not ahead'} (${vsPeer.roundsAhead}/${vsPeer.rounds})` : '',
  })),
);
if (noisy)
  console.log(
    `NOISY: bare-again stayed ${rows.find((r) => r.name === 'bare-again')?.ratioToBare} after ${roundsRun} rounds (more than ±${TOLERANCE} from 1): do not read these ratios as figures.`,
  );
else if (!running.some((t) => t.name === 'bare-again'))
  console.log(`no bare-again in this run (BENCH_VARIANTS): its noise is unknown; ${roundsRun} round(s).`);
else
  console.log(
    `bare-again within ±${TOLERANCE} of 1 after ${roundsRun} round(s)${pinnedServices.length ? `; ${pinnedServices.join(' and ')} pinned to the servers' core` : ''}.`,
  );
console.log('written to .bench/latest.json');
