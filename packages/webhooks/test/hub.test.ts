// X-Hub-Signature-256: GitHub's documented example and Wycheproof's HMAC-SHA256 vectors
// (C2SP/wycheproof, Apache-2.0), read from shared/vectors.
import { vectorsFile } from '@harakaflow/testing';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hubSignature, verifyHubSignature } from '../src/index.js';

const knownFile = vectorsFile('webhooks/known-answers.json');
const hub: { secret: string; payload: string; header: string }[] = knownFile
  ? JSON.parse(readFileSync(knownFile, 'utf8')).hubSignature256
  : [];

interface Case {
  tcId: number;
  key: string;
  msg: string;
  tag: string;
  result: 'valid' | 'invalid';
}
const wycheproofFile = vectorsFile('wycheproof/hmac_sha256_test.json');
const groups: { keySize: number; tagSize: number; tests: Case[] }[] = wycheproofFile
  ? JSON.parse(readFileSync(wycheproofFile, 'utf8')).testGroups
  : [];
const hex = (s: string) => Buffer.from(s, 'hex');

describe.skipIf(!knownFile)('known answers', () => {
  it.each(hub)("verifies GitHub's documented example", (v) => {
    expect(hubSignature(v.payload, v.secret)).toBe(v.header);
    expect(verifyHubSignature(v.payload, v.header, v.secret)).toEqual({ ok: true });
    expect(verifyHubSignature(v.payload + ' ', v.header, v.secret)).toEqual({
      ok: false,
      code: 'HF_WEBHOOK_BAD_SIGNATURE',
    });
    expect(verifyHubSignature(v.payload, v.header.toUpperCase().replace('SHA256=', 'sha256='), v.secret)).toEqual({
      ok: true,
    });
  });
});

describe.skipIf(!wycheproofFile)('Wycheproof HMAC-SHA256', () => {
  const full = groups.filter((g) => g.tagSize === 256).flatMap((g) => g.tests);
  const truncated = groups.filter((g) => g.tagSize !== 256).flatMap((g) => g.tests);

  it(`agrees with every full-length case (${full.length})`, () => {
    expect(full.length).toBeGreaterThan(50);
    for (const c of full) {
      const result = verifyHubSignature(hex(c.msg), `sha256=${c.tag}`, hex(c.key));
      expect({ tcId: c.tcId, ok: result.ok }).toEqual({ tcId: c.tcId, ok: c.result === 'valid' });
    }
  });

  it(`refuses every truncated tag, valid or not (${truncated.length})`, () => {
    for (const c of truncated) expect(verifyHubSignature(hex(c.msg), `sha256=${c.tag}`, hex(c.key)).ok).toBe(false);
  });
});

describe('malformed input', () => {
  const secret = 'app-secret';
  const good = hubSignature('body', secret);
  it('refuses missing, other-algorithm and malformed headers, and empty secrets, without throwing', () => {
    expect(verifyHubSignature('body', undefined, secret)).toEqual({ ok: false, code: 'HF_WEBHOOK_MISSING_HEADER' });
    expect(verifyHubSignature('body', [good, good], secret)).toEqual({ ok: false, code: 'HF_WEBHOOK_MISSING_HEADER' });
    expect(verifyHubSignature('body', `sha1=${'0'.repeat(40)}`, secret)).toEqual({
      ok: false,
      code: 'HF_WEBHOOK_MISSING_HEADER',
    });
    expect(verifyHubSignature('body', good.slice(0, -1), secret)).toEqual({
      ok: false,
      code: 'HF_WEBHOOK_BAD_SIGNATURE',
    });
    expect(verifyHubSignature('body', `${good}00`, secret)).toEqual({ ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
    expect(verifyHubSignature('body', `${good} `, secret)).toEqual({ ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
    expect(verifyHubSignature('body', good, '')).toEqual({ ok: false, code: 'HF_WEBHOOK_BAD_SECRET' });
    expect(verifyHubSignature('body', good, [])).toEqual({ ok: false, code: 'HF_WEBHOOK_BAD_SECRET' });
  });

  it('accepts any of several secrets (rotation)', () => {
    expect(verifyHubSignature('body', good, ['new-secret', secret])).toEqual({ ok: true });
    expect(verifyHubSignature('body', good, ['new-secret'])).toEqual({ ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' });
  });
});
