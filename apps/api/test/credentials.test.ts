// Policy §3 in the reference app: WhatsApp session credentials encrypted at rest, owner-only, audited.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, testApp, VAULT_KEYS } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const url = (session: string, name: string) => `/v1/whatsapp/sessions/${session}/credentials/${name}`;
const SECRET_VALUE = {
  noiseKey: { private: { type: 'Buffer', data: 'c2VjcmV0LW5vaXNlLWtleS1tYXRlcmlhbA==' } },
  token: 'session-token-do-not-leak',
};

describe('credential routes', () => {
  it('stores encrypted, reads back exactly, deletes; no plaintext in the table or the logs', async () => {
    const { app, logs } = await testApp(database);
    const { apiKey } = await signup(app);
    const auth = { authorization: `Bearer ${apiKey}` };
    const put = await app.inject({
      method: 'PUT',
      url: url('wa-1', 'creds'),
      payload: { value: SECRET_VALUE },
      headers: auth,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ name: 'creds', updatedAt: expect.any(String) });
    const got = await app.inject({ url: url('wa-1', 'creds'), headers: auth });
    expect(got.json()).toEqual({ name: 'creds', value: SECRET_VALUE, updatedAt: put.json().updatedAt });
    const table = JSON.stringify(
      await database.db.execute(sql`select *, encode(ciphertext, 'escape') as raw from vault.secrets`),
    );
    expect(table).not.toContain('session-token-do-not-leak');
    expect(table).not.toContain('c2VjcmV0');
    expect((await app.inject({ method: 'DELETE', url: url('wa-1', 'creds'), headers: auth })).statusCode).toBe(204);
    expect((await app.inject({ url: url('wa-1', 'creds'), headers: auth })).json().code).toBe('HF_VAULT_NOT_FOUND');
    const text = logs.text();
    for (const leak of ['session-token-do-not-leak', 'c2VjcmV0', VAULT_KEYS.split(':')[1]!, apiKey])
      expect(text).not.toContain(leak);
    // Each operation was audited, committed before the answer (sync), without the value.
    const audited = await database.db.execute(
      sql`select action, resource, details from audit.events where action like 'vault.secret.%' order by occurred_at`,
    );
    const rows = Array.isArray(audited) ? audited : (audited as unknown as { rows: unknown[] }).rows;
    expect(rows.map((r) => (r as { action: string }).action)).toEqual([
      'vault.secret.write',
      'vault.secret.read',
      'vault.secret.delete',
    ]);
    expect(JSON.stringify(rows)).not.toContain('session-token-do-not-leak');
    await app.close();
  });

  it('keeps each account to its own records, and the admin away from plaintext', async () => {
    const { app } = await testApp(database);
    const owner = await signup(app);
    const other = await signup(app);
    await app.inject({
      method: 'PUT',
      url: url('wa-1', 'creds'),
      payload: { value: 'mine' },
      headers: { authorization: `Bearer ${owner.apiKey}` },
    });
    const stranger = await app.inject({
      url: url('wa-1', 'creds'),
      headers: { authorization: `Bearer ${other.apiKey}` },
    });
    expect(stranger.statusCode).toBe(404);
    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: url('wa-1', 'creds'),
          headers: { authorization: `Bearer ${other.apiKey}` },
        })
      ).statusCode,
    ).toBe(404);
    const admin = await app.inject({ url: url('wa-1', 'creds'), headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(admin.statusCode).toBe(403);
    expect((await app.inject({ url: url('wa-1', 'creds') })).statusCode).toBe(401);
    expect(
      (await app.inject({ url: url('wa-1', 'creds'), headers: { authorization: `Bearer ${owner.apiKey}` } })).json()
        .value,
    ).toBe('mine');
    await app.close();
  });

  it('crypto-shreds a whole session', async () => {
    const { app } = await testApp(database);
    const { apiKey } = await signup(app);
    const auth = { authorization: `Bearer ${apiKey}` };
    for (const name of ['creds', 'pre-key-1', 'session-x'])
      await app.inject({ method: 'PUT', url: url('wa-9', name), payload: { value: name }, headers: auth });
    await app.inject({ method: 'PUT', url: url('wa-8', 'creds'), payload: { value: 'kept' }, headers: auth });
    const shred = await app.inject({ method: 'DELETE', url: '/v1/whatsapp/sessions/wa-9', headers: auth });
    expect(shred.json()).toEqual({ deleted: 3 });
    expect((await app.inject({ url: url('wa-8', 'creds'), headers: auth })).json().value).toBe('kept');
    await app.close();
  });

  it.each([
    ['no value', {}],
    ['an extra property', { value: 1, more: 2 }],
  ])('refuses a body with %s', async (_name, payload) => {
    const { app } = await testApp(database);
    const { apiKey } = await signup(app);
    const response = await app.inject({
      method: 'PUT',
      url: url('wa-1', 'creds'),
      payload,
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('HF_VALIDATION_FAILED');
    await app.close();
  });

  it('refuses a session id or name outside the allowed characters', async () => {
    const { app } = await testApp(database);
    const { apiKey } = await signup(app);
    const response = await app.inject({ url: url('wa 1', 'creds'), headers: { authorization: `Bearer ${apiKey}` } });
    expect(response.statusCode).toBe(400);
    await app.close();
  });
});
