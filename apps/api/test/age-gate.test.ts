// Policy §8 in the reference app: signup gated before anything is stored, no birth date anywhere,
// /v1 closed to unverified subjects, and a minor's data erased in every package.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, signupBody, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const rowsOf = async (query: ReturnType<typeof sql>) => {
  const result = (await database.db.execute(query)) as unknown as unknown[] | { rows: unknown[] };
  return Array.isArray(result) ? result : result.rows;
};

/** Every row of every table of the kit's schemas, as text. */
async function dumpAll(): Promise<string> {
  const tables = (await rowsOf(
    sql`select table_schema as s, table_name as t from information_schema.tables where table_schema in ('app', 'consent', 'age_gate')`,
  )) as { s: string; t: string }[];
  let text = '';
  for (const { s, t } of tables) text += JSON.stringify(await rowsOf(sql.raw(`select * from "${s}"."${t}"`)));
  return text;
}

const childDate = () => `${new Date().getUTCFullYear() - 12}-03-14`;

describe('the signup gate', () => {
  it('refuses an under-age signup neutrally: no account row, nothing kept but the block', async () => {
    const { app } = await testApp(database);
    const body = signupBody({ dateOfBirth: childDate() });
    const response = await app.inject({ method: 'POST', url: '/v1/accounts', payload: body });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      statusCode: 403,
      code: 'HF_AGE_GATE_NOT_ELIGIBLE',
      error: 'Forbidden',
      message: 'We cannot create an account with the details provided.',
    });
    expect([response.headers['set-cookie']].flat().join()).toContain('hf_age_block=');
    expect(await rowsOf(sql`select 1 from app.accounts where email = ${body.email}`)).toHaveLength(0);

    const retry = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: signupBody({ dateOfBirth: '1980-01-01' }),
      headers: { cookie: String([response.headers['set-cookie']].flat()[0]).split(';')[0]! },
    });
    expect(retry.json()).toMatchObject({ code: 'HF_AGE_GATE_BLOCKED', message: response.json().message });
    await app.close();
  });

  it('refuses an impossible date with 400 HF_AGE_GATE_INVALID_DATE', async () => {
    const { app } = await testApp(database);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: signupBody({ dateOfBirth: '2005-02-30' }),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('HF_AGE_GATE_INVALID_DATE');
    await app.close();
  });

  it('keeps the verification, never the birth date, in any table or log line', async () => {
    const { app, logs } = await testApp(database);
    const { account } = await signup(app, { dateOfBirth: '1984-07-23' });
    await app.inject({ method: 'POST', url: '/v1/accounts', payload: signupBody({ dateOfBirth: childDate() }) });
    const [verification] = (await rowsOf(
      sql`select method, minimum_age, verified_at from age_gate.subjects where subject_id = ${account.id}`,
    )) as {
      method: string;
      minimum_age: number;
    }[];
    expect(verification).toMatchObject({ method: 'self-declared', minimum_age: 18 });
    const everything = (await dumpAll()) + logs.text();
    for (const fragment of ['1984-07-23', '1984', childDate()]) expect(everything).not.toContain(fragment);
    await app.close();
  });

  it('opens /v1 only to verified accounts and leaves signup, ping and consent open', async () => {
    const { app } = await testApp(database);
    const { apiKey } = await signup(app);
    expect((await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } })).statusCode).toBe(200);
    for (const url of ['/v1/ping', '/v1/consent', '/health', '/docs/json'])
      expect((await app.inject(url)).statusCode).toBe(200);
    // An account with no verification record (made before the gate, or by another path) is refused.
    await database.db.execute(sql`delete from age_gate.subjects`);
    const again = await testApp(database);
    const refused = await again.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } });
    expect(refused.json().code).toBe('HF_AGE_GATE_REQUIRED');
    await Promise.all([app.close(), again.app.close()]);
  });
});

describe('POST /v1/admin/accounts/:id/minor', () => {
  it('is the admin principal’s only, and 404s an unknown account', async () => {
    const { app } = await testApp(database);
    const { account, apiKey } = await signup(app);
    const url = `/v1/admin/accounts/${account.id}/minor`;
    expect((await app.inject({ method: 'POST', url })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${apiKey}` } })).statusCode).toBe(
      403,
    );
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/admin/accounts/00000000-0000-4000-8000-000000000000/minor',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('HF_ACCOUNT_NOT_FOUND');
    await app.close();
  });

  it('kills the keys at once and erases the account, its consent ledger and its verification', async () => {
    const { app } = await testApp(database);
    const { account, apiKey } = await signup(app);
    const auth = { authorization: `Bearer ${apiKey}` };
    expect(
      (await app.inject({ method: 'PUT', url: '/v1/consent', payload: { analytics: false }, headers: auth }))
        .statusCode,
    ).toBe(200);
    expect(await rowsOf(sql`select 1 from consent.records where subject_id = ${account.id}`)).toHaveLength(1);
    expect(
      (
        await app.inject({
          method: 'PUT',
          url: '/v1/whatsapp/sessions/wa-1/credentials/creds',
          payload: { value: { k: 'v' } },
          headers: auth,
        })
      ).statusCode,
    ).toBe(200);

    const report = await app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${account.id}/minor`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { reason: 'parent wrote to privacy@' },
    });
    expect(report.statusCode).toBe(200);
    expect(report.json()).toMatchObject({
      subjectId: account.id,
      status: 'done',
      counts: { app: 1, consent: 1, age_gate: 1, vault: 1 },
    });

    expect((await app.inject({ url: '/v1/me', headers: auth })).statusCode).toBe(401);
    expect(await rowsOf(sql`select 1 from app.accounts where id = ${account.id}`)).toHaveLength(0);
    expect(await rowsOf(sql`select 1 from app.api_keys where account_id = ${account.id}`)).toHaveLength(0);
    expect(await rowsOf(sql`select 1 from consent.records where subject_id = ${account.id}`)).toHaveLength(0);
    expect(await rowsOf(sql`select 1 from vault.secrets where account_id = ${account.id}`)).toHaveLength(0);
    expect(JSON.stringify(await dumpAll())).not.toContain(account.email);

    // Idempotent: a second report answers with the same record.
    const again = await app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${account.id}/minor`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(again.json()).toEqual(report.json());
    await app.close();
  });

  it('with a delay, answers 403 HF_AGE_GATE_RESTRICTED until the erasure runs', async () => {
    const { app } = await testApp(database, { minorErasureDelayMs: 3_600_000 });
    const { account, apiKey } = await signup(app);
    const report = await app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${account.id}/minor`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(report.json()).toMatchObject({ status: 'pending', counts: null });
    for (const url of ['/v1/me', '/v1/ping']) {
      const response = await app.inject({ url, headers: { authorization: `Bearer ${apiKey}` } });
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('HF_AGE_GATE_RESTRICTED');
    }
    await app.close();
  });
});
