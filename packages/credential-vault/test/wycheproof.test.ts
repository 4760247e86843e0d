// Wycheproof AES-GCM vectors (C2SP/wycheproof, Apache-2.0), read from shared/vectors.
import { decrypt } from '@harakaflow/credential-vault';
import { vectorsFile } from '@harakaflow/testing';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Case {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface Group {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: Case[];
}

const file = vectorsFile('wycheproof/aes_gcm_test.json');
const groups: Group[] = file ? JSON.parse(readFileSync(file, 'utf8')).testGroups : [];
const supported = groups
  .filter((g) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128)
  .flatMap((g) => g.tests);
const others = groups
  .filter((g) => !(g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128))
  .flatMap((g) => g.tests);
const hex = (s: string) => Buffer.from(s, 'hex');

describe.skipIf(!file)('AES-256-GCM against Wycheproof', () => {
  it('has the groups this test relies on', () => {
    expect(supported.length).toBeGreaterThanOrEqual(60);
    expect(supported.some((t) => t.result === 'invalid')).toBe(true);
  });

  it('decrypts every valid case of the supported sizes to the expected message', () => {
    const valid = supported.filter((t) => t.result === 'valid');
    for (const t of valid) {
      expect(decrypt(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad)).toString('hex'), `tcId ${t.tcId}`).toBe(
        t.msg,
      );
    }
  });

  it('refuses every invalid case of the supported sizes with HF_VAULT_DECRYPT_FAILED', () => {
    const invalid = supported.filter((t) => t.result === 'invalid');
    for (const t of invalid) {
      expect(() => decrypt(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad)), `tcId ${t.tcId}`).toThrow(
        expect.objectContaining({ code: 'HF_VAULT_DECRYPT_FAILED' }),
      );
    }
  });

  it('refuses every other key, nonce or tag size outright, even for valid cases', () => {
    expect(others.length).toBeGreaterThan(100);
    for (const t of others) {
      expect(() => decrypt(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad)), `tcId ${t.tcId}`).toThrow(
        expect.objectContaining({ code: 'HF_VAULT_DECRYPT_FAILED' }),
      );
    }
  });
});
