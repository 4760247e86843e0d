// The soak's replicas: processes of the reference app's server (apps/api/dist/server.js) on one
// database and one Redis, started, killed and started again by the run (soak.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@harakaflow/testing';

export interface Replica {
  name: string;
  port: number;
  spillDir: string;
  child: ChildProcess | null;
  up: boolean;
  exited: Promise<void>;
}

/** What every replica is started with. */
export interface ReplicaEnv {
  work: string;
  serverJs: string;
  databaseUrl: string;
  redisUrl: string;
  dataDir: string;
  messagesPerDay: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const base = (r: Replica) => `http://127.0.0.1:${r.port}`;

/** The replicas, each on a free port with a spill directory of its own under `work`, not started. */
export async function replicasIn(work: string, names: readonly string[]): Promise<Replica[]> {
  const replicas: Replica[] = [];
  for (const name of names) {
    replicas.push({
      name,
      port: await freePort(),
      spillDir: join(work, `spill-${name}`),
      child: null,
      up: false,
      exited: Promise.resolve(),
    });
  }
  return replicas;
}

export async function startReplica(r: Replica, e: ReplicaEnv): Promise<void> {
  const log = createWriteStream(join(e.work, `${r.name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [e.serverJs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(r.port),
      DATABASE_URL: e.databaseUrl,
      REDIS_URL: e.redisUrl,
      DATA_DIR: e.dataDir,
      AUDIT_SPILL_DIR: r.spillDir,
      QUOTA_KEY_PREFIX: `hf:soak:${process.pid}:`,
      QUOTA_ANON_RPM: '1000000',
      QUOTA_FREE_RPM: '1000000',
      QUOTA_FREE_MESSAGES_PER_DAY: String(e.messagesPerDay),
      LOG_LEVEL: 'warn',
    },
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  r.child = child;
  r.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(`${r.name} exited while starting (see ${join(e.work, `${r.name}.log`)})`);
    const ok = await fetch(`http://127.0.0.1:${r.port}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) {
      r.up = true;
      return;
    }
    await sleep(100);
  }
  throw new Error(`${r.name} not ready after 30 s`);
}

/** Waits (up to 30 s) until every replica answers ready. */
export async function allReady(replicas: readonly Replica[]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ready = await Promise.all(
      replicas.map((r) =>
        fetch(`${base(r)}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
          (res) => res.ok,
          () => false,
        ),
      ),
    );
    if (ready.every(Boolean)) return;
    await sleep(100);
  }
}

/** The audit spill files under a replica's spill directory. */
export const spillFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ndjson'))
    : [];
