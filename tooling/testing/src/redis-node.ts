/** One redis-server in its own directory, redis-cli against it, and a group of servers closed together. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { findProgram, startProcess, type StartedProcess } from './processes.js';
import { requireServices } from './services.js';
import { until } from './smtp.js';

export const run = promisify(execFile);
const PROGRAMS = ['redis-server', 'redis-sentinel', 'redis-cli', 'openssl'];
const missing = PROGRAMS.filter((p) => !findProgram(p));

/**
 * False when a program is missing and REQUIRE_SERVICES is unset: the tests that need them skip.
 * Under REQUIRE_SERVICES=1 it is true, and starting servers fails, naming what is missing.
 */
export const redisServersAvailable = missing.length === 0 || requireServices;
export const installed = () => {
  if (missing.length)
    throw new Error(
      `${missing.join(', ')} is not installed (apt-get install redis-server redis-sentinel redis-tools openssl)`,
    );
};

export interface RedisNode {
  port: number;
  /** SIGKILL (a crash: nothing flushed, no goodbye to replicas or sentinels); resolves once it has exited. */
  kill(): Promise<void>;
}

/** TLS options of `cli` (the private CA of a TLS server). */
export type Tls = { caFile: string } | undefined;

/** One redis-cli command against 127.0.0.1:port: its output, trimmed. */
export async function cli(port: number, args: string[], tls?: Tls): Promise<string> {
  const { stdout } = await run(
    'redis-cli',
    ['-h', '127.0.0.1', '-p', String(port), ...(tls ? ['--tls', '--cacert', tls.caFile] : []), ...args],
    { timeout: 5000 },
  );
  return stdout.trim();
}

/** Whether the server on `port` answers PING. */
export const answers = (port: number, tls?: Tls) =>
  cli(port, ['ping'], tls).then(
    (out) => out === 'PONG',
    () => false,
  );

/** A group of servers in temporary directories, closed together. */
export class Group {
  readonly #started: StartedProcess[] = [];
  readonly #dirs: string[] = [];

  async dir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'hf-redis-'));
    this.#dirs.push(dir);
    return dir;
  }

  /**
   * Starts `program` with `args` in `dir` and waits until `ready` (or fails with its log's tail when it exits first).
   */
  async start(
    program: string,
    args: string[],
    dir: string,
    port: number,
    ready: () => Promise<boolean>,
  ): Promise<RedisNode> {
    const started = await startProcess(program, args, {
      cwd: dir,
      ready,
      tail: () => this.#tail(dir),
      name: `${program} on port ${port}`,
    });
    this.#started.push(started);
    return { port, kill: () => started.stop('SIGKILL') };
  }

  async #tail(dir: string): Promise<string> {
    return (await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '(no log)')).split('\n').slice(-5).join(' | ');
  }

  async close(): Promise<void> {
    await Promise.all(this.#started.map((started) => started.stop('SIGKILL')));
    await Promise.all(this.#dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/**
 * A redis-server on a free port in its own directory: no persistence, loopback only, a replica's first sync at once
 * (not after 5 s).
 */
export async function redisServer(
  group: Group,
  extra: string[] = [],
  tls?: Tls & { certFile: string; keyFile: string },
  port?: number,
): Promise<RedisNode> {
  const dir = await group.dir();
  port ??= await freePort();
  const ports = tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.certFile,
        '--tls-key-file',
        tls.keyFile,
        '--tls-ca-cert-file',
        tls.caFile,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const args = [
    ...ports,
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--logfile',
    'redis.log',
    '--repl-diskless-sync-delay',
    '0',
    ...extra,
  ];
  return group.start('redis-server', args, dir, port, () => answers(port, tls));
}

/** One INFO section of the server on `port`, as fields. */
export const info = async (port: number, section: string) =>
  Object.fromEntries(
    (await cli(port, ['info', section])).split(/\r?\n/).map((l) => l.split(':', 2) as [string, string]),
  );

/** Waits until `replica` has every write `primary` had when this was called (poll, not sleep). */
export async function replicated(primary: number, replica: number): Promise<void> {
  const offset = Number((await info(primary, 'replication')).master_repl_offset);
  await until(async () => {
    const r = await info(replica, 'replication');
    return r.master_link_status === 'up' && Number(r.slave_repl_offset) >= offset;
  });
}
