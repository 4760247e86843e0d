// `pnpm --filter @harakaflow/bench profile <variant> [seconds]`: one variant's server under
// --cpu-prof, driven by autocannon after a warm-up; prints server CPU per request and the top
// frames by self time (aggregated by function and file), so a note can show where the time goes.
// The profile itself lands in .bench/profiles/ (not committed).
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
const cpu = () =>
  new Promise<number>((resolve) => {
    child.once('message', (m) => resolve((m as { cpuMicros: number }).cpuMicros));
    child.send('cpu');
  });
await autocannon({ url, headers, connections, duration: 2 }); // warm-up
const before = await cpu();
const result = await autocannon({ url, headers, connections, duration: seconds });
const micros = (await cpu()) - before;
await new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.disconnect();
});

const requests = result.requests.total;
console.log(`${name}: ${requests} requests in ${seconds} s, ${(micros / requests).toFixed(1)} µs of server CPU per request (${Math.round(requests / (micros / 1e6))} req per CPU-s)${profiling ? ' (profiled)' : ''}`);
if (!profiling) process.exit(0);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!)!;
  const dt = profile.timeDeltas[i] ?? 0;
  const { functionName, url: source, lineNumber } = node.callFrame;
  if (functionName === '(idle)') continue;
  total += dt;
  const key = `${functionName || '(anonymous)'} ${source ? `${basename(source)}:${lineNumber + 1}` : ''}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
}
console.log(`top ${top} frames by self time (share of non-idle samples over the whole process life):`);
for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${((t / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
