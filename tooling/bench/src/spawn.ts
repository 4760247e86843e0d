// One variant's server process (serve.ts), as run.ts and profile.ts start it: on a 2-core machine
// the load generator and the server fight for CPU, so this process (autocannon) is pinned to the
// other cores and each server to the last one, which keeps that fight the same for every variant.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const cores = cpus().length;
/** Whether this process and the servers are pinned (taskset exists and there are two cores or more). */
export let pinned = false;
try {
  if (cores >= 2) {
    execFileSync('taskset', ['-p', '-c', `0-${cores - 2}`, String(process.pid)], { stdio: 'ignore' });
    pinned = true;
  }
} catch {
  pinned = false;
}
/** The servers' core. */
export const serverCore = cores - 1;

/**
 * Starts serve.ts for a variant (with extra node flags, and under `launcher`, a command that runs
 * node in its own process: valgrind) and waits for the port it listens on.
 */
export async function spawnVariant(
  name: string,
  nodeArgs: readonly string[] = [],
  launcher: readonly string[] = [],
): Promise<{ child: ChildProcess; url: string; headers: Record<string, string> }> {
  const args = [
    ...launcher,
    process.execPath,
    ...nodeArgs,
    '--import',
    'tsx',
    fileURLToPath(new URL('./serve.ts', import.meta.url)),
    name,
  ];
  const child = spawn(pinned ? 'taskset' : args[0]!, pinned ? ['-c', String(serverCore), ...args] : args.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const { port, headers, path } = await new Promise<{ port: number; headers: Record<string, string>; path: string }>(
    (resolve, reject) => {
      child.once('message', (m) => resolve(m as { port: number; headers: Record<string, string>; path: string }));
      child.once('exit', (code) => reject(new Error(`variant ${name} exited with ${code}`)));
    },
  );
  return { child, url: `http://127.0.0.1:${port}${path}`, headers };
}
