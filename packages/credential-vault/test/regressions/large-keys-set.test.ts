// Issue 13 item 9: keys.set of more than ~9,360 entries failed whole (7 parameters a row against
// Postgres' 65,534 limit), and its error message was 5.4 MB of SQL and ciphertext.
import { LocalKeyProvider, useVaultAuthState, vaultMigrations, VaultStore } from '@harakaflow/credential-vault';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [vaultMigrations] });
});
afterAll(() => database.close());

const vault = () => new VaultStore(database.db, new LocalKeyProvider(`k1:${Buffer.alloc(32, 5).toString('base64')}`));
const preKeys = (n: number, from = 0) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      String(from + i),
      { keyPair: { public: Buffer.alloc(32, i % 256), private: Buffer.alloc(32, 7) } },
    ]),
  );

describe('keys.set of any size', () => {
  it('stores 12,000 pre-keys in one call (one transaction, in chunks)', async () => {
    const v = vault();
    const { state } = await useVaultAuthState(v, { accountId: 'acct-big', sessionId: 's' });
    await state.keys.set({ 'pre-key': preKeys(12_000) });
    const got = await state.keys.get('pre-key', ['0', '5999', '11999']);
    expect(Object.keys(got).sort()).toEqual(['0', '11999', '5999']);
    expect(await v.list('acct-big')).toHaveLength(12_000);
  }, 600_000); // a hang guard, not a measurement

  it('a failed write says HF_VAULT_STORE_FAILED in a short message with no SQL, parameters or ciphertext, and writes nothing', async () => {
    const v = vault();
    await database.db.execute(
      sql`alter table vault.secrets add constraint no_big check (account_id <> 'acct-fail' or name <> 'pre-key-1500')`,
    );
    try {
      const { state } = await useVaultAuthState(v, { accountId: 'acct-fail', sessionId: 's' });
      const error = await state.keys.set({ 'pre-key': preKeys(3000) }).then(
        () => null,
        (e: unknown) => e as Error & { code?: string; codes?: string[] },
      );
      expect(error).toMatchObject({
        code: 'HF_VAULT_STORE_FAILED',
        statusCode: 503,
        codes: expect.arrayContaining(['23514']),
      });
      expect(error!.message.length).toBeLessThan(300);
      expect(error!.message).not.toMatch(/insert|values|\\x|acct-fail/i);
      expect(JSON.stringify(error)).not.toMatch(/insert into/i);
      expect(await v.list('acct-fail')).toEqual([]); // all or nothing
    } finally {
      await database.db.execute(sql`alter table vault.secrets drop constraint no_big`);
    }
  }, 600_000); // a hang guard, not a measurement
});
