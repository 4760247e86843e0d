// `pnpm soak`: two replicas of the reference app (apps/api/dist/server.js) on real Postgres and
// Redis, driven with a mix of traffic at a bounded rate to loopback only. A third of the way in one
// replica is killed with SIGKILL and started again; two thirds in, Postgres is restarted. Then the
// replicas stop (SIGTERM: the audit log flushes) and the soak checks what they left behind:
// - every 2xx response's request id has exactly one access event, except the killed replica's
//   last flush window (at most one batch, within flushIntervalMs and a write of its kill; counted);
// - every 2xx credential read has its sync-durability security event (no exception);
// - the spill files the killed replica left are replayed (none left, none rejected);
// - no message accepted twice (an Idempotency-Key on every POST /v1/messages, some sent again to
//   the other replica), and no account past its plan's messages per day across both replicas;
// - `hf-audit verify` finds the chains intact;
// and prints p50/p99 per phase. Exits 1 when a check fails; the summary lands in .bench/soak.json.
// SOAK_SECONDS (default 60), SOAK_RATE (requests/s, default 150), DATABASE_URL (or TEST_DATABASE_URL)
// and REDIS_URL; SOAK_PG_RESTART: the shell command that restarts Postgres (default: pg_ctlcluster).
import { exec, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDatabase } from '@harakaflow/testing';
import { checkRun } from './soak-checks.js';
import { allReady, replicasIn, sleep, spillFiles, startReplica, type Replica } from './soak-replicas.js';
import { report } from './soak-summary.js';
import { Traffic } from './soak-traffic.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const seconds = Number(process.env.SOAK_SECONDS ?? 60);
const rate = Number(process.env.SOAK_RATE ?? 150);
const serverUrl = (process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL)?.trim();
const redisUrl = process.env.REDIS_URL?.trim();
if (!serverUrl || !redisUrl) {
  console.error('soak: DATABASE_URL (or TEST_DATABASE_URL) and REDIS_URL must name a real Postgres and Redis');
  process.exit(2);
}
const serverJs = join(root, 'apps/api/dist/server.js');
const auditCli = join(root, 'packages/audit/dist/cli.js');
if (!existsSync(serverJs) || !existsSync(auditCli)) {
  console.error('soak: build first (pnpm soak builds @harakaflow/api)');
  process.exit(2);
}
const MESSAGES_PER_DAY = 40;
const FLUSH_INTERVAL_MS = 250; // the audit plugin's default
const BATCH_SIZE = 1000; // the audit plugin's default

// --- a database of its own on the server, dropped at the end ------------------------------------
const soakDatabase = await testDatabase({ serverUrl, max: 1 });
const databaseUrl = soakDatabase.url!;

const work = mkdtempSync(join(tmpdir(), 'hf-soak-'));
const dataDir = join(work, 'data');
mkdirSync(dataDir);
const t0 = Date.now();
const now = () => Date.now() - t0;
const env = { work, serverJs, databaseUrl, redisUrl, dataDir, messagesPerDay: MESSAGES_PER_DAY };
const start = (r: Replica) => startReplica(r, env);

const replicas = await replicasIn(work, ['replica-a', 'replica-b']);
// One after the other: the first runs the migrations and writes the development secrets both share.
for (const r of replicas) await start(r);
const [victim] = replicas as [Replica, Replica];
const traffic = new Traffic(replicas, now);
await traffic.createAccounts(6);
const fire = () => traffic.fire();

// --- the run, with its faults ----------------------------------------------------------------------
const phases: { name: string; from: number; to: number }[] = [];
let phaseStart = now();
const phase = (name: string) => {
  const at = now();
  phases.push({ name, from: phaseStart, to: at });
  phaseStart = at;
};
const checks: { name: string; ok: boolean; detail: string }[] = [];
const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

const loadStart = now();
const loadEnd = loadStart + seconds * 1000;
let owed = 0;
const ticker = setInterval(() => {
  owed += rate / 100;
  for (; owed >= 1; owed--) fire();
}, 10);

let killAt = -1;
let spillAtKill: string[] = [];
let restartedAt = -1;
let pgRestartedAt = -1;
let pgBackAt = -1;

await sleep(seconds * 333);
phase('before');
killAt = now();
victim.child!.kill('SIGKILL');
victim.up = false;
await victim.exited;
spillAtKill = spillFiles(victim.spillDir);
await start(victim);
restartedAt = now();
phase('replica-kill');

await sleep(Math.max(0, loadStart + seconds * 667 - now()));
phase('between');
pgRestartedAt = now();
let pgRestarted = true;
try {
  // Asynchronously: the load goes on while Postgres is down.
  if (process.env.SOAK_PG_RESTART) await promisify(exec)(process.env.SOAK_PG_RESTART);
  else
    await promisify(execFile)('pg_ctlcluster', [
      '--skip-systemctl-redirect',
      readdirSync('/etc/postgresql')[0]!,
      'main',
      'restart',
    ]);
} catch {
  pgRestarted = false;
}
// Back when both replicas answer ready again.
await allReady(replicas);
pgBackAt = now();
phase('postgres-restart');
check(
  'postgres restarted',
  pgRestarted,
  pgRestarted
    ? `restarted at ${pgRestartedAt} ms, replicas ready again ${pgBackAt - pgRestartedAt} ms later`
    : 'the restart command failed (set SOAK_PG_RESTART)',
);

await sleep(Math.max(0, loadEnd - now()));
clearInterval(ticker);
await sleep(5500); // the last requests answer or time out
phase('after');

// The replicas stop as an operator stops them: SIGTERM, the audit log flushed.
for (const r of replicas) {
  r.up = false;
  r.child!.kill('SIGTERM');
}
await Promise.all(replicas.map((r) => r.exited));

// --- checks and summary -----------------------------------------------------------------------------
const audit = await checkRun(
  {
    databaseUrl,
    dataDir,
    auditCli,
    samples: traffic.samples,
    replicas,
    victim,
    killAt,
    spillAtKill,
    flushIntervalMs: FLUSH_INTERVAL_MS,
    batchSize: BATCH_SIZE,
    messagesPerDay: MESSAGES_PER_DAY,
  },
  check,
);
const ok = report({
  root,
  work,
  seconds,
  rate,
  samples: traffic.samples,
  phases,
  faults: {
    killAt,
    restartedAt,
    spillFilesAtKill: spillAtKill.length,
    postgresRestartAt: pgRestartedAt,
    postgresBackAt: pgBackAt,
  },
  audit,
  checks,
});

await soakDatabase.close().catch(() => undefined);
if (ok) rmSync(work, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
