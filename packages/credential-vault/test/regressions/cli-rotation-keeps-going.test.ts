// Issue 13 items 8 and 10: `hf-vault rewrap` exited at the first record it could not unwrap,
// leaving every other record under the old KEK; after the default start, `hf-vault status` failed
// with "VAULT_KEYS is required" because it did not read DATA_DIR/secrets.json as hf-audit does.
import { LocalKeyProvider, vaultMigrations, VaultStore } from '@harakaflow/credential-vault';
import { createDatabase, migrate } from '@harakaflow/db';
import { fromDist, seedPglite } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cwd = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'hf-vault-cli-r-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [...fromDist(join(cwd, 'src/cli.ts')), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 240_000, // a hang guard: PGlite takes tens of seconds when the 2 cores are shared
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('hf-vault keeps going and reads keys as the app does', () => {
  it('rewrap goes past an unreadable record, names it, exits 1; after it is deleted a rerun exits 0', async () => {
    await seedPglite(join(dataDir, 'pglite')); // made once per machine: no initdb here
    const handle = await createDatabase({ dataDir: join(dataDir, 'pglite') });
    await migrate(handle.db, [vaultMigrations]);
    const store = new VaultStore(handle.db, new LocalKeyProvider(K1));
    for (let i = 0; i < 5; i++)
      await store.put({ accountId: 'acct-r', sessionId: 's', name: `r${i}` }, Buffer.from(`secret-${i}`));
    // r0's wrapped data key is damaged: it cannot be unwrapped (its id sorts anywhere among the others).
    await handle.db.execute(
      sql`update vault.secrets set ciphertext = set_byte(ciphertext, 11, get_byte(ciphertext, 11) # 1) where name = 'r0'`,
    );
    await handle.close();

    const status = cli(['status'], { VAULT_KEYS: `${K2},${K1}` });
    expect(status.code).toBe(1);
    expect(status.out).toMatch(/k1\t5\t1 unreadable/);
    const rewrap = cli(['rewrap'], { VAULT_KEYS: `${K2},${K1}` });
    expect(rewrap.code).toBe(1);
    expect(rewrap.out).toContain('rewrapped 4 record(s) to k2');
    expect(rewrap.out).toMatch(/1 record\(s\) could not be unwrapped/);
    expect(rewrap.out).toMatch(
      /account acct-r\tnamespace whatsapp\tsession s\tname r0\tKEK k1\tHF_VAULT_DECRYPT_FAILED/,
    );
    expect(rewrap.out + rewrap.err).not.toMatch(/secret-\d/);

    const cleanup = await createDatabase({ dataDir: join(dataDir, 'pglite') });
    await cleanup.db.execute(sql`delete from vault.secrets where name = 'r0'`);
    await cleanup.close();
    const rerun = cli(['rewrap'], { VAULT_KEYS: `${K2},${K1}` });
    expect(rerun.code).toBe(0);
    expect(cli(['status'], { VAULT_KEYS: K2 }).code).toBe(0);
  }, 600_000); // a hang guard, not a measurement

  it('reads VAULT_KEYS from DATA_DIR/secrets.json when the environment has none, saying so', () => {
    writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ VAULT_KEYS: K2 }), { mode: 0o600 });
    const status = cli(['status']);
    expect(status.err).toContain(`VAULT_KEYS from ${join(dataDir, 'secrets.json')}`);
    expect(status.out).toContain('active KEK: k2');
    expect(status.err + status.out).not.toContain(K2.split(':')[1]);
  }, 600_000); // a hang guard, not a measurement

  it('--help prints the usage and exits 0', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: hf-vault rewrap | status');
  });
});
