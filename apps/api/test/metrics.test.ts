// Issue 28 item 5: Prometheus text at GET /metrics on METRICS_PORT, a listener of its own. Each
// family is moved by what moves it in the running app, then scraped over HTTP; no label carries an
// account id, an IP, an email or a token.
import { metricsBound } from '@harakaflow/core';
import { buildApp, parseConfig } from '@harakaflow/api';
import { captureLogs, startSmtp, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, startReceiver, testApp, testConfig } from './helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
beforeAll(async () => {
  smtp = await startSmtp();
  database = await testDatabase();
  ({ app } = await testApp(database, { metricsPort: 0, smtpUrl: smtp.url, quotaAnonRpm: 20, quotaBanAfter: 2 }));
});
afterAll(async () => {
  await app?.close();
  await smtp?.close();
  await database?.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const metricsUrl = (path = '/metrics') => `http://127.0.0.1:${app.metricsEndpoint!.address()!.port}${path}`;
async function scrape(): Promise<string> {
  const response = await fetch(metricsUrl());
  expect(response.status).toBe(200);
  return response.text();
}

/** The sum of a metric's samples whose labels include `labels` (undefined when none). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}
const moved = async (name: string, labels: Record<string, string>, before: string, by = 1) => {
  let last = '';
  await until(
    async () => (value((last = await scrape()), name, labels) ?? 0) - (value(before, name, labels) ?? 0) >= by,
  );
  return last;
};

describe('the listener', () => {
  it('serves /metrics on METRICS_PORT only: 404 on the API port, the one error shape for anything else', async () => {
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(404);
    const response = await fetch(metricsUrl());
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await response.text()).toMatch(/^# HELP harakaflow_/m);
    const other = await fetch(metricsUrl('/health'));
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ statusCode: 404, code: 'HF_NOT_FOUND' });
    const post = await fetch(metricsUrl(), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('is not served, and nothing is bound, when METRICS_PORT is unset; closes with the app', async () => {
    const { app: plain } = await testApp(database);
    try {
      expect(plain.metricsEndpoint).toBeNull();
      expect(metricsBound(plain)).toBe(false);
    } finally {
      await plain.close();
    }
    const { app: other } = await testApp(database, { metricsPort: 0 });
    const { port } = other.metricsEndpoint!.address()!;
    expect(port).not.toBe(app.metricsEndpoint!.address()!.port);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    await other.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it("refuses a METRICS_PORT that is not a port or is the API's, and stops startup when it cannot listen", async () => {
    expect(() => parseConfig({ NODE_ENV: 'test', METRICS_PORT: 'x' })).toThrow(
      /METRICS_PORT must be an integer from 0 to 65535/,
    );
    expect(() => parseConfig({ NODE_ENV: 'test', PORT: '9100', METRICS_PORT: '9100' })).toThrow(
      /METRICS_PORT must differ from PORT/,
    );
    expect(parseConfig({ NODE_ENV: 'test' }).metricsPort).toBeUndefined();
    const taken = await buildApp(testConfig({ metricsPort: app.metricsEndpoint!.address()!.port }), {
      database,
      logStream: captureLogs().stream,
    });
    try {
      await expect(taken.ready()).rejects.toMatchObject({
        code: 'HF_METRICS_LISTEN_FAILED',
        message: expect.stringContaining('METRICS_PORT'),
      });
    } finally {
      await taken.close();
    }
  });
});

describe('the families', () => {
  it('requests: by route pattern, method and status, with the latency histogram; a request no route matched is "unmatched"', async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++)
      expect((await app.inject({ url: '/v1/ping', remoteAddress: '192.0.2.11' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/nothing/here', remoteAddress: '192.0.2.11' })).statusCode).toBe(404);
    const after = await scrape();
    const ping = { route: '/v1/ping', method: 'GET', status: '200' };
    const count = (text: string, labels: Record<string, string>) =>
      value(text, 'harakaflow_http_request_duration_seconds_count', labels) ?? 0;
    expect(count(after, ping) - count(before, ping)).toBe(3);
    expect(
      count(after, { route: 'unmatched', method: 'GET', status: '404' }) -
        count(before, { route: 'unmatched', method: 'GET', status: '404' }),
    ).toBe(1);
    expect(value(after, 'harakaflow_http_request_duration_seconds_bucket', { ...ping, le: '+Inf' })).toBe(
      count(after, ping),
    );
    expect(value(after, 'harakaflow_http_request_duration_seconds_sum', ping)).toBeGreaterThan(0);
  });

  it('audit: write failures, the backlog while Postgres refuses, and the backlog drained after', async () => {
    const before = await scrape();
    await database.db.execute(sql`alter table audit.events rename to events_away`);
    let during: string;
    try {
      for (let i = 0; i < 3; i++) await app.inject({ url: '/v1/ping', remoteAddress: '192.0.2.12' });
      during = await moved('harakaflow_audit_write_failures_total', {}, before);
      expect(value(during, 'harakaflow_audit_backlog_events')).toBeGreaterThan(0);
      expect(value(during, 'harakaflow_audit_oldest_pending_seconds')).toBeGreaterThan(0);
    } finally {
      await database.db.execute(sql`alter table audit.events_away rename to events`);
    }
    await until(async () => value(await scrape(), 'harakaflow_audit_backlog_events') === 0);
    // Moved only by an outage longer than the memory bound (the audit package's own tests spill and drop).
    expect(value(during, 'harakaflow_audit_spilled_bytes')).toBeGreaterThanOrEqual(0);
    expect(value(during, 'harakaflow_audit_dropped_events_total')).toBeGreaterThanOrEqual(0);
  });

  it('quota: refusals and bans by limit, and the banned client refused', async () => {
    const before = await scrape();
    const ip = '192.0.2.13';
    let refused;
    for (let i = 0; i < 22; i++) {
      const r = await app.inject({ url: '/v1/ping', remoteAddress: ip });
      if (r.statusCode === 429) refused = r.json() as { message: string };
    }
    const limit = /the ([a-z0-9_.-]+) limit/.exec(refused!.message)![1]!;
    expect((await app.inject({ url: '/v1/ping', remoteAddress: ip })).statusCode).toBe(403);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(delta('harakaflow_quota_refusals_total', { limit })).toBe(2);
    expect(delta('harakaflow_quota_bans_total', { limit })).toBe(1);
    expect(delta('harakaflow_quota_banned_refusals_total')).toBe(1);
    // Memory store here: it does not fail (quota's own tests fail a Redis store).
    expect(value(after, 'harakaflow_quota_store_failures_total')).toBeUndefined();
  });

  it('webhooks: a delivery the endpoint refuses is retried: pending, its age, the attempt by outcome', async () => {
    const receiver = await startReceiver(500);
    try {
      const { account, apiKey } = await signup(app, {}, '192.0.2.14');
      const created = await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(apiKey),
        payload: { url: receiver.url, events: ['quota.warning'] },
        remoteAddress: '192.0.2.14',
      });
      expect(created.statusCode).toBe(201);
      const before = await scrape();
      await app.webhooks.emit(account.id, 'quota.warning', {
        quota: 'free.minute',
        threshold: 0.8,
        used: 48,
        limit: 60,
      });
      const after = await moved('harakaflow_webhook_attempts_total', { outcome: 'retry' }, before);
      await until(async () => (value(await scrape(), 'harakaflow_webhook_deliveries_pending') ?? 0) >= 1);
      expect(value(after, 'harakaflow_webhook_oldest_pending_seconds')).toBeGreaterThanOrEqual(0);
      await until(async () => (value(await scrape(), 'harakaflow_webhook_oldest_pending_seconds') ?? 0) > 0);
      expect(value(after, 'harakaflow_webhook_deliveries_failed')).toBe(0);
    } finally {
      receiver.close();
    }
  });

  it('notify: a permanent refusal (failed, the address bouncing) and a temporary one (pending)', async () => {
    const a = await signup(app, {}, '192.0.2.15');
    const b = await signup(app, {}, '192.0.2.15');
    // Their verification codes sent first; then a kind that goes to an address not verified yet (a
    // quota warning would wait for it, issue 30 item 6).
    await until(async () => (await app.notify.counts()).pending === 0);
    const before = await scrape();
    smtp.answers.push(550, 451);
    const data = {
      version: 'metrics-test',
      effectiveDate: '2027-01-01',
      policyUrl: 'https://api.harakaflow.test/privacy',
    };
    await app.notify.enqueue({ kind: 'policy.upcoming', accountId: a.account.id, data });
    await app.notify.enqueue({ kind: 'policy.upcoming', accountId: b.account.id, data });
    const after = await moved('harakaflow_notify_outbox_failed', {}, before);
    const delta = (name: string) => (value(after, name) ?? 0) - (value(before, name) ?? 0);
    expect(delta('harakaflow_notify_addresses_bouncing')).toBe(1);
    await until(async () => {
      const now = await scrape();
      return (
        (value(now, 'harakaflow_notify_outbox_pending') ?? 0) >= 1 &&
        (value(now, 'harakaflow_notify_oldest_pending_seconds') ?? 0) > 0
      );
    });
  });

  it('retention: rows purged per class and the last run', async () => {
    const started = Date.now() / 1000;
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    for (let i = 0; i < 2; i++) {
      await database.db.execute(
        sql`insert into notify.outbox (id, kind, account_id, address, data, status, attempts, next_attempt_at, created_at, settled_at) values (${randomUUID()}, 'quota.warning', ${null}, ${null}, ${'{}'}::jsonb, 'sent', 1, ${old}::timestamptz, ${old}::timestamptz, ${old}::timestamptz)`,
      );
    }
    const before = await scrape();
    const run = await app.retention.runner.run();
    expect(run.classes.find((c) => c.name === 'notifications')?.rows).toBe(2);
    let after = '';
    await until(
      async () =>
        (value((after = await scrape()), 'harakaflow_retention_last_run_timestamp_seconds', { status: 'done' }) ?? 0) >=
        Math.floor(started),
    );
    expect(
      (value(after, 'harakaflow_retention_rows_purged_total', { class: 'notifications' }) ?? 0) -
        (value(before, 'harakaflow_retention_rows_purged_total', { class: 'notifications' }) ?? 0),
    ).toBe(2);
  });

  it('data rights: open and overdue by kind, and the time to fulfil when fulfilled', async () => {
    const { apiKey } = await signup(app, {}, '192.0.2.16');
    const before = await scrape();
    const filed = await app.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(apiKey),
      payload: { kind: 'objection', details: 'no marketing' },
      remoteAddress: '192.0.2.16',
    });
    expect(filed.statusCode).toBe(202);
    const id = (filed.json() as { id: string }).id;
    const kind = { kind: 'objection' };
    await moved('harakaflow_data_rights_requests_open', kind, before);
    // Its 30 days have passed (the clock, moved in the row).
    await database.db.execute(sql`update data_rights.requests set due_at = now() - interval '1 day' where id = ${id}`);
    await moved('harakaflow_data_rights_requests_overdue', kind, before);
    const fulfilled = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${id}/fulfil`,
      headers: bearer(ADMIN_KEY),
      payload: { note: 'handled' },
    });
    expect(fulfilled.statusCode).toBe(200);
    const after = await moved('harakaflow_data_rights_time_to_fulfil_seconds_count', kind, before);
    expect(
      value(after, 'harakaflow_data_rights_time_to_fulfil_seconds_bucket', { ...kind, le: '3600' }),
    ).toBeGreaterThanOrEqual(1);
    await until(
      async () =>
        (value(await scrape(), 'harakaflow_data_rights_requests_open', kind) ?? 0) ===
        (value(before, 'harakaflow_data_rights_requests_open', kind) ?? 0),
    );
  });

  it('vault: a record that does not open is counted by its code', async () => {
    const { account, apiKey } = await signup(app, {}, '192.0.2.17');
    const url = '/v1/whatsapp/sessions/wa-1/credentials/creds';
    expect(
      (
        await app.inject({
          method: 'PUT',
          url,
          headers: bearer(apiKey),
          payload: { value: { noise: 'key' } },
          remoteAddress: '192.0.2.17',
        })
      ).statusCode,
    ).toBe(200);
    await database.db.execute(
      sql`update vault.secrets set ciphertext = decode('00', 'hex') where account_id = ${account.id}`,
    );
    const before = await scrape();
    const read = await app.inject({ url, headers: bearer(apiKey), remoteAddress: '192.0.2.17' });
    expect(read.json()).toMatchObject({ code: 'HF_VAULT_DECRYPT_FAILED' });
    const after = await scrape();
    const code = { code: 'HF_VAULT_DECRYPT_FAILED' };
    expect(
      (value(after, 'harakaflow_vault_decryption_failures_total', code) ?? 0) -
        (value(before, 'harakaflow_vault_decryption_failures_total', code) ?? 0),
    ).toBe(1);
  });

  it('database pool: its size, and the statements in flight', async () => {
    const render = () => app.metricsEndpoint!.render();
    const size = value(await render(), 'harakaflow_db_pool_size');
    expect(size).toBe(database.driver === 'pglite' ? 1 : 5);
    // Two transactions held open (on PGlite's one connection the second waits for the first).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const transactions = [0, 1].map(() =>
      database.db.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        entered();
        await gate;
      }),
    );
    await inside;
    const inFlight = value(await scrape(), 'harakaflow_db_operations_in_flight')!;
    release();
    await Promise.all(transactions);
    expect(inFlight).toBeGreaterThanOrEqual(2);
    await until(async () => value(await scrape(), 'harakaflow_db_operations_in_flight')! <= inFlight - 2);
  });
});

describe('labels', () => {
  it('carry route patterns and fixed values: never an account id, an IP, an email or a token', async () => {
    const ip = '198.51.100.77';
    const { account, apiKey } = await signup(app, {}, ip);
    const token = `tok_${randomUUID().replace(/-/g, '')}`;
    for (const url of [
      `/v1/privacy/exports/${token}`,
      `/v1/accounts/${account.id}`,
      `/v1/${encodeURIComponent(account.email)}`,
      `/v1/ping?key=${apiKey}`,
      `/${ip}/${token}`,
    ]) {
      await app.inject({ url, headers: bearer(apiKey), remoteAddress: ip });
    }
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: bearer(apiKey),
      payload: { url: `https://${token}.example.com/`, events: ['*'] },
      remoteAddress: ip,
    });
    const text = await scrape();
    for (const secret of [account.id, account.email, encodeURIComponent(account.email), apiKey, token, ip])
      expect(text).not.toContain(secret);
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || !line.includes('{')) continue;
      for (const [, name, v] of line.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
        expect(v, line).not.toMatch(/@|\d+\.\d+\.\d+\.\d+|[0-9a-f]{8}-[0-9a-f]{4}-|hf_live_/);
        if (name === 'route' && v !== 'unmatched')
          expect(app.hasRoute({ url: v!, method: /method="([A-Z]+)"/.exec(line)![1]! as 'GET' }), line).toBe(true);
      }
    }
  });
});
