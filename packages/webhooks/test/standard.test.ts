// Standard Webhooks: the specification's known-answer vector (read from shared/vectors), the
// negative matrix, rotation, and properties (round trip; any one-byte change fails; never throws).
import { vectorsFile } from '@harakaflow/testing';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSecret, signWebhook, verifyWebhook, WebhookError, assertWebhook } from '../src/index.js';
import { prepareSecret } from '../src/internals.js';

interface Known {
  secret: string;
  id: string;
  timestamp: number;
  payload: string;
  signature: string;
}
const file = vectorsFile('webhooks/known-answers.json');
const known: Known[] = file ? JSON.parse(readFileSync(file, 'utf8')).standardWebhooks : [];

// A vector of our own for the matrix, so it runs without shared/ too.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const NOW = TS * 1000;
const PAYLOAD = '{"test": 2432232314}';
const signed = () => signWebhook({ id: ID, timestamp: TS, payload: PAYLOAD, secrets: SECRET });
const verify = (
  headers: Record<string, string | string[] | undefined>,
  payload: string | Uint8Array = PAYLOAD,
  secrets: Parameters<typeof verifyWebhook>[2] = SECRET,
  now = NOW,
) => verifyWebhook(payload, headers, secrets, { now });

describe.skipIf(!file)('known-answer vectors', () => {
  it.each(known)('signs $id exactly as the reference libraries, and verifies it', (v) => {
    const headers = signWebhook({ id: v.id, timestamp: v.timestamp, payload: v.payload, secrets: v.secret });
    expect(headers['webhook-signature']).toBe(v.signature);
    expect(verifyWebhook(v.payload, headers, v.secret, { now: v.timestamp * 1000 })).toEqual({
      ok: true,
      id: v.id,
      timestamp: v.timestamp,
    });
  });

  it.each(known)('refuses $id with any one byte of the body changed', (v) => {
    const headers = { 'webhook-id': v.id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': v.signature };
    const body = Buffer.from(v.payload);
    for (let i = 0; i < body.length; i++) {
      const tampered = Buffer.from(body);
      tampered[i]! ^= 0x01;
      expect(verifyWebhook(tampered, headers, v.secret, { now: v.timestamp * 1000 })).toMatchObject({
        ok: false,
        code: 'HF_WEBHOOK_BAD_SIGNATURE',
      });
    }
  });
});

describe('verifyWebhook: the negative matrix', () => {
  it('passes the untouched delivery', () => {
    expect(verify(signed())).toEqual({ ok: true, id: ID, timestamp: TS });
  });

  it('refuses missing headers', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const headers: Record<string, string | undefined> = { ...signed(), [name]: undefined };
      expect(verify(headers)).toMatchObject({ ok: false, code: 'HF_WEBHOOK_MISSING_HEADER' });
    }
    expect(verify({})).toMatchObject({ ok: false, code: 'HF_WEBHOOK_MISSING_HEADER' });
    // A repeated header is ambiguous.
    expect(verify({ ...signed(), 'webhook-id': [ID, ID] })).toMatchObject({
      ok: false,
      code: 'HF_WEBHOOK_MISSING_HEADER',
    });
  });

  it('refuses an empty, malformed or short secret, and a wrong one', () => {
    for (const bad of ['', 'whsec_', 'whsec_not base64!', 'whsec_c2hvcnQ=', 42 as unknown as string]) {
      expect(verify(signed(), PAYLOAD, bad)).toMatchObject({ ok: false, code: 'HF_WEBHOOK_BAD_SECRET' });
    }
    expect(verify(signed(), PAYLOAD, [])).toMatchObject({ ok: false, code: 'HF_WEBHOOK_BAD_SECRET' });
    expect(verify(signed(), PAYLOAD, generateSecret())).toMatchObject({ ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
  });

  it('refuses a bare "v1,", unknown versions only, and malformed signatures', () => {
    const valid = signed()['webhook-signature'];
    const sig = valid.slice(3);
    for (const bad of [
      'v1,',
      'v1',
      '',
      ' ',
      `v2,${sig}`,
      `v1a,${sig}`,
      `V1,${sig}`,
      `v1,${sig.slice(0, -2)}`,
      `v1,${sig}AAAA`,
      `v1=${sig}`,
      `v1,${Buffer.from(sig, 'base64').toString('hex')}`,
    ]) {
      expect(verify({ ...signed(), 'webhook-signature': bad })).toMatchObject({
        ok: false,
        code: 'HF_WEBHOOK_BAD_SIGNATURE',
      });
    }
  });

  it('passes one valid signature among decoys and unknown versions', () => {
    const valid = signed()['webhook-signature'];
    const decoys = `v1,${Buffer.alloc(32, 1).toString('base64')} v2,whatever v1a,${valid.slice(3)} ${valid} v1,${Buffer.alloc(32, 2).toString('base64')}`;
    expect(verify({ ...signed(), 'webhook-signature': decoys })).toMatchObject({ ok: true });
  });

  it('checks the timestamp both ways (300 s tolerance by default)', () => {
    expect(verify(signed(), PAYLOAD, SECRET, NOW + 300_000)).toMatchObject({ ok: true });
    expect(verify(signed(), PAYLOAD, SECRET, NOW - 300_000)).toMatchObject({ ok: true });
    expect(verify(signed(), PAYLOAD, SECRET, NOW + 301_000)).toMatchObject({
      ok: false,
      code: 'HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
    });
    expect(verify(signed(), PAYLOAD, SECRET, NOW - 301_000)).toMatchObject({
      ok: false,
      code: 'HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
    });
    expect(verifyWebhook(PAYLOAD, signed(), SECRET, { now: NOW + 3_600_000, toleranceSeconds: 3600 })).toMatchObject({
      ok: true,
    });
  });

  it('parses the timestamp and id strictly', () => {
    for (const ts of ['1674087231abc', `${TS}.5`, `+${TS}`, ` ${TS}`, '-1', '1e9', '0x5f', '']) {
      expect(verify({ ...signed(), 'webhook-timestamp': ts })).toMatchObject({
        ok: false,
        code: 'HF_WEBHOOK_MISSING_HEADER',
      });
    }
    for (const id of ['msg.1', 'a.b.c', '', 'has space', 'x'.repeat(300)]) {
      expect(verify({ ...signed(), 'webhook-id': id })).toMatchObject({ ok: false, code: 'HF_WEBHOOK_MISSING_HEADER' });
    }
    // Shifting the "." between id and timestamp cannot make another message with the same MAC.
    expect(() => signWebhook({ id: 'msg.1', timestamp: TS, payload: PAYLOAD, secrets: SECRET })).toThrow(TypeError);
  });

  it('refuses a re-serialized JSON body: only the raw bytes verify', () => {
    const reserialized = JSON.stringify(JSON.parse(PAYLOAD));
    expect(reserialized).not.toBe(PAYLOAD);
    expect(verify(signed(), reserialized)).toMatchObject({ ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
  });

  it('takes a fetch Headers object too', () => {
    expect(verify(new Headers(signed()) as never)).toMatchObject({ ok: true });
  });

  it('assertWebhook throws the coded error, which quotes nothing', () => {
    expect(() => assertWebhook(PAYLOAD, { ...signed(), 'webhook-signature': 'v1,AAAA' }, SECRET, { now: NOW })).toThrow(
      WebhookError,
    );
    try {
      assertWebhook(PAYLOAD, { ...signed(), 'webhook-signature': 'v1,AAAA' }, SECRET, { now: NOW });
    } catch (error) {
      expect(error).toMatchObject({ code: 'HF_WEBHOOK_BAD_SIGNATURE', statusCode: 401 });
      expect((error as Error).message).not.toContain('AAAA');
      expect((error as Error).message).not.toContain(SECRET.slice(6));
    }
  });
});

describe('rotation', () => {
  it('signs with every secret given, and any one of them verifies', () => {
    const old = generateSecret();
    const next = generateSecret();
    const headers = signWebhook({ id: 'msg_1', timestamp: TS, payload: PAYLOAD, secrets: [next, old] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(headers, PAYLOAD, old)).toMatchObject({ ok: true });
    expect(verify(headers, PAYLOAD, next)).toMatchObject({ ok: true });
    expect(verify(headers, PAYLOAD, [generateSecret(), old])).toMatchObject({ ok: true });
    expect(verify(headers, PAYLOAD, generateSecret())).toMatchObject({ ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
  });

  it('makes 32-byte whsec_ secrets', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(prepareSecret(secret).key.symmetricKeySize).toBe(32);
  });
});

describe('properties', () => {
  const secret = generateSecret();
  it('a signed body verifies, and the same body with one byte changed does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2048 }), fc.nat(), (body, at) => {
        const headers = signWebhook({ id: 'msg_prop', timestamp: TS, payload: body, secrets: secret });
        expect(verifyWebhook(body, headers, secret, { now: NOW }).ok).toBe(true);
        const tampered = Buffer.from(body);
        tampered[at % body.length]! ^= 1 << (at % 8);
        expect(verifyWebhook(tampered, headers, secret, { now: NOW }).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary headers and bodies', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (id, ts, sig, body) => {
        const result = verifyWebhook(
          body,
          { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': sig },
          secret,
          { now: NOW },
        );
        expect(result.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
