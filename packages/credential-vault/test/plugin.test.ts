import vault, { vaultMigrations } from '@harakaflow/credential-vault';
import { accountSubject, personalDataHandlers } from '@harakaflow/core';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [vaultMigrations] });
});
afterAll(() => database.close());
const KEYS = `k1:${randomBytes(32).toString('base64')}`;

describe('the vault plugin', () => {
  it('decorates fastify.vault and registers its personal-data handler (names only in exports)', async () => {
    const app = Fastify();
    await app.register(vault, { db: database.db, keys: KEYS });
    await app.ready();
    await app.vault.put({ accountId: 'subj', sessionId: 'wa', name: 'creds' }, Buffer.from('plaintext-value'));
    const handler = personalDataHandlers(app).find((h) => h.name === 'vault')!;
    const exported = await handler.exportSubject(accountSubject('subj'));
    expect(exported).toEqual({
      records: [
        {
          namespace: 'whatsapp',
          sessionId: 'wa',
          name: 'creds',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ],
    });
    expect(JSON.stringify(exported)).not.toContain('plaintext-value');
    expect(await handler.eraseSubject(accountSubject('subj'))).toEqual({ erased: 1 });
    expect(await app.vault.list('subj')).toEqual([]);
    await app.close();
  });

  it.each([
    [{ db: undefined, keys: KEYS }, 'HF_VAULT_INVALID_OPTION', '"db"'],
    [{ keys: 42 }, 'HF_VAULT_INVALID_OPTION', '"keys"'],
    [{ keys: 'k1:short' }, 'HF_VAULT_INVALID_KEYS', 'base64 of exactly 32 bytes'],
  ])('refuses %j at registration', async (bad, code, text) => {
    const app = Fastify();
    await expect(app.register(vault, { db: database.db, ...bad } as never).ready()).rejects.toMatchObject({
      code,
      message: expect.stringContaining(text),
    });
    await app.close();
  });
});
