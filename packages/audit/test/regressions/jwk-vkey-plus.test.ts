// Found reviewing issue 33 (cli.test.ts's --public-key test failed about half the time): a JWK set
// whose key's base64 contains a '+' was refused, "has a vkey of another key than its x". The check
// took the key from after the vkey's last '+', and base64 has '+' among its letters: about half of
// all Ed25519 keys (44 base64 characters) were unusable as the served .json file.
import { describe, expect, it } from 'vitest';
import { AuditSigningKeys, generateAuditSigningKey, parseVerifierKeys } from '../../src/note.js';

describe('the served JWK set read back by --public-key', () => {
  it("accepts a key whose vkey's base64 holds a '+' (and still refuses a vkey of another key)", () => {
    let keys: AuditSigningKeys | null = null;
    for (let i = 0; i < 1000 && !keys; i++) {
      const k = new AuditSigningKeys(generateAuditSigningKey(`k${i}`), 'audit.test.example/log');
      const vkey = k.verifierKeys()[0]!;
      if (vkey.slice(vkey.indexOf('+', vkey.indexOf('+') + 1) + 1).includes('+')) keys = k;
    }
    expect(keys).not.toBeNull();
    const parsed = parseVerifierKeys(JSON.stringify(keys!.jwks()));
    expect(parsed.map((v) => v.vkey)).toEqual(keys!.verifierKeys());

    const other = new AuditSigningKeys(generateAuditSigningKey('other'), 'audit.test.example/log');
    const swapped = { keys: [{ ...keys!.jwks().keys[0]!, vkey: other.verifierKeys()[0]! }] };
    expect(() => parseVerifierKeys(JSON.stringify(swapped))).toThrow(/another key than its "x"/);
  });
});
