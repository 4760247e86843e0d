// The soak's checks of what the replicas left behind: one access event per 2xx answer (but the
// killed replica's last flush window), every sync security event, spill files replayed, no message
// accepted twice, no account past its messages per day, no 500, and `hf-audit verify` intact.
import { execFileSync } from 'node:child_process';
import postgres from 'postgres';
import { spillFiles, type Replica } from './soak-replicas.js';
import type { Sample } from './soak-traffic.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** What the run did, for the checks. */
export interface RunFacts {
  databaseUrl: string;
  dataDir: string;
  auditCli: string;
  samples: readonly Sample[];
  replicas: readonly Replica[];
  /** The replica killed with SIGKILL, and when (ms into the run). */
  victim: Replica;
  killAt: number;
  spillAtKill: readonly string[];
  flushIntervalMs: number;
  batchSize: number;
  messagesPerDay: number;
}

/** The access events' tally, for the summary. */
export interface AuditTally {
  responses2xx: number;
  missing: number;
  excusedInKillWindow: number;
  duplicated: number;
}

/** Runs every check into `check`; answers the access events' tally. */
export async function checkRun(
  f: RunFacts,
  check: (name: string, ok: boolean, detail: string) => void,
): Promise<AuditTally> {
  const sql = postgres(f.databaseUrl, { max: 2, onnotice: () => {} });
  const ok2xx = f.samples.filter((s) => s.status >= 200 && s.status < 300 && s.requestId);
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
  const windowMs = f.flushIntervalMs + 1000;
  const excused = missing.filter((s) => s.replica === f.victim.name && s.at <= f.killAt && s.at >= f.killAt - windowMs);
  const unexcused = missing.length - excused.length;
  check(
    'one access event per 2xx response',
    unexcused === 0 && twice.length === 0 && excused.length <= f.batchSize,
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

  const spillLeft = [...f.replicas.flatMap((r) => spillFiles(r.spillDir))];
  const rejected = spillLeft.filter((file) => file.includes('rejected'));
  check(
    "the killed replica's spill files replayed",
    spillLeft.length === 0,
    `${f.spillAtKill.length} spill file(s) at the kill; ${spillLeft.length} left at the end (${rejected.length} rejected)`,
  );

  const byKey = new Map<string, Set<string>>();
  for (const s of f.samples)
    if (s.messageId && s.key) byKey.set(s.key, (byKey.get(s.key) ?? new Set()).add(s.messageId));
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
      await sql<
        { pending: number }[]
      >`select count(*)::int as pending from app.idempotency_keys where status = 'pending'`
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
    most <= f.messagesPerDay,
    `most messages accepted for one account: ${most} (limit ${f.messagesPerDay} across both replicas)`,
  );
  await sql.end();

  const fiveHundreds = f.samples.filter((s) => s.status === 500).length;
  check(
    'no 500 answered',
    fiveHundreds === 0,
    `${fiveHundreds} of ${f.samples.length} requests answered 500 (a database restart answers 503 HF_DATABASE_UNAVAILABLE)`,
  );

  let verify = '';
  let verified = false;
  try {
    verify = execFileSync(process.execPath, [f.auditCli, 'verify'], {
      env: { ...process.env, DATABASE_URL: f.databaseUrl, DATA_DIR: f.dataDir },
      encoding: 'utf8',
    });
    verified = true;
  } catch (error) {
    verify = String((error as { stdout?: string }).stdout ?? '') + String((error as { stderr?: string }).stderr ?? '');
  }
  check('hf-audit verify intact', verified, verify.trim().split('\n').slice(-1)[0] ?? '');
  return {
    responses2xx: ok2xx.length,
    missing: missing.length,
    excusedInKillWindow: excused.length,
    duplicated: twice.length,
  };
}
