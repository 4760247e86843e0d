// Issue 13 item 7: vault errors reached clients as 500 HF_INTERNAL (a tampered record and a record
// whose KEK is gone), though the package defines HF_VAULT_DECRYPT_FAILED and
// HF_VAULT_KEY_UNAVAILABLE. Every package error carries its code and status; the app keeps the
// codes of a short listed set of package 500s and of package 503s, with messages it wrote.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApp, testConfig } from '../helpers.js';

const packagesDir = fileURLToPath(new URL('../../../../packages', import.meta.url));

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

/** Every error an errors.ts can make: constructors (@fastify/error), factories, and WebhookError's codes. */
async function packageErrors(pkg: string): Promise<{ code: string; statusCode: number | undefined }[]> {
  const module = (await import(join(packagesDir, pkg, 'src/errors.ts'))) as Record<string, unknown>;
  const found: { code: string; statusCode: number | undefined }[] = [];
  const take = (e: unknown) => {
    const code = (e as { code?: unknown } | null)?.code;
    if (e instanceof Error && typeof code === 'string' && /^HF_[A-Z0-9_]+$/.test(code))
      found.push({ code, statusCode: (e as { statusCode?: number }).statusCode });
  };
  for (const value of Object.values(module)) {
    if (typeof value !== 'function') continue;
    let made: unknown;
    try {
      made = new (value as new (...a: unknown[]) => unknown)('detail', 'detail');
    } catch {
      try {
        made = (value as (...a: unknown[]) => unknown)('detail', 'detail');
      } catch {
        continue;
      }
    }
    take(made);
  }
  for (const code of (module.WEBHOOK_ERROR_CODES as string[] | undefined) ?? [])
    take(new (module.WebhookError as new (c: string) => Error)(code));
  return found;
}

describe('every package error', () => {
  const packages = readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, 'src/errors.ts')));

  it.each(packages)(
    '%s: has an HF_ code, an HTTP status (or is a startup error), and is in the README',
    async (pkg) => {
      const errors = await packageErrors(pkg);
      const readme = readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');
      for (const { code, statusCode } of errors) {
        if (statusCode !== undefined)
          expect(Number.isInteger(statusCode) && statusCode >= 400 && statusCode < 600, `${code} ${statusCode}`).toBe(
            true,
          );
        expect(readme, `${pkg} README lists ${code}`).toContain(`\`${code}\``);
      }
    },
  );

  it('the walk finds the errors (it is not vacuous)', async () => {
    const all = (await Promise.all(packages.map(packageErrors))).flat().map((e) => e.code);
    for (const code of [
      'HF_VAULT_DECRYPT_FAILED',
      'HF_VAULT_KEY_UNAVAILABLE',
      'HF_WEBHOOK_DUPLICATE_HEADER',
      'HF_QUOTA_EXCEEDED',
      'HF_AUDIT_UNAVAILABLE',
      'HF_AGE_GATE_BLOCKED',
      'HF_CONSENT_INVALID_BODY',
    ])
      expect(all).toContain(code);
  });

  it('the vault reports what it found, not HF_INTERNAL', async () => {
    const { app } = await testApp(database);
    const { apiKey } = await signup(app);
    const headers = { authorization: `Bearer ${apiKey}` };
    try {
      await app.inject({
        method: 'PUT',
        url: '/v1/whatsapp/sessions/s1/credentials/tampered',
        headers,
        payload: { value: 'secret-value' },
      });
      await app.inject({
        method: 'PUT',
        url: '/v1/whatsapp/sessions/s1/credentials/orphan',
        headers,
        payload: { value: 'secret-value' },
      });
      await database.db.execute(
        sql`update vault.secrets set ciphertext = set_byte(ciphertext, length(ciphertext) - 2, get_byte(ciphertext, length(ciphertext) - 2) # 1) where name = 'tampered'`,
      );
      const tampered = await app.inject({ url: '/v1/whatsapp/sessions/s1/credentials/tampered', headers });
      expect(tampered.statusCode).toBe(500);
      expect(tampered.json()).toEqual({
        statusCode: 500,
        code: 'HF_VAULT_DECRYPT_FAILED',
        error: 'Internal Server Error',
        message: 'A stored record is damaged and cannot be opened',
      });
    } finally {
      await app.close();
    }
    // The same database, another keyring: the record's KEK is gone.
    const other = await testApp(database, {
      secrets: { ...testConfig().secrets, vaultKeys: `other:${Buffer.alloc(32, 9).toString('base64')}` },
    });
    try {
      const gone = await other.app.inject({ url: '/v1/whatsapp/sessions/s1/credentials/orphan', headers });
      expect(gone.statusCode).toBe(503);
      expect(gone.json()).toMatchObject({ statusCode: 503, code: 'HF_VAULT_KEY_UNAVAILABLE' });
      expect(gone.body).not.toContain('secret-value');
    } finally {
      await other.app.close();
    }
  });
});
