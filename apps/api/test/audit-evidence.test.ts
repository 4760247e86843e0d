// Issue 33 items 1 to 3 on the reference app: the audit log's latest signed tree head served to
// anyone (GET /v1/audit/checkpoint) and checkable with the served keys; an event's inclusion proof
// (GET /v1/audit/events/:id/proof) for the admin or the account it is about, checked by an outsider
// (@harakaflow/testing's RFC 6962 verifier and the JWK alone); witnesses registered by the admin
// receive the signed heads through the webhook outbox, signed, and a head a witness kept verifies
// the log.
import { openCheckpoint, parseVerifierKeys } from '@harakaflow/audit';
import {
  outsiderVerifies,
  standardWebhookVerifies,
  startReceiver,
  testDatabase,
  until,
  type TestDatabase,
} from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, AUDIT_LOG_ORIGIN, signup, testApp } from './helpers.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);

let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});

const servedKeys = async () =>
  parseVerifierKeys((await app.inject({ url: '/.well-known/harakaflow-audit-keys.txt' })).body);
const servedPublicKey = async () => {
  const jwk = (await app.inject({ url: '/.well-known/harakaflow-audit-keys.json' })).json().keys[0];
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
};

describe('the signed tree head and inclusion proofs', () => {
  it('GET /v1/audit/checkpoint serves the latest signed head to anyone, checkable with the served verifier keys', async () => {
    await signup(app);
    await app.audit.tree.integrate();
    const res = await app.inject({ url: '/v1/audit/checkpoint' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const head = openCheckpoint(res.body, await servedKeys());
    expect(head.origin).toBe(AUDIT_LOG_ORIGIN);
    expect(head.size).toBe((await app.audit.tree.head())!.noteSize);
    expect(head.size).toBeGreaterThan(0);
  });

  it("proves an account's own event to it and to the admin (an outsider checks it with the JWK alone); another account's, an unknown id and no key are refused", async () => {
    const a = await signup(app);
    const b = await signup(app);
    expect((await app.inject({ url: '/v1/me', headers: bearer(a.apiKey) })).statusCode).toBe(200);
    await app.audit.flush();
    const own = (await app.inject({ url: '/v1/audit/events?limit=5', headers: bearer(a.apiKey) })).json().events as {
      id: string;
      subjectId: string;
    }[];
    expect(own.length).toBeGreaterThan(0);
    const id = own[0]!.id;
    // Not yet in a signed head: the route runs the integrator once, then answers.
    const mine = await app.inject({ url: `/v1/audit/events/${id}/proof`, headers: bearer(a.apiKey) });
    expect(mine.statusCode, mine.body).toBe(200);
    const publicKey = await servedPublicKey();
    expect(outsiderVerifies(mine.json(), publicKey)).toBe(true);
    const byAdmin = await app.inject({ url: `/v1/audit/events/${id}/proof`, headers: admin });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json().leafHash).toBe(mine.json().leafHash);
    expect(outsiderVerifies(byAdmin.json(), publicKey)).toBe(true);

    const theirs = await app.inject({ url: `/v1/audit/events/${id}/proof`, headers: bearer(b.apiKey) });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json()).toMatchObject({ code: 'HF_AUDIT_EVENT_NOT_FOUND' });
    const unknown = await app.inject({
      url: '/v1/audit/events/0190f1c2-0000-7000-8000-000000000000/proof',
      headers: admin,
    });
    expect(unknown.json()).toMatchObject({ statusCode: 404, code: 'HF_AUDIT_EVENT_NOT_FOUND' });
    expect((await app.inject({ url: '/v1/audit/events/not-a-uuid/proof', headers: admin })).statusCode).toBe(400);
    expect((await app.inject({ url: `/v1/audit/events/${id}/proof` })).statusCode).toBe(401);
  });
});

describe('witnesses', () => {
  it('receive each signed head through the outbox, signed; the head a witness kept verifies the log on public keys alone', async () => {
    const receiver = await startReceiver(204);
    try {
      const { apiKey } = await signup(app);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/audit/witnesses',
            headers: bearer(apiKey),
            payload: { url: receiver.url },
          })
        ).statusCode,
      ).toBe(403);
      const created = await app.inject({
        method: 'POST',
        url: '/v1/audit/witnesses',
        headers: admin,
        payload: { url: receiver.url },
      });
      expect(created.statusCode, created.body).toBe(201);
      const { witness, secret } = created.json() as { witness: { id: string; events: string[] }; secret: string };
      expect(secret).toMatch(/^whsec_/);
      expect(witness.events).toEqual(['audit.checkpoint']);
      expect(
        (await app.inject({ url: '/v1/audit/witnesses', headers: admin }))
          .json()
          .witnesses.map((w: { id: string }) => w.id),
      ).toEqual([witness.id]);
      expect(JSON.stringify((await app.inject({ url: '/v1/audit/witnesses', headers: admin })).json())).not.toContain(
        secret,
      );
      // No account sees the witness among its webhook endpoints.
      expect((await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(apiKey) })).json().endpoints).toEqual(
        [],
      );

      // The current head went at registration; it arrives signed.
      await until(async () => (await app.webhooks.dispatch()) >= 0 && receiver.received.length > 0);
      const delivery = receiver.received[0]!;
      expect(standardWebhookVerifies(secret, delivery.headers as Record<string, string>, delivery.body)).toBe(true);
      const sent = JSON.parse(delivery.body) as {
        type: string;
        data: { treeSize: number; rootHash: string; checkpoint: string };
      };
      expect(sent.type).toBe('audit.checkpoint');
      const keys = await servedKeys();
      const kept = openCheckpoint(sent.data.checkpoint, keys);
      expect(kept).toMatchObject({ size: sent.data.treeSize });
      expect(kept.root.toString('base64')).toBe(sent.data.rootHash);

      // The log grows; the witness's head still verifies it, with public keys alone.
      expect((await app.inject({ url: '/v1/me', headers: bearer(apiKey) })).statusCode).toBe(200);
      await app.audit.tree.integrate();
      const checked = await app.audit.verify({
        openHead: (note: string) => openCheckpoint(note, keys),
        witness: sent.data.checkpoint,
      });
      expect(checked.problems).toEqual([]);
      expect(checked.tree!.witness).toEqual({ size: kept.size, consistent: true });
      expect(checked.tree!.size).toBeGreaterThan(kept.size);

      expect(
        (await app.inject({ method: 'DELETE', url: `/v1/audit/witnesses/${witness.id}`, headers: admin })).statusCode,
      ).toBe(204);
      expect(
        (await app.inject({ method: 'DELETE', url: `/v1/audit/witnesses/${witness.id}`, headers: admin })).json(),
      ).toMatchObject({ code: 'HF_WEBHOOK_ENDPOINT_NOT_FOUND' });
    } finally {
      receiver.close();
    }
  });
});
