// `pnpm bench` (after the HTTP variants): an account with 100,000 message-log rows and 100,000 audit
// events, exported (one access request, the bundle built, stored encrypted and downloaded) and then
// purged (one deletion request with no grace period), in the reference app on DATABASE_URL (else
// PGlite). Reports seconds and the process's peak memory (RSS) for each (issue 14's targets: export
// under 10 s and 200 MB, purge under 30 s). Writes .bench/rights.json.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';

const ROWS = Number(process.env.BENCH_RIGHTS_ROWS ?? 100_000);
const [, , mode, seededAccount, seededKey] = process.argv;
const { buildApp, parseConfig } = await import('@harakaflow/api');
const dataDir =
  mode === 'measure' ? process.env.BENCH_RIGHTS_DATA_DIR! : mkdtempSync(join(tmpdir(), 'hf-bench-rights-'));
const { secretValues: _ignored, ...parsed } = parseConfig({
  DATABASE_URL: process.env.DATABASE_URL,
  LOG_LEVEL: 'warn',
  DATA_DIR: dataDir,
  DATA_RIGHTS_PURGE_AFTER_DAYS: '0',
});
const app = await buildApp({
  ...parsed,
  quotaAnonRpm: 100_000_000,
  quotaFreeRpm: 100_000_000,
  secrets: {
    adminApiKey: 'bench-admin-key-0123456789abcdef0123456789',
    consentSecrets: 'bench-consent-secret-0123456789abcdef0123',
    ageGateSecrets: 'bench-age-gate-secret-0123456789abcdef012',
    vaultKeys: `bench:${Buffer.alloc(32, 1).toString('base64')}`,
    auditCheckpointKeys: 'bench-audit-checkpoint-0123456789abcdef0',
    dataRightsSigningKeys: `bench:${Buffer.alloc(32, 2).toString('base64')}`,
    dataRightsSubjectKey: 'bench-data-rights-subject-key-0123456789ab',
    notifyUnsubscribeSecrets: 'bench-notify-unsubscribe-0123456789abcdef',
  },
});
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const db = app.database.db;
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

if (mode !== 'measure') {
  // Seeding, in this process: the account, message-log rows in one statement, audit events through
  // the writer as requests make them. Then a fresh process measures, so its memory is the export's
  // and the purge's, not what seeding left behind.
  const signup = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    payload: { name: 'Bench Person', email: `bench-${Date.now()}@example.com`, dateOfBirth: '1990-01-01' },
  });
  const { account, apiKey } = signup.json() as { account: { id: string }; apiKey: string };
  await db.execute(sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at)
    select gen_random_uuid(), ${account.id}::uuid, 'wa-bench', '+2547' || lpad((g % 10000000)::text, 8, '0'), 42, now() - (g || ' seconds')::interval
    from generate_series(1, ${ROWS}) g`);
  for (let i = 0; i < ROWS; i++) {
    void app.audit.record({ action: 'bench.event', subjectId: account.id, outcome: 'success', details: { i } });
    if (i % 5000 === 4999) await app.audit.flush();
  }
  await app.audit.flush();
  // As autovacuum would after such a load: without statistics the planner reads every remaining
  // row of the account for each page.
  await db.execute(sql`analyze app.message_log`);
  await db.execute(sql`analyze audit.events`);
  await app.close();
  // The measuring process runs this file compiled to JavaScript, as the app runs in production
  // (node dist/server.js): under the TypeScript loader it would idle 70 MB higher. Written inside
  // this package (in dist/, ignored by git) so its imports resolve.
  const { transpileModule, ModuleKind, ScriptTarget } = (await import('typescript')).default;
  const here = fileURLToPath(import.meta.url);
  const compiled = join(here, '../../dist/rights-measure.mjs');
  mkdirSync(join(compiled, '..'), { recursive: true });
  writeFileSync(
    compiled,
    transpileModule(readFileSync(here, 'utf8'), {
      compilerOptions: { module: ModuleKind.ESNext, target: ScriptTarget.ES2023 },
    }).outputText,
  );
  // BENCH_RIGHTS_NODE_ARGS: flags for the measuring process (--max-old-space-size=96 shows the export fits a small
  // heap).
  const nodeArgs = process.env.BENCH_RIGHTS_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, compiled, 'measure', account.id, apiKey], {
    env: { ...process.env, BENCH_RIGHTS_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`the measuring process exited with ${code}`);
  const measured = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, Record<string, number>>;
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    rows: { messageLog: ROWS, auditEvents: ROWS },
    ...measured,
  };
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  process.stderr.write(`(measured by ${compiled})\n`);
  mkdirSync(`${root}.bench`, { recursive: true });
  writeFileSync(`${root}.bench/rights.json`, JSON.stringify(report, null, 2) + '\n');
  console.log(
    `\nrights: export and purge of an account with ${ROWS} message-log rows and ${ROWS} audit events (${report.database}); RSS of a fresh app process`,
  );
  console.table(measured);
} else {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const startRss = peak;
  const auth = { authorization: `Bearer ${seededKey}` };

  // Export: filed, built, encrypted and stored, then downloaded over HTTP and counted as it arrives.
  let t = performance.now();
  const filed = (
    await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: auth, payload: { kind: 'access' } })
  ).json() as { id: string; export?: { url: string } };
  const built = (performance.now() - t) / 1000;
  // The download is read by a process of its own, as a person's browser would be: its buffers are
  // not the server's memory.
  const downloader = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').get(process.argv[1], (res) => { if (res.statusCode !== 200) process.exit(2); let n = 0; res.on('data', (c) => (n += c.length)); res.on('end', () => console.log(n)); }).on('error', () => process.exit(3))`,
      `${base}${filed.export!.url}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let downloaded = '';
  downloader.stdout.on('data', (c: Buffer) => (downloaded += c.toString()));
  const [downloadCode] = (await once(downloader, 'exit')) as [number];
  if (downloadCode !== 0) throw new Error(`the export download failed (${downloadCode})`);
  const bytes = Number(downloaded.trim());
  const exportSeconds = (performance.now() - t) / 1000;
  const exportPeak = peak;

  // Purge: at once, through every handler.
  peak = process.memoryUsage().rss;
  t = performance.now();
  const deletion = (
    await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: auth, payload: { kind: 'deletion' } })
  ).json() as { id: string };
  const rights = (app as unknown as { dataRights: { get(id: string): Promise<{ status: string }> } }).dataRights;
  while ((await rights.get(deletion.id)).status !== 'fulfilled') await new Promise((r) => setTimeout(r, 50));
  const purgeSeconds = (performance.now() - t) / 1000;
  clearInterval(sampler);
  const left = resultRows<{ n: number }>(
    await db.execute(sql`select count(*)::int as n from app.message_log where account_id = ${seededAccount}::uuid`),
  );
  await app.close();
  const result = {
    export: {
      seconds: Number(exportSeconds.toFixed(2)),
      builtSeconds: Number(built.toFixed(2)),
      megabytes: Number((bytes / 1e6).toFixed(1)),
      startRssMb: mb(startRss),
      peakRssMb: mb(exportPeak),
    },
    purge: { seconds: Number(purgeSeconds.toFixed(2)), peakRssMb: mb(peak), messageLogLeft: left[0]!.n },
  };
  process.stdout.write(
    `${JSON.stringify({ ...result, heap: { maxOldSpace: process.env.BENCH_RIGHTS_NODE_ARGS ?? 'default' } })}\n`,
  );
}
