// hf-vault as a process: status and rewrap against a PGlite data directory (as the app keeps it).
import { LocalKeyProvider, vaultMigrations, VaultStore } from '@harakaflow/credential-vault';
import { createDatabase, migrate } from '@harakaflow/db';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectDataDirRefused, fromDist, seedPglite } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'hf-vault-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// The app's PGlite directory, already made (no initdb in every process that opens it first).
beforeAll(() => seedPglite(join(dataDir, 'pglite')));
const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;

/** `where.dataDir: null` runs it without DATA_DIR; `where.cwd` from another directory. */
function cli(args: string[], vaultKeys: string | undefined, where: { cwd?: string; dataDir?: string | null } = {}) {
  const dir = where.dataDir === undefined ? dataDir : where.dataDir;
  const result = spawnSync(process.execPath, [...fromDist(join(cwd, 'src/cli.ts')), ...args], {
    cwd: where.cwd ?? cwd,
    env: {
      PATH: process.env.PATH ?? '',
      ...(dir === null ? {} : { DATA_DIR: dir }),
      ...(vaultKeys ? { VAULT_KEYS: vaultKeys } : {}),
    },
    encoding: 'utf8',
    // A hang guard: each spawn runs the transpiled JavaScript (the suite's global setup makes it) and may open PGlite (tens of seconds when the 2 cores are shared).
    timeout: 240_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('hf-vault', () => {
  it('reports records per KEK, rewraps them all to the active one, and then the old KEK can go', async () => {
    const handle = await createDatabase({ dataDir: join(dataDir, 'pglite') });
    await migrate(handle.db, [vaultMigrations]);
    const store = new VaultStore(handle.db, new LocalKeyProvider(K1));
    for (let i = 0; i < 450; i++)
      await store.put({ accountId: 'a', sessionId: 's', name: `pre-key-${i}` }, Buffer.from(`v${i}`));
    await handle.close();

    const status = cli(['status'], `${K2},${K1}`);
    expect(status.code).toBe(0);
    expect(status.out).toContain('active KEK: k2');
    expect(status.out).toMatch(/k1\t450/);

    const rewrap = cli(['rewrap'], `${K2},${K1}`);
    expect(rewrap.code).toBe(0);
    expect(rewrap.err).toContain('VAULT_KEYS from the environment');
    expect(rewrap.err).not.toMatch(/rewrapped \d+\//); // progress only when stderr is a terminal
    expect(rewrap.out).toContain('rewrapped 450 record(s) to k2');

    const after = cli(['status'], K2);
    expect(after.out).toMatch(/k2\t450 \(active\)/);
    expect(after.out).not.toContain('NOT in VAULT_KEYS');

    const check = await createDatabase({ dataDir: join(dataDir, 'pglite') });
    expect(
      (
        await new VaultStore(check.db, new LocalKeyProvider(K2)).get({
          accountId: 'a',
          sessionId: 's',
          name: 'pre-key-449',
        })
      )?.value.toString(),
    ).toBe('v449');
    await check.close();
    // Nothing secret in what it printed.
    for (const key of [K1, K2])
      expect(status.out + status.err + rewrap.out + rewrap.err).not.toContain(key.split(':')[1]);
  }, 600_000); // a hang guard, not a measurement

  // Issue 31 item 6: PGlite takes one process; a CLI beside the running app would corrupt its data.
  it("refuses the PGlite directory a running app holds (naming it and the pid), works once it is closed, and takes over a dead process's lock", async () => {
    const pglite = join(dataDir, 'pglite');
    const app = await createDatabase({ dataDir: pglite });
    try {
      expectDataDirRefused(cli(['status'], K2), pglite, 2);
    } finally {
      await app.close();
    }
    expect(cli(['status'], K2)).toMatchObject({ code: 0 });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    writeFileSync(join(pglite, 'harakaflow.lock'), JSON.stringify({ pid: Number(gone), started: 'ticks:1' }));
    expect(cli(['status'], K2)).toMatchObject({ code: 0 });
    expect(existsSync(join(pglite, 'harakaflow.lock'))).toBe(false);
  }, 600_000); // a hang guard, not a measurement

  it('refuses to run without VAULT_KEYS or with a bad one, and names the usage', () => {
    expect(cli(['status'], undefined)).toMatchObject({
      code: 2,
      err: expect.stringContaining('VAULT_KEYS is required'),
    });
    const bad = cli(['status'], 'k1:short');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('base64 of exactly 32 bytes');
    expect(cli(['explode'], K1)).toMatchObject({
      code: 2,
      err: expect.stringContaining('usage: hf-vault rewrap | status'),
    });
  }, 600_000); // a hang guard, not a measurement

  it('reads the development secrets and the PGlite data only from the DATA_DIR it is given, never from the directory it runs in', () => {
    // A stray .data/secrets.json in the working directory (another checkout, another app) is not
    // the operator's: before, hf-vault defaulted DATA_DIR to .data and used its key.
    const elsewhere = mkdtempSync(join(tmpdir(), 'hf-vault-cwd-'));
    try {
      mkdirSync(join(elsewhere, '.data'));
      writeFileSync(join(elsewhere, '.data', 'secrets.json'), JSON.stringify({ VAULT_KEYS: K1 }));
      const run = cli(['status'], undefined, { cwd: elsewhere, dataDir: null });
      expect(run.code).toBe(2);
      expect(run.err).toContain("set DATABASE_URL, or DATA_DIR to the app's data directory");
      expect(run.err).not.toContain(K1.split(':')[1]);
      // Given as DATA_DIR, the same file is read, and says where the key came from.
      const given = cli(['status'], undefined, { cwd: elsewhere, dataDir: join(elsewhere, '.data') });
      expect(given.code).toBe(0);
      expect(given.err).toContain(`VAULT_KEYS from ${join(elsewhere, '.data', 'secrets.json')}`);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 600_000); // a hang guard, not a measurement
});
