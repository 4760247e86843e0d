// Issue 29 item 4: the per-request reading of the consent cookie was cut down (markers built once,
// legacy names looked up in the parsed cookies, a cache slot instead of a `name=value` key). These
// check that it still answers exactly what the plain definitions answer.
import cookie from '@fastify/cookie';
import { CookieMarker, decisionReader, hasCookie } from '../src/cookie-reader.js';
import {
  decisionFromRequest,
  decodeDecision,
  encodeDecision,
  prepareSecrets,
  VerifiedCookies,
  type ConsentDecision,
} from '@harakaflow/consent/internals';
import fc from 'fast-check';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

const SECRET = 'first-secret-0123456789abcdef0123456789';
const NOW = 1_780_000_000;
const keys = prepareSecrets([SECRET]);
const decision = (decidedAt: number, categories: string[] = []): ConsentDecision => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  categories,
  version: 'v1',
  decidedAt,
  expiresAt: NOW + 86_400,
  source: 'user',
  gpc: false,
});

// The definitions the markers replace, as they were written before.
const hasCookieBefore = (header: string, name: string) => {
  const marker = `${name}=`;
  return header.startsWith(marker) || header.includes(`; ${marker}`) || header.includes(`;${marker}`);
};
const atMostOnceBefore = (header: string, name: string) =>
  header.indexOf(`${name}=`) === header.lastIndexOf(`${name}=`);

// Headers made of the pieces that matter: the names, one a suffix of the other, "=", ";" and spaces.
const piece = fc.constantFrom('hf_consent', '__Host-hf_consent', 'x', '=', ';', ' ', 'v', '__Host-', 'hf_consent=');
const header = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));

describe('CookieMarker', () => {
  it('finds a cookie of its own exactly where the three substring searches did', () => {
    fc.assert(
      fc.property(header, fc.constantFrom('hf_consent', '__Host-hf_consent', 'x'), (h, name) => {
        expect(new CookieMarker(name).present(h)).toBe(hasCookieBefore(h, name));
        expect(hasCookie(h, name)).toBe(hasCookieBefore(h, name));
      }),
      { numRuns: 2000 },
    );
  });

  it('tells a single occurrence as indexOf === lastIndexOf did', () => {
    fc.assert(
      fc.property(header, fc.constantFrom('hf_consent', '__Host-hf_consent'), (h, name) => {
        expect(new CookieMarker(name).atMostOnce(h)).toBe(atMostOnceBefore(h, name));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('VerifiedCookies', () => {
  const valid = [0, 1, 2, 3].map((i) => encodeDecision(decision(NOW - i), 'hf_consent', SECRET));
  const dot = valid[0]!.lastIndexOf('.');
  // Forgeries that end like a genuine value (the same signature, so the same cache slot).
  const sameSlot = [
    valid[1]!.slice(0, dot).replace('~v1~', '~v2~') + valid[1]!.slice(dot),
    valid[2]!.slice(0, 5) + 'B' + valid[2]!.slice(6),
    'x' + valid[3]!,
  ];

  it('refuses a forgery in the slot of a cached value, and keeps the cached one', () => {
    const cache = new VerifiedCookies();
    expect(cache.decode(valid[1]!, 'hf_consent', keys, NOW)).not.toBeNull();
    expect(cache.decode(sameSlot[0]!, 'hf_consent', keys, NOW)).toBeNull();
    // Still cached: a hit needs no secret.
    expect(cache.decode(valid[1]!, 'hf_consent', [], NOW)?.decision.decidedAt).toBe(NOW - 1);
    expect(cache.size).toBe(1);
  });

  it('never takes a value verified under one name as verified under another', () => {
    const cache = new VerifiedCookies();
    expect(cache.decode(valid[0]!, 'hf_consent', keys, NOW)).not.toBeNull();
    expect(cache.decode(valid[0]!, '__Host-hf_consent', keys, NOW)).toBeNull();
    expect(cache.decode(valid[0]!, '__Host-hf_consent', [], NOW)).toBeNull();
  });

  it('answers what decodeDecision answers, whatever the sequence, within its capacity', () => {
    const value = fc.constantFrom(...valid, ...sameSlot, valid[0]!.slice(0, -1), 'abc', '');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(value, fc.constantFrom('hf_consent', 'other'), fc.constantFrom(0, 0, 0, 1, 43_200)), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 3 }),
        (steps, capacity) => {
          const cache = new VerifiedCookies(capacity);
          let now = NOW;
          for (const [v, name, later] of steps) {
            now += later; // time only moves on, past the values' expiry at times
            expect(cache.decode(v, name, keys, now)).toEqual(decodeDecision(v, name, keys, now));
            expect(cache.size).toBeLessThanOrEqual(capacity);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('forgets an expired value', () => {
    const cache = new VerifiedCookies();
    expect(cache.decode(valid[0]!, 'hf_consent', keys, NOW)).not.toBeNull();
    expect(cache.decode(valid[0]!, 'hf_consent', keys, NOW + 86_400)).toBeNull();
    expect(cache.size).toBe(0);
  });
});

describe('decisionReader', () => {
  it('answers what decisionFromRequest answers when given the parsed cookies of a browser-formatted header', async () => {
    const app = Fastify();
    await app.register(cookie);
    await app.ready();
    const legacy = { names: ['hf_consent'], nonEssential: ['analytics'] };
    const host = (i: number, granted: boolean) =>
      encodeDecision(decision(NOW - i, granted ? ['analytics'] : []), '__Host-hf_consent', SECRET);
    const old = (i: number, granted: boolean) =>
      encodeDecision(decision(NOW - i, granted ? ['analytics'] : []), 'hf_consent', SECRET);
    const entry = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([i, g]) => `__Host-hf_consent=${host(i, g)}`),
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([i, g]) => `hf_consent=${old(i, g)}`),
      fc.constantFrom('hf_aid=visitor', 'theme=dark', '__Host-hf_consent=forged.AAAA', 'hf_consent=', 'x=hf_consent=1'),
    );
    const reader = decisionReader('__Host-hf_consent', keys, new VerifiedCookies(), legacy);
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        const raw = entries.join('; ');
        const parsed = app.parseCookie(raw);
        expect(reader(parsed['__Host-hf_consent'], raw, NOW, parsed)).toEqual(
          decisionFromRequest(parsed['__Host-hf_consent'], raw, '__Host-hf_consent', keys, NOW, undefined, legacy),
        );
      }),
      { numRuns: 500 },
    );
    await app.close();
  });
});
