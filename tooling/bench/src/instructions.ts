// `pnpm --filter @harakaflow/bench instructions <variant> [requests]`: machine instructions one
// variant's server executes per request, counted by valgrind's callgrind. Seconds on a shared VM
// move by ±30% between identical runs (the CPU's speed and what else runs on the host); an
// instruction count does not, so an A/B of a small change is read here and confirmed by `pnpm bench`.
// The server runs under callgrind with instrumentation off while it starts and takes
// INSTRUCTIONS_WARMUP requests (default 20,000: until then the JIT is still compiling; the count was 309,000 for bare
// after 2,000 and 167,000 after 20,000, twice within 0.1%), then on for the measured requests,
// every thread of the process counted (the audit writer's batches, GC), and the total is divided
// by the requests. Needs valgrind (Debian's package). Nothing here is a test: figures go in notes.
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnVariant } from './spawn.js';

const name = process.argv[2];
const requests = Number(process.argv[3] ?? 3000);
const warmup = Number(process.env.INSTRUCTIONS_WARMUP ?? 20000);
if (!name || !Number.isInteger(requests) || requests < 1) throw new Error('usage: instructions <variant> [requests]');
// INSTRUCTIONS_TAG names the run's directory beside the variant's (an A/B keeps both dumps for callgrind_annotate).
const tag = process.env.INSTRUCTIONS_TAG ? `-${process.env.INSTRUCTIONS_TAG}` : '';
const dir = fileURLToPath(new URL(`../../../.bench/instructions/${name}${tag}`, import.meta.url));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const { child, url, headers } = await spawnVariant(
  name,
  [],
  [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    `--log-file=${join(dir, 'valgrind.log')}`,
  ],
);
const control = (...args: string[]) =>
  execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
const drive = async (amount: number) => {
  const result = await autocannon({ url, headers, connections: 8, amount, timeout: 60 });
  if (result.non2xx || result.errors || result.timeouts)
    throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
};

await drive(warmup);
control('-i', 'on');
await drive(requests);
control('-d');
control('-i', 'off');
await new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.disconnect();
});
// The dumps of the measured run (part 1), one per thread (`-01` is the main thread). V8's compiler
// threads keep compiling under callgrind's slowdown long after a normal warm-up: a fifth of bare's
// count was TurboFan's, and it moved by 10% from one run to the next, so the main thread, where the
// request path and the plugins' own work run, is reported beside the whole process.
let total = 0;
let main = 0;
for (const file of readdirSync(dir).filter((f) => f.startsWith('callgrind.out'))) {
  const text = readFileSync(join(dir, file), 'utf8');
  const part = /^part: (\d+)$/m.exec(text)?.[1];
  const totals = /^(?:totals|summary): (\d+)/m.exec(text)?.[1];
  if (part !== '1' || !totals) continue;
  total += Number(totals);
  if (/^thread: 1$/m.test(text)) main += Number(totals);
}
if (!total) throw new Error(`no callgrind dump of the measured run in ${dir}`);
const per = (n: number) => Math.round(n / requests).toLocaleString('en');
console.log(
  `${name}: ${per(main)} instructions per request on the main thread, ${per(total)} every thread (${requests} requests after ${warmup} of warm-up)`,
);
