// Issue 12 item 13: several base64 spellings of one MAC verified, and a repeated
// `webhook-signature` header (joined by Node into one value) verified although the README said
// repeated headers were refused.
import Fastify from 'fastify';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import webhooks, {
  generateSecret,
  memorySecretStore,
  signWebhook,
  verifyWebhook,
  webhooksMigrations,
} from '../../src/index.js';

const SECRET = generateSecret();

/** The other spellings of a 32-byte MAC's canonical base64: the last character's two unused bits set. */
function otherSpellings(canonical: string): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = alphabet.indexOf(canonical[42]!);
  return [1, 2, 3].map((bits) => canonical.slice(0, 42) + alphabet[last | bits] + '=');
}

describe('signature parsing', () => {
  it('accepts one base64 spelling per MAC', () => {
    const body = '{"a":1}';
    const headers = signWebhook({ id: 'msg_1', timestamp: new Date(), payload: body, secrets: SECRET });
    expect(verifyWebhook(body, headers, SECRET).ok).toBe(true);
    const mac = headers['webhook-signature'].slice(3);
    for (const spelling of otherSpellings(mac)) {
      expect(Buffer.from(spelling, 'base64').equals(Buffer.from(mac, 'base64'))).toBe(true); // the same bytes
      expect(verifyWebhook(body, { ...headers, 'webhook-signature': `v1,${spelling}` }, SECRET)).toMatchObject({
        ok: false,
        code: 'HF_WEBHOOK_BAD_SIGNATURE',
      });
    }
  });

  it('refuses a joined (repeated) header in the core', () => {
    const body = '{"a":1}';
    const headers = signWebhook({ id: 'msg_2', timestamp: new Date(), payload: body, secrets: SECRET });
    const joined = { ...headers, 'webhook-signature': `v1,${'A'.repeat(42)}A=, ${headers['webhook-signature']}` };
    expect(verifyWebhook(body, joined, SECRET)).toMatchObject({ ok: false, code: 'HF_WEBHOOK_DUPLICATE_HEADER' });
    const fetchHeaders = new Headers(headers);
    fetchHeaders.append('webhook-signature', headers['webhook-signature']);
    expect(verifyWebhook(body, fetchHeaders, SECRET)).toMatchObject({ ok: false, code: 'HF_WEBHOOK_DUPLICATE_HEADER' });
  });
});

describe('the inbound plugin counts raw headers', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase({ migrations: [webhooksMigrations] });
  });
  afterAll(() => db.close());

  async function rawRequest(port: number, lines: string[], body: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
      socket.on('data', (c) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(
        [...lines, `content-length: ${Buffer.byteLength(body)}`, 'connection: close', '', body].join('\r\n'),
      );
    });
  }

  it('answers 401 HF_WEBHOOK_DUPLICATE_HEADER for a repeated signature, id or timestamp header', async () => {
    const app = Fastify();
    let handled = 0;
    await app.register(webhooks, { db: db.db, secrets: memorySecretStore(), dispatch: false, replayStore: 'memory' });
    app.post('/hook', { config: { webhook: { scheme: 'standard', secrets: [SECRET] } } }, async () => ({
      ok: ++handled,
    }));
    app.post('/meta', { config: { webhook: { scheme: 'meta', secrets: ['meta-secret'] } } }, async () => ({
      ok: ++handled,
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as { port: number }).port;
      const body = '{"a":1}';
      let n = 0;
      for (const repeated of ['webhook-signature', 'Webhook-Id', 'webhook-timestamp']) {
        const headers = signWebhook({ id: `msg_dup_${++n}`, timestamp: new Date(), payload: body, secrets: SECRET });
        const lines = [
          'POST /hook HTTP/1.1',
          'host: x',
          'content-type: application/json',
          ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        ];
        lines.push(`${repeated}: ${headers[repeated.toLowerCase() as keyof typeof headers]}`); // the same value again
        const response = await rawRequest(port, lines, body);
        expect(response, repeated).toMatch(/^HTTP\/1\.1 401/);
        expect(response, repeated).toContain('HF_WEBHOOK_DUPLICATE_HEADER');
      }
      const { hubSignature } = await import('../../src/hub.js');
      const sig = hubSignature(body, 'meta-secret');
      const meta = await rawRequest(
        port,
        [
          'POST /meta HTTP/1.1',
          'host: x',
          'content-type: application/json',
          `x-hub-signature-256: ${sig}`,
          `X-Hub-Signature-256: ${sig}`,
        ],
        body,
      );
      expect(meta).toContain('HF_WEBHOOK_DUPLICATE_HEADER');
      // Sent once, each verifies.
      const good = signWebhook({ id: 'msg_dup_ok', timestamp: new Date(), payload: body, secrets: SECRET });
      const ok = await rawRequest(
        port,
        [
          'POST /hook HTTP/1.1',
          'host: x',
          'content-type: application/json',
          ...Object.entries(good).map(([k, v]) => `${k}: ${v}`),
        ],
        body,
      );
      expect(ok).toMatch(/^HTTP\/1\.1 200/);
      expect(handled).toBe(1);
    } finally {
      await app.close();
    }
  });
});
