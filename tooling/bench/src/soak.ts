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
import { exec, execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, testDatabase } from '@harakaflow/testing';
import postgres from 'postgres';

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

// --- replicas --------------------------------------------------------------------------------------
interface Replica {
  name: string;
  port: number;
  spillDir: string;
  child: ChildProcess | null;
  up: boolean;
  exited: Promise<void>;
}
const t0 = Date.now();
const now = () => Date.now() - t0;

async function start(r: Replica): Promise<void> {
  const log = createWriteStream(join(work, `${r.name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [serverJs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(r.port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      DATA_DIR: dataDir,
      AUDIT_SPILL_DIR: r.spillDir,
      QUOTA_KEY_PREFIX: `hf:soak:${process.pid}:`,
      QUOTA_ANON_RPM: '1000000',
      QUOTA_FREE_RPM: '1000000',
      QUOTA_FREE_MESSAGES_PER_DAY: String(MESSAGES_PER_DAY),
      LOG_LEVEL: 'warn',
    },
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  r.child = child;
  r.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(`${r.name} exited while starting (see ${join(work, `${r.name}.log`)})`);
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const replicas: Replica[] = [];
for (const name of ['replica-a', 'replica-b']) {
  replicas.push({
    name,
    port: await freePort(),
    spillDir: join(work, `spill-${name}`),
    child: null,
    up: false,
    exited: Promise.resolve(),
  });
}
// One after the other: the first runs the migrations and writes the development secrets both share.
for (const r of replicas) await start(r);
const [victim] = replicas as [Replica, Replica];

// --- clients ---------------------------------------------------------------------------------------
type Kind = 'ping' | 'me' | 'message' | 'message-again' | 'consent' | 'credential';
interface Sample {
  kind: Kind;
  replica: string;
  at: number;
  ms: number;
  status: number;
  requestId: string | null;
  key?: string;
  account?: string;
  messageId?: string;
}
const samples: Sample[] = [];
const base = (r: Replica) => `http://127.0.0.1:${r.port}`;

async function call(
  r: Replica,
  kind: Kind,
  path: string,
  init: RequestInit = {},
  extra: Partial<Sample> = {},
): Promise<Sample> {
  const at = now();
  const started = performance.now();
  let status = 0;
  let requestId: string | null = null;
  let body: unknown = null;
  try {
    const res = await fetch(base(r) + path, { ...init, signal: AbortSignal.timeout(5000) });
    status = res.status;
    requestId = res.headers.get('x-request-id');
    body = await res.json().catch(() => null);
  } catch {
    status = 0; // refused, reset or timed out
  }
  const sample: Sample = { kind, replica: r.name, at, ms: performance.now() - started, status, requestId, ...extra };
  if (kind.startsWith('message') && status === 202)
    sample.messageId = (body as { messageId?: string } | null)?.messageId;
  samples.push(sample);
  return sample;
}

interface Account {
  id: string;
  apiKey: string;
}
const accounts: Account[] = [];
for (let i = 0; i < 6; i++) {
  const r = replicas[i % 2]!;
  const res = await fetch(`${base(r)}/v1/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `Soak ${i}`,
      email: `soak-${i}-${process.pid}@example.com`,
      dateOfBirth: '1990-01-01',
    }),
  });
  if (res.status !== 201) throw new Error(`account not created: ${res.status}`);
  const created = (await res.json()) as { account: { id: string }; apiKey: string };
  accounts.push({ id: created.account.id, apiKey: created.apiKey });
  const put = await fetch(`${base(r)}/v1/whatsapp/sessions/soak/credentials/creds`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${created.apiKey}` },
    body: JSON.stringify({ value: { noiseKey: 'soak' } }),
  });
  if (put.status !== 200) throw new Error(`credential not stored: ${put.status}`);
}

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const upReplicas = () => replicas.filter((r) => r.up);
const other = (r: Replica) => replicas.find((x) => x !== r && x.up) ?? r;

function fire(): void {
  const candidates = upReplicas();
  if (!candidates.length) return;
  const r = pick(candidates);
  const account = pick(accounts);
  const auth = { authorization: `Bearer ${account.apiKey}` };
  const roll = Math.random();
  if (roll < 0.35) void call(r, 'ping', '/v1/ping');
  else if (roll < 0.55) void call(r, 'me', '/v1/me', { headers: auth });
  else if (roll < 0.75) {
    const key = randomUUID();
    const init = {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ sessionId: 'soak', to: '+254700000001', text: `hello ${key}` }),
    };
    const first = call(r, 'message', '/v1/messages', init, { key, account: account.id });
    // A client retrying: a quarter of the keys again on the other replica, half of those at once.
    if (Math.random() < 0.25) {
      if (Math.random() < 0.5) void call(other(r), 'message-again', '/v1/messages', init, { key, account: account.id });
      else void first.then(() => call(other(r), 'message-again', '/v1/messages', init, { key, account: account.id }));
    }
  } else if (roll < 0.85) {
    void call(r, 'consent', '/v1/consent', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ analytics: Math.random() < 0.5 }),
    });
  } else void call(r, 'credential', '/v1/whatsapp/sessions/soak/credentials/creds', { headers: auth });
}

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
const spillFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ndjson'))
    : [];

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
for (let i = 0; i < 300; i++) {
  const ready = await Promise.all(
    replicas.map((r) =>
      fetch(`${base(r)}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (res) => res.ok,
        () => false,
      ),
    ),
  );
  if (ready.every(Boolean)) break;
  await sleep(100);
}
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

// --- checks ----------------------------------------------------------------------------------------
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const ok2xx = samples.filter((s) => s.status >= 200 && s.status < 300 && s.requestId);
const ids = ok2xx.map((s) => s.requestId!);
const counts = new Map<string, number>();
for (let i = 0; i < ids.length; i += 5000) {
  const rows = await sql<
    { request_id: string; n: number }[]
  >`select request_id, count(*)::int as n from audit.events where coalesce(kind, 'access') = 'access' and request_id = any(${ids.slice(i, i + 5000)}) group by request_id`;
  for (const row of rows) counts.set(row.request_id, row.n);
}
const missing = ok2xx.filter((s) => !counts.has(s.requestId!));
const twice = ok2xx.filter((s) => (counts.get(s.requestId!) ?? 0) > 1);
// The killed replica's last flush window: what it answered within flushIntervalMs (plus one write) of its death.
const windowMs = FLUSH_INTERVAL_MS + 1000;
const excused = missing.filter((s) => s.replica === victim.name && s.at <= killAt && s.at >= killAt - windowMs);
const unexcused = missing.length - excused.length;
check(
  'one access event per 2xx response',
  unexcused === 0 && twice.length === 0 && excused.length <= BATCH_SIZE,
  `${ok2xx.length} responses: ${counts.size} with their event, ${twice.length} with more than one, ${missing.length} without (${excused.length} in the killed replica's last ${windowMs} ms before SIGKILL, ${unexcused} outside it)`,
);

const reads = ok2xx.filter((s) => s.kind === 'credential');
const secured = new Set(
  (
    await sql<
      { request_id: string }[]
    >`select request_id from audit.events where action = 'vault.secret.read' and request_id = any(${reads.map((s) => s.requestId!)})`
  ).map((r) => r.request_id),
);
const unsecured = reads.filter((s) => !secured.has(s.requestId!)).length;
check(
  'every sync security event stored',
  unsecured === 0,
  `${reads.length} credential reads answered 200, ${unsecured} without their vault.secret.read event`,
);

const spillLeft = [...spillFiles(victim.spillDir), ...spillFiles(replicas[1]!.spillDir)];
const rejected = spillLeft.filter((f) => f.includes('rejected'));
check(
  "the killed replica's spill files replayed",
  spillLeft.length === 0,
  `${spillAtKill.length} spill file(s) at the kill; ${spillLeft.length} left at the end (${rejected.length} rejected)`,
);

const byKey = new Map<string, Set<string>>();
for (const s of samples) if (s.messageId && s.key) byKey.set(s.key, (byKey.get(s.key) ?? new Set()).add(s.messageId));
const disagreeing = [...byKey.values()].filter((set) => set.size > 1).length;
const logged = await sql<{ id: string; account_id: string }[]>`select id, account_id from app.message_log`;
const keyed = new Set(
  (
    await sql<
      { id: string }[]
    >`select response_body->>'messageId' as id from app.idempotency_keys where status = 'done' and response_body ? 'messageId'`
  ).map((r) => r.id),
);
const pending =
  (
    await sql<{ pending: number }[]>`select count(*)::int as pending from app.idempotency_keys where status = 'pending'`
  )[0]?.pending ?? 0;
const unkeyed = logged.filter((m) => !keyed.has(m.id)).length;
check(
  'no message accepted twice',
  disagreeing === 0 && unkeyed <= pending,
  `${byKey.size} keys answered 202, ${disagreeing} with two message ids; ${logged.length} messages stored, ${unkeyed} not the stored answer of a key (at most one per key left pending by the kill: ${pending})`,
);
const perAccount = new Map<string, number>();
for (const m of logged) perAccount.set(m.account_id, (perAccount.get(m.account_id) ?? 0) + 1);
const most = Math.max(0, ...perAccount.values());
check(
  'no account past its messages per day',
  most <= MESSAGES_PER_DAY,
  `most messages accepted for one account: ${most} (limit ${MESSAGES_PER_DAY} across both replicas)`,
);
await sql.end();

const fiveHundreds = samples.filter((s) => s.status === 500).length;
check(
  'no 500 answered',
  fiveHundreds === 0,
  `${fiveHundreds} of ${samples.length} requests answered 500 (a database restart answers 503 HF_DATABASE_UNAVAILABLE)`,
);

let verify = '';
let verified = false;
try {
  verify = execFileSync(process.execPath, [auditCli, 'verify'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir },
    encoding: 'utf8',
  });
  verified = true;
} catch (error) {
  verify = String((error as { stdout?: string }).stdout ?? '') + String((error as { stderr?: string }).stderr ?? '');
}
check('hf-audit verify intact', verified, verify.trim().split('\n').slice(-1)[0] ?? '');

// --- summary ---------------------------------------------------------------------------------------
const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length
    ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10
    : null;
};
const byPhase = phases.map((p) => {
  const inside = samples.filter((s) => s.at >= p.from && s.at < p.to);
  const ok = inside.filter((s) => s.status >= 200 && s.status < 300);
  return {
    phase: p.name,
    fromMs: p.from,
    toMs: p.to,
    requests: inside.length,
    ok: ok.length,
    refused4xx: inside.filter((s) => s.status >= 400 && s.status < 500).length,
    failed: inside.filter((s) => s.status === 0 || s.status >= 500).length,
    p50Ms: pct(
      ok.map((s) => s.ms),
      50,
    ),
    p99Ms: pct(
      ok.map((s) => s.ms),
      99,
    ),
  };
});
const summary = {
  date: new Date().toISOString(),
  seconds,
  rate,
  requests: samples.length,
  faults: {
    killAt,
    restartedAt,
    spillFilesAtKill: spillAtKill.length,
    postgresRestartAt: pgRestartedAt,
    postgresBackAt: pgBackAt,
  },
  audit: {
    responses2xx: ok2xx.length,
    missing: missing.length,
    excusedInKillWindow: excused.length,
    duplicated: twice.length,
  },
  phases: byPhase,
  // Per kind of request, how many answered each status (0: refused, reset or timed out).
  statuses: Object.fromEntries(
    [...new Set(samples.map((s) => s.kind))].map((kind) => [
      kind,
      Object.fromEntries(
        [...new Set(samples.filter((s) => s.kind === kind).map((s) => s.status))]
          .sort()
          .map((st) => [st, samples.filter((s) => s.kind === kind && s.status === st).length]),
      ),
    ]),
  ),
  checks,
  ok: checks.every((c) => c.ok),
};
mkdirSync(join(root, '.bench'), { recursive: true });
writeFileSync(join(root, '.bench/soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.table(byPhase);
console.log('statuses per kind:', JSON.stringify(summary.statuses));
for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
console.log(
  summary.ok
    ? 'soak passed; written to .bench/soak.json'
    : `soak FAILED (logs kept in ${work}); written to .bench/soak.json`,
);

await soakDatabase.close().catch(() => undefined);
if (summary.ok) rmSync(work, { recursive: true, force: true });
process.exit(summary.ok ? 0 : 1);
