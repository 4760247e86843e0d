import { decodeDecision, encodeDecision, MAX_COOKIE_VALUE, type ConsentDecision } from '@harakaflow/consent/internals';
import { describe, expect, it } from 'vitest';

const NAME = 'hf_consent';
const SECRET = 'first-secret-0123456789abcdef0123456789';
const OLD = 'older-secret-0123456789abcdef0123456789';
const NOW = 1_780_000_000;

const decision: ConsentDecision = {
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  categories: ['analytics'],
  version: '2026-04-20',
  decidedAt: NOW - 10,
  expiresAt: NOW + 86_400,
  source: 'user',
  gpc: false,
};

const valid = encodeDecision(decision, NAME, SECRET);
const [payload, signature] = [valid.slice(0, valid.lastIndexOf('.')), valid.slice(valid.lastIndexOf('.') + 1)];

function flipBit(text: string, index: number): string {
  const code = text.charCodeAt(index);
  // Flip the low bit, staying inside the base64url / payload alphabet where possible.
  const flipped = String.fromCharCode(code ^ 1);
  return text.slice(0, index) + flipped + text.slice(index + 1);
}

describe('consent cookie codec', () => {
  it('round-trips a decision and fits comfortably in a cookie', () => {
    expect(decodeDecision(valid, NAME, [SECRET], NOW)).toEqual({ decision, stale: false });
    expect(valid.length).toBeLessThan(120);
  });

  it.each([
    ['a flipped bit in the value', () => flipBit(payload!, 5) + '.' + signature],
    ['a flipped bit in the categories', () => payload!.replace('analytics', 'analyticr') + '.' + signature],
    ['a flipped bit in the signature', () => payload + '.' + flipBit(signature!, 10)],
    ['the signature one character short', () => valid.slice(0, -1)],
    ['characters appended to a valid cookie', () => valid + 'AA'],
    ['one character appended to a valid cookie', () => valid + 'A'],
    ['no separator', () => payload + signature!],
    ['a signature of the wrong length', () => payload + '.' + signature + signature],
    ['an empty signature', () => payload + '.'],
    ['an empty value', () => ''],
    ['only a signature', () => '.' + signature],
    ['an oversize value', () => 'x'.repeat(MAX_COOKIE_VALUE + 1)],
    ['a signature with invalid base64 characters', () => payload + '.' + signature!.slice(0, 42) + '+'],
    ['an unsigned payload', () => payload!],
  ])('refuses %s', (_name, make) => {
    expect(decodeDecision(make(), NAME, [SECRET], NOW)).toBeNull();
  });

  it('refuses a value moved to another cookie name', () => {
    expect(decodeDecision(valid, 'hf_other', [SECRET], NOW)).toBeNull();
  });

  it('refuses an expired cookie even if the browser still sends it', () => {
    expect(decodeDecision(valid, NAME, [SECRET], decision.expiresAt)).toBeNull();
    expect(decodeDecision(valid, NAME, [SECRET], decision.expiresAt - 1)).not.toBeNull();
  });

  it('accepts a cookie signed with an older secret as stale, and refuses it once that secret is removed', () => {
    const old = encodeDecision(decision, NAME, OLD);
    expect(decodeDecision(old, NAME, [SECRET, OLD], NOW)).toEqual({ decision, stale: true });
    expect(decodeDecision(old, NAME, [SECRET], NOW)).toBeNull();
  });

  it('refuses a correctly signed payload with bad fields (defence in depth)', () => {
    for (const bad of [
      { ...decision, version: 'has space' },
      { ...decision, categories: ['Bad Category'] },
      { ...decision, decidedAt: NOW + 3600 },
    ]) {
      expect(decodeDecision(encodeDecision(bad as ConsentDecision, NAME, SECRET), NAME, [SECRET], NOW)).toBeNull();
    }
  });

  it('never throws, whatever the input', () => {
    for (const input of [undefined, null, 42, {}, [], '.', '..', '~~~~~~~.', '\u0000'.repeat(50), '\uD800.x']) {
      expect(() => decodeDecision(input, NAME, [SECRET], NOW)).not.toThrow();
      expect(decodeDecision(input, NAME, [SECRET], NOW)).toBeNull();
    }
  });
});

describe('VerifiedCookies', () => {
  it('verifies a value once, then answers from memory until it expires', async () => {
    const { VerifiedCookies } = await import('@harakaflow/consent/internals');
    const cache = new VerifiedCookies(2);
    expect(cache.decode(valid, NAME, [SECRET], NOW)).toEqual({ decision, stale: false });
    // A hit does not need the secret any more: proof that no HMAC ran.
    expect(cache.decode(valid, NAME, [], NOW)).toEqual({ decision, stale: false });
    expect(cache.decode(valid, NAME, [], decision.expiresAt)).toBeNull();
    expect(cache.decode(valid, NAME, [], NOW)).toBeNull();
  });

  it('never caches a forgery, and stays within its capacity', async () => {
    const { VerifiedCookies } = await import('@harakaflow/consent/internals');
    const cache = new VerifiedCookies(2);
    expect(cache.decode(valid + 'x', NAME, [SECRET], NOW)).toBeNull();
    expect(cache.size).toBe(0);
    for (let i = 0; i < 5; i++)
      cache.decode(encodeDecision({ ...decision, decidedAt: NOW - i }, NAME, SECRET), NAME, [SECRET], NOW);
    expect(cache.size).toBe(2);
  });
});
