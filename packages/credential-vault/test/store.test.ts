import { LocalKeyProvider, useVaultAuthState, vaultMigrations, VaultStore } from '@harakaflow/credential-vault';
import { vaultSecrets } from '@harakaflow/credential-vault/internals';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const K1 = key('k1');
const K2 = key('k2');
let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [vaultMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('vault'));

const store = (keys = K1) => new VaultStore(database.db, new LocalKeyProvider(keys));
const place = { accountId: 'acct-1', sessionId: 'wa-1', name: 'creds' };

describe('VaultStore', () => {
  it('puts, gets, lists names only, deletes, and keeps no plaintext in the table', async () => {
    const vault = store();
    const secret = Buffer.from('{"noiseKey":"very-secret-noise-key-material"}');
    await vault.put(place, secret);
    await vault.put({ ...place, name: 'pre-key-1' }, Buffer.from('pk1'));
    await vault.put({ ...place, sessionId: 'wa-2' }, Buffer.from('other session'));
    expect((await vault.get(place))?.value.equals(secret)).toBe(true);
    expect(await vault.get({ ...place, name: 'missing' })).toBeNull();
    expect((await vault.list('acct-1', 'wa-1')).map((n) => n.name)).toEqual(['creds', 'pre-key-1']);
    const dump = JSON.stringify(await database.db.select().from(vaultSecrets));
    expect(dump).not.toContain('very-secret-noise-key-material');
    expect(
      Buffer.from(
        JSON.stringify((await database.db.select().from(vaultSecrets)).map((r) => r.ciphertext.toString('latin1'))),
      ).includes('very-secret'),
    ).toBe(false);
    expect(await vault.delete(place)).toBe(true);
    expect(await vault.delete(place)).toBe(false);
    expect(await vault.deleteSession('acct-1', 'wa-1')).toBe(1);
    expect(await vault.deleteAccount('acct-1')).toBe(1);
    expect(await vault.status()).toEqual({});
  });

  it('overwrites a record in place (one row per account, session and name)', async () => {
    const vault = store();
    await vault.put(place, Buffer.from('v1'));
    await vault.put(place, Buffer.from('v2'));
    expect((await vault.get(place))?.value.toString()).toBe('v2');
    expect(await vault.status()).toEqual({ k1: 1 });
  });

  it('writes a batch in one transaction: a failing batch leaves nothing, not even its deletes', async () => {
    const vault = store();
    await vault.put({ ...place, name: 'keep' }, Buffer.from('kept'));
    // The same name twice in one batch makes the upsert fail inside the transaction.
    await expect(
      vault.putMany('acct-1', 'wa-1', [
        { name: 'a', value: Buffer.from('1') },
        { name: 'a', value: Buffer.from('2') },
        { name: 'keep', value: null },
      ]),
    ).rejects.toThrow();
    expect((await vault.list('acct-1', 'wa-1')).map((n) => n.name)).toEqual(['keep']);
  });

  it('rewraps to a new KEK in resumable batches; status says when the old one can go', async () => {
    const old = store(K1);
    for (let i = 0; i < 7; i++) await old.put({ ...place, name: `r${i}` }, Buffer.from(`value ${i}`));
    const rotated = store(`${K2},${K1}`);
    await rotated.put({ ...place, name: 'new' }, Buffer.from('new value'));
    expect(await rotated.status()).toEqual({ k1: 7, k2: 1 });
    expect(await rotated.rewrapBatch(3)).toMatchObject({ rewrapped: 3, remaining: 4 });
    expect(await rotated.rewrapBatch(3)).toMatchObject({ rewrapped: 3, remaining: 1 });
    expect(await rotated.rewrapBatch(3)).toMatchObject({ rewrapped: 1, remaining: 0 });
    expect(await rotated.rewrapBatch(3)).toMatchObject({ rewrapped: 0, remaining: 0 });
    expect(await rotated.status()).toEqual({ k2: 8 });
    const retired = store(K2);
    expect((await retired.get({ ...place, name: 'r6' }))?.value.toString()).toBe('value 6');
  });

  it('answers HF_VAULT_KEY_UNAVAILABLE for a record whose KEK is gone, and rewrap skips it', async () => {
    await store(K1).put(place, Buffer.from('x'));
    const without = store(K2);
    await expect(without.get(place)).rejects.toMatchObject({ code: 'HF_VAULT_KEY_UNAVAILABLE' });
    expect(await without.rewrapBatch()).toMatchObject({ rewrapped: 0, remaining: 0 });
  });
});

describe('useVaultAuthState (the useMultiFileAuthState contract)', () => {
  // Baileys-shaped data: AuthenticationCreds and Signal keys hold Buffers and Uint8Arrays.
  const initCreds = () => ({
    noiseKey: { private: randomBytes(32), public: randomBytes(32) },
    signedIdentityKey: { private: randomBytes(32), public: randomBytes(32) },
    signedPreKey: {
      keyPair: { private: randomBytes(32), public: randomBytes(32) },
      signature: new Uint8Array(randomBytes(64)),
      keyId: 1,
    },
    registrationId: 4242,
    advSecretKey: randomBytes(32).toString('base64'),
    me: undefined as { id: string } | undefined,
    nextPreKeyId: 1,
  });

  it('starts from initCreds, saves creds, and loads them back byte for byte', async () => {
    const vault = store();
    const first = await useVaultAuthState(vault, { accountId: 'a', sessionId: 's', initCreds });
    first.state.creds.me = { id: '254700000001@s.whatsapp.net' };
    await first.saveCreds();
    const second = await useVaultAuthState(vault, { accountId: 'a', sessionId: 's', initCreds });
    expect(second.state.creds.me).toEqual({ id: '254700000001@s.whatsapp.net' });
    expect(Buffer.isBuffer(second.state.creds.noiseKey.private)).toBe(true);
    expect(second.state.creds.noiseKey.private.equals(first.state.creds.noiseKey.private)).toBe(true);
    expect(
      Buffer.from(second.state.creds.signedPreKey.signature as Uint8Array).equals(
        Buffer.from(first.state.creds.signedPreKey.signature),
      ),
    ).toBe(true);
  });

  it('sets and gets Signal keys by type and id, and deletes on null', async () => {
    const vault = store();
    const { state } = await useVaultAuthState(vault, { accountId: 'a', sessionId: 's', initCreds });
    const preKeys = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [String(i + 1), { public: randomBytes(32), private: randomBytes(32) }]),
    );
    const session = { '254700000001.0': randomBytes(200) };
    await state.keys.set({ 'pre-key': preKeys, session });
    const got = await state.keys.get('pre-key', ['1', '3', '99']);
    expect(Object.keys(got)).toEqual(['1', '3']);
    expect((got['3'] as { private: Buffer }).private.equals(preKeys['3']!.private)).toBe(true);
    expect(
      ((await state.keys.get('session', ['254700000001.0']))['254700000001.0'] as unknown as Buffer).equals(
        session['254700000001.0'],
      ),
    ).toBe(true);
    await state.keys.set({ 'pre-key': { '1': null, '2': null } });
    expect(Object.keys(await state.keys.get('pre-key', ['1', '2', '3']))).toEqual(['3']);
  });
});

describe.skipIf(!postgresUrl)('concurrent writers on real Postgres', () => {
  it('lose no update: 20 writers of distinct keys to one session all land', async () => {
    const vault = store();
    await Promise.all(
      Array.from({ length: 20 }, (_, w) =>
        vault.putMany(
          'acct-c',
          'wa-c',
          Array.from({ length: 10 }, (_, i) => ({ name: `w${w}-k${i}`, value: Buffer.from(`${w}:${i}`) })),
        ),
      ),
    );
    const names = await vault.list('acct-c', 'wa-c');
    expect(names).toHaveLength(200);
    const all = await vault.getMany(
      'acct-c',
      'wa-c',
      names.map((n) => n.name),
    );
    expect(all.get('w13-k7')?.toString()).toBe('13:7');
  });

  it('leave exactly one readable row when 20 writers race on one name', async () => {
    const vault = store();
    await Promise.all(
      Array.from({ length: 20 }, (_, w) =>
        vault.put({ accountId: 'acct-r', sessionId: 'wa-r', name: 'creds' }, Buffer.from(`writer ${w}`)),
      ),
    );
    const rows = await database.db.execute(
      sql`select count(*)::int as n from vault.secrets where account_id = 'acct-r'`,
    );
    expect((rows as unknown as { n: number }[])[0]!.n).toBe(1);
    expect((await vault.get({ accountId: 'acct-r', sessionId: 'wa-r', name: 'creds' }))?.value.toString()).toMatch(
      /^writer \d+$/,
    );
  });
});
