// hf-audit as a process, against a PGlite data directory as the app keeps it.
import { createDatabase, migrate, resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectDataDirRefused, fromDist, seedPglite } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMigrations } from '../src/index.js';
import { checkpointMac } from '../src/checkpoints.js';
import { AuditSigningKeys, generateAuditSigningKey } from '../src/note.js';
import { purgeServerLogs } from '../src/partitions.js';
import { integrate } from '../src/tree.js';
import { CHECKPOINT_KEY, clock, KEYS, legacyMigrations, securityInput, writer } from './helpers.js';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'hf-audit-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// The app's PGlite directory, already made (no initdb in every process that opens it first).
beforeAll(() => seedPglite(join(dataDir, 'pglite')));

/**
 * `where.dataDir: null` runs it without DATA_DIR; `where.cwd` from another directory. The tests that
 * spawn it allow 300 s: a hang guard, not a measurement (issue 31 item 6: 40 s was seen under load).
 */
function cli(
  args: string[],
  env: Record<string, string> = { AUDIT_CHECKPOINT_KEYS: CHECKPOINT_KEY },
  where: { cwd?: string; dataDir?: string | null } = {},
) {
  const dir = where.dataDir === undefined ? dataDir : where.dataDir;
  const result = spawnSync(process.execPath, [...fromDist(join(cwd, 'src/cli.ts')), ...args], {
    cwd: where.cwd ?? cwd,
    env: { PATH: process.env.PATH ?? '', ...(dir === null ? {} : { DATA_DIR: dir }), ...env },
    encoding: 'utf8',
    // A hang guard: each spawn runs the transpiled JavaScript (the suite's global setup makes it) and may open PGlite (seconds to tens of seconds when the 2 cores are shared).
    timeout: 240_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

async function withDb<T>(fn: (db: Awaited<ReturnType<typeof createDatabase>>['db']) => Promise<T>): Promise<T> {
  const handle = await createDatabase({ dataDir: join(dataDir, 'pglite') });
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

describe('hf-audit verify', () => {
  it('exits 0 on an intact log, 1 naming the first bad event, and honours --from/--to', async () => {
    let tampered = '';
    await withDb(async (db) => {
      await migrate(db, [auditMigrations]);
      const c = clock('2026-04-01T06:00:00Z');
      const w = writer(db, { now: c.now });
      for (let i = 0; i < 6; i++) {
        w.append(securityInput(i));
        c.advance(12 * 3600 * 1000); // two per day: 04-01 .. 04-03
      }
      await w.close();
    });
    const ok = cli(['verify']);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toContain('intact: 3 segment(s), 6 event(s)');

    await withDb(async (db) => {
      const rows = (await db.execute(
        sql`select id from audit.events where day = '2026-04-02' and seq = 1`,
      )) as unknown as { rows: { id: string }[] };
      tampered = rows.rows[0]!.id;
      await db.execute(sql`update audit.events set outcome = 'failure' where id = ${tampered}`);
    });
    const bad = cli(['verify']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`modified\twriter w1, day 2026-04-02, event ${tampered} (seq 1)`);
    expect(cli(['verify', '--to', '2026-04-01'])).toMatchObject({ code: 0 });
    expect(cli(['verify', '--from', '2026-04-03'])).toMatchObject({ code: 0 });
    expect(cli(['verify', '--from', '2026-04-02', '--to', '2026-04-02']).code).toBe(1);
  }, 600_000); // a hang guard, not a measurement

  // Issue 31 item 6: PGlite takes one process; a CLI beside the running app would corrupt its data.
  it("refuses the PGlite directory a running app holds (naming it and the pid), works once it is closed, and takes over a dead process's lock", async () => {
    const own = mkdtempSync(join(tmpdir(), 'hf-audit-cli-lock-'));
    const pglite = join(own, 'pglite');
    await seedPglite(pglite);
    const verify = () => cli(['verify'], { AUDIT_CHECKPOINT_KEYS: CHECKPOINT_KEY }, { dataDir: own });
    try {
      const app = await createDatabase({ dataDir: pglite });
      try {
        await migrate(app.db, [auditMigrations]);
        expectDataDirRefused(verify(), pglite, 2);
      } finally {
        await app.close();
      }
      expect(verify()).toMatchObject({ code: 0 });
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      }).stdout;
      writeFileSync(join(pglite, 'harakaflow.lock'), JSON.stringify({ pid: Number(gone), started: 'ticks:1' }));
      expect(verify()).toMatchObject({ code: 0 });
      expect(existsSync(join(pglite, 'harakaflow.lock'))).toBe(false);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 600_000); // a hang guard, not a measurement

  it('reads the development key and the PGlite data only from the DATA_DIR it is given, never from the directory it runs in', () => {
    // Before, DATA_DIR defaulted to .data: a stray .data/secrets.json in the working directory
    // (another checkout, another app) was taken for the operator's.
    const elsewhere = mkdtempSync(join(tmpdir(), 'hf-audit-cwd-'));
    try {
      mkdirSync(join(elsewhere, '.data'));
      writeFileSync(
        join(elsewhere, '.data', 'secrets.json'),
        JSON.stringify({ AUDIT_CHECKPOINT_KEYS: CHECKPOINT_KEY }),
      );
      for (const command of [['verify'], ['migrate-partitions']]) {
        const run = cli(command, {}, { cwd: elsewhere, dataDir: null });
        expect(run.code).toBe(2);
        expect(run.err).toContain("set DATABASE_URL, or DATA_DIR to the app's data directory");
      }
      const given = cli(['verify'], {}, { cwd: elsewhere, dataDir: join(elsewhere, '.data') });
      expect(given.err).toContain(`AUDIT_CHECKPOINT_KEYS from ${join(elsewhere, '.data', 'secrets.json')}`);
      // It opened the PGlite data under that directory (empty here: no audit tables yet).
      expect(given.err).toContain('could not read the audit tables');
      expect(existsSync(join(elsewhere, '.data', 'pglite'))).toBe(true);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 600_000); // a hang guard, not a measurement

  it('takes the development key from DATA_DIR/secrets.json, and refuses bad usage with exit 2', () => {
    writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ AUDIT_CHECKPOINT_KEYS: CHECKPOINT_KEY }));
    expect(cli(['verify', '--to', '2026-04-01'], {})).toMatchObject({ code: 0 });
    rmSync(join(dataDir, 'secrets.json'));
    expect(cli(['verify'], {})).toMatchObject({
      code: 2,
      err: expect.stringContaining('AUDIT_CHECKPOINT_KEYS is required'),
    });
    expect(cli(['verify'], { AUDIT_CHECKPOINT_KEYS: 'short' })).toMatchObject({ code: 2 });
    expect(cli(['check'])).toMatchObject({ code: 2, err: expect.stringContaining('usage: hf-audit verify') });
    expect(cli(['verify', '--from', '2026-02-30'])).toMatchObject({ code: 2 });
    expect(cli(['verify', '--since', 'x'])).toMatchObject({ code: 2 });
  }, 600_000); // a hang guard, not a measurement

  // Issue 13 item 10: a database written with other keys was reported "BROKEN ... checkpoint
  // signature is not valid" with exit 1, a false tamper alarm; there was no --help.
  it('says the keys are probably wrong (exit 2) when no checkpoint verifies with them; --help exits 0', () => {
    const wrong = cli(['verify'], { AUDIT_CHECKPOINT_KEYS: 'another-checkpoint-key-0123456789abcdef' });
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/none of the \d+ checkpoint\(s\) verifies .* the keys are probably wrong/);
    expect(wrong.err).toContain('AUDIT_CHECKPOINT_KEYS from the environment');
    expect(wrong.out + wrong.err).not.toContain('another-checkpoint-key');
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: hf-audit verify');
  }, 600_000); // a hang guard, not a measurement
});

describe('hf-audit migrate-partitions', () => {
  it('moves an unpartitioned log into day partitions (then has nothing to do), and verify says where it anchored after a purge', async () => {
    const legacy = legacyMigrations();
    const now = new Date();
    const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 100 * 86_400_000;
    const dir = mkdtempSync(join(tmpdir(), 'hf-audit-cli-migrate-'));
    await seedPglite(join(dir, 'pglite'));
    const env = { AUDIT_CHECKPOINT_KEYS: CHECKPOINT_KEY, DATA_DIR: dir };
    const withLegacyDb = async <T>(fn: (db: Awaited<ReturnType<typeof createDatabase>>['db']) => Promise<T>) => {
      const handle = await createDatabase({ dataDir: join(dir, 'pglite') });
      try {
        return await fn(handle.db);
      } finally {
        await handle.close();
      }
    };
    try {
      await withLegacyDb(async (db) => {
        await migrate(db, [legacy]);
        const c = clock(new Date(start + 6 * 3600 * 1000).toISOString());
        const w = writer(db, { now: c.now });
        for (let i = 0; i < 8; i++) {
          w.append(securityInput(i));
          c.advance(12 * 3600 * 1000);
        }
        await w.close();
        await migrate(db, [auditMigrations]);
      });
      expect(cli(['migrate-partitions', '--batch-size', '0'], env)).toMatchObject({ code: 2 });
      const moved = cli(['migrate-partitions', '--batch-size', '3'], env);
      expect(moved.err).toBe('');
      expect(moved).toMatchObject({ code: 0 });
      expect(moved.out).toContain('now partitioned by day: 8 event(s) copied');
      expect(moved.out).toContain('audit.events_legacy');
      expect(cli(['migrate-partitions'], env).out).toContain('already partitioned');
      const beforeDay = new Date(start + 2 * 86_400_000).toISOString().slice(0, 10);
      await withLegacyDb(async (db) => {
        for (let done = false; !done;)
          done = (await purgeServerLogs({ db, checkpointKeys: KEYS, beforeDay, limit: 100, dryRun: false })).done;
      });
      const verified = cli(['verify'], env);
      expect(verified).toMatchObject({ code: 0 });
      expect(verified.out).toContain(`anchored at the retention horizon ${beforeDay}`);
      expect(verified.out).toContain('w1 at its checkpoint of');
      expect(verified.out).toContain('intact: 2 segment(s), 4 event(s)');
    } finally {
      legacy.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000); // a hang guard, not a measurement
});

describe('hf-audit verify --public-key (issue 33)', () => {
  it('checks the whole log with the served keys alone (no secret in its environment), refuses other keys with exit 2, and catches a cut-back history against a witness head', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-audit-cli-pk-'));
    try {
      await seedPglite(join(dir, 'pglite'));
      const keys = new AuditSigningKeys(generateAuditSigningKey('k1'), 'cli.test/audit');
      const other = new AuditSigningKeys(generateAuditSigningKey('k2'), 'cli.test/audit');
      const at = async <T>(fn: (db: Awaited<ReturnType<typeof createDatabase>>['db']) => Promise<T>) => {
        const handle = await createDatabase({ dataDir: join(dir, 'pglite') });
        try {
          return await fn(handle.db);
        } finally {
          await handle.close();
        }
      };
      const witnessed = await at(async (db) => {
        await migrate(db, [auditMigrations]);
        const w1 = writer(db, { writer: 'w1', chainVersion: 3, copy: false });
        const w2 = writer(db, { writer: 'w2', chainVersion: 3, copy: false });
        for (let i = 0; i < 10; i++) w1.append(securityInput(i));
        for (let i = 0; i < 10; i++) w2.append(securityInput(i));
        await w1.flush();
        await w2.flush();
        const head = await integrate({ db, checkpointKeys: KEYS, signer: keys });
        for (let i = 10; i < 15; i++) w2.append(securityInput(i));
        await w1.close();
        await w2.close();
        await integrate({ db, checkpointKeys: KEYS, signer: keys });
        return head!.note!;
      });
      const txt = join(dir, 'keys.txt');
      const json = join(dir, 'keys.json');
      const wrong = join(dir, 'other.txt');
      const witness = join(dir, 'witness.txt');
      writeFileSync(txt, `# the served file\n${keys.verifierKeys().join('\n')}\n`);
      writeFileSync(json, JSON.stringify(keys.jwks()));
      writeFileSync(wrong, `${other.verifierKeys().join('\n')}\n`);
      writeFileSync(witness, witnessed);
      const run = (args: string[]) => cli(args, {}, { dataDir: dir });

      const byText = run(['verify', '--public-key', txt]);
      expect(byText.err).toContain('public keys only');
      expect(byText).toMatchObject({ code: 0 });
      expect(byText.out).toContain('tree head: 25 leaves signed by cli.test/audit');
      expect(byText.out).toContain('intact');
      expect(run(['verify', '--public-key', json])).toMatchObject({ code: 0 });
      const byOther = run(['verify', '--public-key', wrong]);
      expect(byOther.code).toBe(2);
      expect(byOther.err).toContain('not signed by any key');
      expect(run(['verify', '--public-key', txt, '--witness', witness]).out).toContain(
        'witness head of 20 leaves: the log extends it',
      );
      expect(run(['verify', '--witness', witness]).code).toBe(2);
      // A device or a FIFO is refused at once, never read without end or waited on.
      expect(run(['verify', '--public-key', txt, '--witness', '/dev/zero'])).toMatchObject({
        code: 2,
        err: expect.stringContaining('not a file'),
      });
      expect(run(['verify', '--public-key', txt, '--from', '2026-01-01']).code).toBe(2);
      expect(run(['verify', '--public-key', join(dir, 'absent.txt')]).code).toBe(2);

      // Someone holding every key drops w1's last events, re-signs its checkpoint, rebuilds and re-signs the tree.
      await at(async (db) => {
        await db.execute(
          sql`delete from audit.events e using audit.writers w where w.id = e.writer_id and w.name = 'w1' and e.seq >= 7`,
        );
        await db.execute(sql`delete from audit.tree_ranges`);
        await db.execute(sql`delete from audit.tree_segments`);
        await db.execute(sql`delete from audit.tree_nodes`);
        await db.execute(
          sql`update audit.tree_state set size = 0, frontier = '\\x'::bytea, root = sha256(''::bytea), note = null, note_size = null, ranges_count = 0, ranges_hash = sha256(''::bytea)`,
        );
        // The checkpoint re-signed with the HMAC key they hold (the integrator takes only checkpoints that verify).
        const last = resultRows<{ hash: string; day: string }>(
          await db.execute(
            sql`select encode(e.hash_bytes, 'hex') as hash, e.day::text as day from audit.events e join audit.writers w on w.id = e.writer_id where w.name = 'w1' and e.seq = 6`,
          ),
        )[0]!;
        const mac = checkpointMac(KEYS, { writer: 'w1', day: last.day, count: 7, lastHash: last.hash, closed: true });
        await db.execute(
          sql`update audit.checkpoints set count = 7, last_hash = ${last.hash}, closed = true, mac = ${mac} where writer = 'w1'`,
        );
        await integrate({ db, checkpointKeys: KEYS, signer: keys });
      });
      expect(run(['verify', '--public-key', txt])).toMatchObject({ code: 0 });
      const caught = run(['verify', '--public-key', txt, '--witness', witness]);
      expect(caught.code).toBe(1);
      expect(caught.out).toContain('witness-mismatch');
      expect(caught.out).toContain('NOT extended by the log');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000); // a hang guard, not a measurement
});
