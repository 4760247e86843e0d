// Security review M2 and M3: the delivery log's excerpt kept a secret or MAC an echoing receiver
// printed in another encoding (unpadded or URL-safe base64, hex, `whsec_` without padding, lower
// case percent escapes), and a secret cut by the 4 KiB read slid into the kept 1 KiB once the
// redactions before it had shortened the text. Now every form is derived, and any run of 16
// characters from one of them is redacted; a form cut at the read's end is dropped.
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memorySecretStore, WebhookService } from '../../src/index.js';
import { RESPONSE_EXCERPT_BYTES, responseExcerpt } from '../../src/internals.js';
import { deliveryFixture } from '../fixture.js';

const RUN = 16;

/** The encodings an echo may use of some bytes (the key, the MAC), written out here independently of the code under test. */
const encodings: Record<string, (bytes: Buffer) => string> = {
  base64: (b) => b.toString('base64'),
  'base64 without padding': (b) => b.toString('base64').replace(/=+$/, ''),
  base64url: (b) => b.toString('base64url'),
  'base64url padded': (b) => b.toString('base64url').padEnd(Math.ceil(b.length / 3) * 4, '='),
  'hex, lower case': (b) => b.toString('hex'),
  'hex, upper case': (b) => b.toString('hex').toUpperCase(),
  'JSON with \\/': (b) => b.toString('base64').replaceAll('/', '\\/'),
  'percent-encoded': (b) => encodeURIComponent(b.toString('base64')),
  'percent-encoded, lower case escapes': (b) =>
    encodeURIComponent(b.toString('base64')).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
};
/** And of the secret as a whole (a MAC has no prefix). */
const secretEncodings: Record<string, (key: Buffer) => string> = {
  whsec_: (k) => `whsec_${k.toString('base64')}`,
  'whsec_ without padding': (k) => `whsec_${k.toString('base64').replace(/=+$/, '')}`,
  'whsec_, JSON with \\/': (k) => `whsec_${k.toString('base64')}`.replaceAll('/', '\\/'),
  'whsec_, percent-encoded, lower case escapes': (k) =>
    encodeURIComponent(`whsec_${k.toString('base64')}`).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
};
/** Every form of the request's key and MAC, named. */
const allForms = (key: Buffer, mac: Buffer): [string, string][] => [
  ...Object.entries(encodings).flatMap(([name, encode]): [string, string][] => [
    [`secret ${name}`, encode(key)],
    [`MAC ${name}`, encode(mac)],
  ]),
  ...Object.entries(secretEncodings).map(([name, encode]): [string, string] => [`secret ${name}`, encode(key)]),
];

/** Every 16-character piece of `text`. */
const pieces = (text: string) =>
  Array.from({ length: Math.max(0, text.length - RUN + 1) }, (_, i) => text.slice(i, i + RUN));
/** Does `excerpt` keep any 16-character piece of `form`? Hex is compared without case. */
function keeps(excerpt: string | null, form: string): string | undefined {
  if (!excerpt) return undefined;
  const hex = /^[0-9a-f]+$/i.test(form);
  const haystack = hex ? excerpt.toLowerCase() : excerpt;
  return pieces(hex ? form.toLowerCase() : form).find((p) => haystack.includes(p));
}

/** A key and a MAC, with what the dispatcher hands the excerpt (the secret, the signature header's MAC). */
function request() {
  const key = randomBytes(32);
  const mac = randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  return { key, mac, secret, redact: [secret, mac.toString('base64')] };
}

describe('the excerpt redacts every form of the secret and the MAC', () => {
  it('in each encoding, whole, and where it is cut', () => {
    const r = request();
    for (const [name, form] of allForms(r.key, r.mac)) {
      const middle = form.slice(5, 5 + RUN + 3);
      const body = `{"echo":"${form}","again":"x${form}y","middle":"${middle}","end":"${form.slice(0, -1)}"}`;
      const excerpt = responseExcerpt(Buffer.from(body), r.redact);
      expect(keeps(excerpt, form), `${name}: ${excerpt}`).toBeUndefined();
      expect(excerpt, name).toContain('"again":"x[redacted]y"');
    }
  });

  it('never keeps a form, or a piece of 16 characters of one, wherever the answer puts it (property)', () => {
    const r = request();
    const forms = allForms(r.key, r.mac).map(([, form]) => form);
    // A form, a piece of it (16 characters or more), hex in any mix of cases.
    const embedded = fc
      .tuple(fc.constantFrom(...forms), fc.nat(), fc.nat(), fc.array(fc.boolean(), { minLength: 128, maxLength: 128 }))
      .map(([form, a, b, upper]) => {
        const start = a % (form.length - RUN + 1);
        const piece = form.slice(start, start + RUN + (b % (form.length - start - RUN + 1)));
        return /^[0-9a-f]+$/.test(piece) ? [...piece].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('') : piece;
      });
    const filler = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(
      fc.property(fc.array(fc.tuple(filler, embedded), { minLength: 1, maxLength: 6 }), filler, (parts, tail) => {
        const body = parts.map(([f, e]) => f + e).join('') + tail;
        const excerpt = responseExcerpt(Buffer.from(body), r.redact);
        if (excerpt !== null && Buffer.byteLength(excerpt) > RESPONSE_EXCERPT_BYTES) return false;
        return parts.every(([, e]) => keeps(excerpt, e) === undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('drops a form cut by the 4 KiB read, however short the part before the cut', () => {
    const r = request();
    for (const kept of [1, 5, 15, 16, 49]) {
      // 91 MACs (4,004 characters) that redaction shrinks, then the secret cut `kept` characters in.
      const head = r.mac.toString('base64').repeat(91);
      const body = Buffer.from(`${head}${'.'.repeat(4096 - head.length - kept)}${r.secret}${'.'.repeat(100)}`);
      const excerpt = responseExcerpt(body, r.redact)!;
      expect(excerpt.length, String(kept)).toBeLessThan(1024);
      expect(excerpt.endsWith('.'), `${kept}: ${excerpt.slice(-60)}`).toBe(true);
    }
  });
});

// The reviewer's construction, through the dispatcher and the 4 KiB read of a real answer.
const fixture = deliveryFixture();

describe('an answer with the secret where the read cuts it', () => {
  it('keeps no piece of the secret in the log when the read cuts its final "="', async () => {
    const s = new WebhookService({
      db: fixture.db.db,
      secrets: memorySecretStore(),
      policy: { allowHttp: true, allowPrivate: true },
      eventTypes: ['message.accepted'],
    });
    const { secret } = await s.create('acct-1', { url: fixture.receiver.url, events: ['*'] });
    fixture.receiver.answer((req) => {
      const mac = String(req.headers['webhook-signature']).slice(3);
      // 91 copies of the MAC (4,004 bytes), filler, then the secret: byte 4,096 is its final '='.
      const head = mac.repeat(91);
      return {
        status: 500,
        body: `${head}${'-'.repeat(4096 - head.length - secret.length + 1)}${secret} and more after it`,
      };
    });
    await s.emit('acct-1', 'message.accepted', {});
    await s.dispatch();
    expect(fixture.receiver.received).toHaveLength(1);
    const rows = (await fixture.db.db.execute(sql`select response_excerpt from webhooks.attempts`)) as unknown as
      { response_excerpt: string }[] | { rows: { response_excerpt: string }[] };
    const [row] = Array.isArray(rows) ? rows : rows.rows;
    const excerpt = row!.response_excerpt;
    // The MACs went first: the secret's place is inside the kept 1 KiB.
    expect(excerpt.startsWith('[redacted]')).toBe(true);
    expect(excerpt.length).toBeLessThan(1024);
    expect(keeps(excerpt, secret), excerpt).toBeUndefined();
    expect(excerpt).not.toContain(secret.slice(0, 8));
  });
});
