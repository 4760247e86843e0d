// Issue 12 item 11, in the package: every consumer of the vault has its own namespace, bound into
// each record's associated data; the default namespace keeps the earlier bytes, so records sealed
// before namespaces existed still open; a whole session moves in resumable batches.
import { LocalKeyProvider, vaultMigrations, VaultStore } from '@harakaflow/credential-vault';
import { placeBytes } from '@harakaflow/credential-vault/internals';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [vaultMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('vault'));

const vault = () => new VaultStore(database.db, new LocalKeyProvider(`k1:${Buffer.alloc(32, 3).toString('base64')}`));
const place = { accountId: 'acct-1', sessionId: 's', name: 'n' };

describe('vault namespaces', () => {
  it('the namespace enters the associated data; the default adds nothing', () => {
    const earlier = Buffer.concat(
      ['hf-vault', '1', 'acct-1', 's', 'n'].map((p) =>
        Buffer.concat([Buffer.from([0, Buffer.byteLength(p)]), Buffer.from(p)]),
      ),
    );
    expect(placeBytes(place).equals(earlier)).toBe(true);
    expect(placeBytes({ ...place, namespace: 'whatsapp' }).equals(earlier)).toBe(true);
    expect(placeBytes({ ...place, namespace: 'webhooks' }).equals(earlier)).toBe(false);
  });

  it('namespaces are apart, and a record does not open in another namespace', async () => {
    const v = vault();
    // (Until the earlier version's unique index on account, session and name is dropped, one account
    // cannot hold the same session and name in two namespaces: the README says so.)
    const other = { ...place, sessionId: 't', namespace: 'webhooks' };
    await v.put(place, Buffer.from('whatsapp value'));
    await v.put(other, Buffer.from('webhooks value'));
    expect((await v.get(place))!.value.toString()).toBe('whatsapp value');
    expect(await v.get({ ...place, sessionId: 't' })).toBeNull(); // not reachable from the default namespace
    expect((await v.get(other))!.value.toString()).toBe('webhooks value');
    expect((await v.list('acct-1')).map((r) => r.namespace)).toEqual(['webhooks', 'whatsapp']);
    expect(await v.deleteSession('acct-1', 't')).toBe(0); // the default namespace only
    expect(await v.get(other)).not.toBeNull();
    await database.db.execute(sql`update vault.secrets set namespace = 'whatsapp' where session_id = 't'`);
    await expect(v.get({ ...place, sessionId: 't' })).rejects.toMatchObject({ code: 'HF_VAULT_DECRYPT_FAILED' });
    await expect(v.get({ ...place, namespace: 'Bad Name' })).rejects.toThrow(TypeError);
  });

  it('moveSession re-seals a default-namespace session of every account into a namespace, resumably', async () => {
    const v = vault();
    for (let i = 0; i < 5; i++)
      await v.put(
        { accountId: `acct-${i}`, sessionId: 'legacy', name: `e${i}.current` },
        Buffer.from(`secret-${i}-${randomBytes(4).toString('hex')}`),
      );
    const values = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) =>
        (await v.get({ accountId: `acct-${i}`, sessionId: 'legacy', name: `e${i}.current` }))!.value.toString(),
      ),
    );
    expect(await v.moveSession('legacy', { namespace: 'webhooks', sessionId: 'endpoints' }, 2)).toEqual({
      moved: 2,
      remaining: 3,
    });
    expect(await v.moveSession('legacy', { namespace: 'webhooks', sessionId: 'endpoints' }, 10)).toEqual({
      moved: 3,
      remaining: 0,
    });
    for (let i = 0; i < 5; i++) {
      expect(
        (await v.get({
          namespace: 'webhooks',
          accountId: `acct-${i}`,
          sessionId: 'endpoints',
          name: `e${i}.current`,
        }))!.value.toString(),
      ).toBe(values[i]);
      expect(await v.get({ accountId: `acct-${i}`, sessionId: 'legacy', name: `e${i}.current` })).toBeNull();
    }
  });
});
