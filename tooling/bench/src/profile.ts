// `pnpm --filter @harakaflow/bench profile <variant> [seconds]`: one variant's server under
// --cpu-prof, driven by autocannon after a warm-up; prints server CPU per request and the top
// frames by self time (aggregated by function and file), so a note can show where the time goes.
// The profile itself lands in .bench/profiles/ (not committed). Only the measured run counts.
// PROFILE_MATCH=packages/consent,@fastify/cookie adds the time under frames whose file (or function
// name) holds each text, their callees included (up to Fastify's hook runner): what one package
// costs per request.
import autocannon from 'autocannon';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnVariant } from './spawn.js';

const name = process.argv[2];
const seconds = Number(process.argv[3] ?? 6);
if (!name) throw new Error('usage: profile <variant> [seconds]');
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const top = Number(process.env.PROFILE_TOP ?? 25);
const dir = fileURLToPath(new URL(`../../../.bench/profiles/${name}`, import.meta.url));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// PROFILE=0: CPU per request only, without the profiler's own overhead.
const profiling = process.env.PROFILE !== '0';
const { child, url, headers } = await spawnVariant(name, profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);
// The whole process (every thread) and its main thread alone (null without /proc), and when: see serve.ts.
interface Reading {
  cpuMicros: number;
  mainThreadCpuMicros: number | null;
  atMicros: number;
}
const cpu = () =>
  new Promise<Reading>((resolve) => {
    child.once('message', (m) => resolve(m as Reading));
    child.send('cpu');
  });
await autocannon({ url, headers, connections, duration: 2 }); // warm-up
const before = await cpu();
const result = await autocannon({ url, headers, connections, duration: seconds });
const after = await cpu();
const micros = after.cpuMicros - before.cpuMicros;
const mainMicros =
  after.mainThreadCpuMicros !== null && before.mainThreadCpuMicros !== null
    ? after.mainThreadCpuMicros - before.mainThreadCpuMicros
    : null;
await new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.disconnect();
});

const requests = result.requests.total;
console.log(
  `${name}: ${requests} requests in ${seconds} s, ${(micros / requests).toFixed(1)} µs of server CPU per request, every thread (${Math.round(requests / (micros / 1e6))} req per CPU-s)` +
    `${mainMicros === null ? '' : `, ${(mainMicros / requests).toFixed(1)} µs on the main thread`}${profiling ? ' (profiled)' : ''}`,
);
if (!profiling) process.exit(0);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
// One profile per thread: the main thread's is the first (Node numbers them by thread; tsx's loader has its own).
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()[0];
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = ({ functionName, url: source, lineNumber }: Node['callFrame']) =>
  `${functionName || '(anonymous)'} ${source ? `${basename(source)}:${lineNumber + 1}` : ''}`.trim();
// Only the samples of the measured run (not start-up, module loading, warm-up or shutdown), so the
// figures are per request served: both clocks are CLOCK_MONOTONIC in µs.
const self = new Map<string, number>();
const matches = (process.env.PROFILE_MATCH ?? '').split(',').filter(Boolean);
const inclusive = new Map(matches.map((m) => [m, 0]));
let total = 0;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < before.atMicros || at > after.atMicros) continue;
  const node = byId.get(profile.samples[i]!)!;
  if (node.callFrame.functionName === '(idle)') continue;
  total += dt;
  const key = keyOf(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + dt);
  // PROFILE_MATCH: time under any frame whose file or function name holds the text, counted once a
  // sample, up to Fastify's hook runner: a hook that calls done() runs the rest of the request
  // under its own frame, and that is not the hook's cost.
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined && seen.size < matches.length; id = parent.get(id)) {
    const { url: source, functionName } = byId.get(id)!.callFrame;
    for (const m of matches) if (!seen.has(m) && (source.includes(m) || functionName === m)) seen.add(m);
    if (source.endsWith('fastify/lib/hooks.js')) break;
  }
  for (const m of seen) inclusive.set(m, inclusive.get(m)! + dt);
}
const perRequest = (t: number) => `${(t / requests).toFixed(3)} µs/request`;
console.log(`main thread, measured run only: ${perRequest(total)} sampled (non-idle); top ${top} frames by self time:`);
for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${((t / total) * 100).toFixed(1).padStart(5)}%  ${perRequest(t).padStart(18)}  ${key}`);
if (matches.length) {
  console.log('PROFILE_MATCH, time under matching frames (their callees included):');
  for (const [m, t] of inclusive)
    console.log(`  ${((t / total) * 100).toFixed(1).padStart(5)}%  ${perRequest(t).padStart(18)}  ${m}`);
}
