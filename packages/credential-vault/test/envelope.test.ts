import {
  decrypt,
  encrypt,
  keyIdOf,
  LocalKeyProvider,
  open,
  parseVaultKeys,
  rewrap,
  seal,
  type RecordPlace,
} from '@harakaflow/credential-vault';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const place: RecordPlace = { accountId: 'acct-1', sessionId: 'session-1', name: 'creds' };
const failsWith = async (promise: Promise<unknown>, code: string) => {
  await expect(promise).rejects.toMatchObject({
    code,
    message: code === 'HF_VAULT_DECRYPT_FAILED' ? code : expect.any(String),
  });
};

describe('seal and open', () => {
  const keys = new LocalKeyProvider(key('k1'));

  it('round-trips bytes, empty and large, under the active KEK', async () => {
    for (const plaintext of [
      Buffer.alloc(0),
      Buffer.from('{"me":{"id":"254700000000@s.whatsapp.net"}}'),
      randomBytes(1 << 20),
    ]) {
      const blob = await seal(plaintext, place, keys);
      expect(keyIdOf(blob)).toBe('k1');
      expect((await open(blob, place, keys)).equals(plaintext)).toBe(true);
    }
  });

  it('refuses every single-bit flip anywhere in the record: header, wrapped key, nonce, tag, ciphertext', async () => {
    const blob = await seal(Buffer.from('signal identity key material'), place, keys);
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const flipped = Buffer.from(blob);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      // A flip in the KEK id may name an unknown key: that is refused too, with its own code.
      await expect(open(flipped, place, keys), `bit ${bit}`).rejects.toMatchObject({
        code: expect.stringMatching(/^HF_VAULT_(DECRYPT_FAILED|KEY_UNAVAILABLE)$/),
      });
    }
  });

  it('refuses every truncation and every extension', async () => {
    const blob = await seal(Buffer.from('x'.repeat(40)), place, keys);
    for (let length = 0; length < blob.length; length++)
      await failsWith(open(blob.subarray(0, length), place, keys), 'HF_VAULT_DECRYPT_FAILED');
    await failsWith(open(Buffer.concat([blob, Buffer.from([0])]), place, keys), 'HF_VAULT_DECRYPT_FAILED');
  });

  it('refuses a record moved to another account, session or name', async () => {
    const blob = await seal(Buffer.from('secret'), place, keys);
    for (const moved of [
      { ...place, accountId: 'acct-2' },
      { ...place, sessionId: 'session-2' },
      { ...place, name: 'creds2' },
      // Length-prefixed encoding: shifting characters between fields is another place.
      { accountId: 'acct-1s', sessionId: 'ession-1', name: 'creds' },
    ]) {
      await failsWith(open(blob, moved, keys), 'HF_VAULT_DECRYPT_FAILED');
    }
  });

  it('refuses short and empty tags at the AEAD itself', () => {
    const k = randomBytes(32);
    const { nonce, ciphertext, tag } = encrypt(k, Buffer.from('hello'), Buffer.alloc(0));
    expect(decrypt(k, nonce, ciphertext, tag, Buffer.alloc(0)).toString()).toBe('hello');
    for (const length of [0, 1, 4, 8, 12, 15]) {
      expect(() => decrypt(k, nonce, ciphertext, tag.subarray(0, length), Buffer.alloc(0))).toThrow(
        expect.objectContaining({ code: 'HF_VAULT_DECRYPT_FAILED' }),
      );
    }
  });

  it('never repeats a nonce over 2^17 encryptions of one plaintext', () => {
    const k = randomBytes(32);
    const seen = new Set<string>();
    const plaintext = Buffer.from('same plaintext every time');
    for (let i = 0; i < 1 << 17; i++) seen.add(encrypt(k, plaintext, Buffer.alloc(0)).nonce.toString('hex'));
    expect(seen.size).toBe(1 << 17);
  });

  it('puts no key or plaintext in its errors', async () => {
    const secretText = 'plaintext-that-must-not-leak';
    const blob = await seal(Buffer.from(secretText), place, keys);
    const error = await open(blob, { ...place, name: 'other' }, keys).catch((e: Error) => e);
    expect(`${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)}`).not.toMatch(
      new RegExp(`${secretText}|${blob.toString('base64').slice(10, 40)}`),
    );
  });
});

describe('rotation', () => {
  it('rewraps without decrypting payloads: new KEK takes new writes, old records stay readable until their key is retired', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 256 }), { minLength: 1, maxLength: 8 }),
        fc.nat({ max: 7 }),
        async (plaintexts, keep) => {
          const k1 = key('k1');
          const k2 = key('k2');
          const before = new LocalKeyProvider(k1);
          const blobs = await Promise.all(plaintexts.map((p, i) => seal(p, { ...place, name: `r${i}` }, before)));
          const both = new LocalKeyProvider(`${k2},${k1}`);
          // Rewrap all but one record (the "not yet rotated" one).
          const skipped = keep % blobs.length;
          const after = await Promise.all(
            blobs.map((b, i) => (i === skipped ? Promise.resolve(b) : rewrap(b, { ...place, name: `r${i}` }, both))),
          );
          for (let i = 0; i < after.length; i++) {
            expect(keyIdOf(after[i]!)).toBe(i === skipped ? 'k1' : 'k2');
            expect((await open(after[i]!, { ...place, name: `r${i}` }, both)).equals(Buffer.from(plaintexts[i]!))).toBe(
              true,
            );
            // Payload untouched: same nonce, tag and ciphertext (the last bytes).
            const tail = 12 + 16 + plaintexts[i]!.length;
            expect(after[i]!.subarray(-tail).equals(blobs[i]!.subarray(-tail))).toBe(true);
          }
          const retired = new LocalKeyProvider(k2);
          for (let i = 0; i < after.length; i++) {
            const reading = open(after[i]!, { ...place, name: `r${i}` }, retired);
            if (i === skipped) await expect(reading).rejects.toMatchObject({ code: 'HF_VAULT_KEY_UNAVAILABLE' });
            else expect((await reading).equals(Buffer.from(plaintexts[i]!))).toBe(true);
          }
          // Idempotent: rewrapping a record already under the active KEK changes nothing.
          const done = after.findIndex((_, i) => i !== skipped);
          if (done >= 0)
            expect((await rewrap(after[done]!, { ...place, name: `r${done}` }, both)).equals(after[done]!)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('VAULT_KEYS', () => {
  it.each([
    [''],
    ['k1'],
    ['k1:'],
    [':' + randomBytes(32).toString('base64')],
    ['k1:' + randomBytes(16).toString('base64')],
    ['k1:not*base64'],
    ['bad id:' + randomBytes(32).toString('base64')],
    [key('k1') + ',' + key('k1')],
  ])('refuses %j with HF_VAULT_INVALID_KEYS, never echoing key material', (text) => {
    try {
      parseVaultKeys(text);
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('HF_VAULT_INVALID_KEYS');
      const material = text
        .split(',')
        .map((e) => e.slice(e.indexOf(':') + 1))
        .filter((m) => m.length > 8);
      for (const m of material) expect((error as Error).message).not.toContain(m);
    }
  });

  it('makes the first entry active', () => {
    expect(new LocalKeyProvider(`${key('new')},${key('old')}`).activeKeyId).toBe('new');
  });
});
