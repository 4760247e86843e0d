/**
 * Servers the tests start themselves (redis-server, redis-sentinel, pgbouncer): found on the PATH,
 * started, waited for by polling `ready` (never by sleeping), stopped; and, whatever a crashed test
 * left running, killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { until } from './smtp.js';

/** The first `program` in `dirs`, then on the PATH; undefined when there is none. */
export function findProgram(program: string, dirs: readonly string[] = []): string | undefined {
  return [...dirs, ...(process.env.PATH ?? '').split(delimiter)]
    .filter(Boolean)
    .map((dir) => join(dir, program))
    .find((file) => existsSync(file));
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface StartedProcess {
  child: ChildProcess;
  /** It has exited (by itself or by `stop`). */
  readonly gone: boolean;
  /** Sends `signal` unless it has exited already; resolves once it has. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `program` and resolves once `ready()` answers true (within 15 s), or rejects with the
 * reason and `tail()` (what its log ends with) when it exits first or never gets ready; it is
 * killed then.
 */
export async function startProcess(
  program: string,
  args: string[],
  options: {
    cwd: string;
    ready: () => Promise<boolean>;
    tail: () => string | Promise<string>;
    stderr?: (chunk: string) => void;
    name?: string;
  },
): Promise<StartedProcess> {
  const child = spawn(program, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'ignore', options.stderr ? 'pipe' : 'ignore'],
  });
  if (options.stderr) child.stderr!.setEncoding('utf8').on('data', options.stderr);
  live.add(child);
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => (live.delete(child), (gone = true), resolve())),
  );
  const started: StartedProcess = {
    child,
    get gone() {
      return gone;
    },
    async stop(signal) {
      if (!gone) child.kill(signal);
      await exited;
    },
  };
  const name = options.name ?? program;
  try {
    await until(async () => {
      if (gone) throw new Error('exited');
      return options.ready();
    }, 15_000);
  } catch {
    const said = gone ? 'exited' : 'did not become ready';
    await started.stop('SIGKILL');
    throw new Error(`${name} ${said}: ${await options.tail()}`);
  }
  return started;
}
