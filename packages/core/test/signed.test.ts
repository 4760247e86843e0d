// Issue 30 item 12: openValue accepted four spellings of a signed value. A 43-character base64url
// signature carries 258 bits for a 32-byte MAC: the last character's 2 low bits are dropped by the
// decoder, so flipping them gave three more values that verified. Only the canonical one does now.
import { openValue, prepareKeys, sealValue } from '@harakaflow/core';
import { describe, expect, it } from 'vitest';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const keys = prepareKeys(['signed-test-secret-0123456789abcdef0123456789']);

/** The value with its last character replaced by each of the three others that decode to the same bytes. */
function otherSpellings(value: string): string[] {
  const index = ALPHABET.indexOf(value.at(-1)!);
  const base = index - (index % 4);
  return [0, 1, 2, 3].filter((low) => base + low !== index).map((low) => value.slice(0, -1) + ALPHABET[base + low]);
}

describe('openValue', () => {
  it('opens the value as sealed, and refuses the other spellings of its last character', () => {
    for (let i = 0; i < 50; i++) {
      const sealed = sealValue('hf-test', `payload-${i}`, keys[0]!);
      expect(openValue('hf-test', sealed, keys)).toEqual({ payload: `payload-${i}`, stale: false });
      const others = otherSpellings(sealed);
      expect(others).toHaveLength(3);
      for (const other of others) {
        // The same bytes: a lenient decoder cannot tell them apart.
        expect(Buffer.from(other.slice(other.lastIndexOf('.') + 1), 'base64url')).toEqual(
          Buffer.from(sealed.slice(sealed.lastIndexOf('.') + 1), 'base64url'),
        );
        expect(openValue('hf-test', other, keys), other).toBeNull();
      }
    }
  });

  it('still refuses the wrong name, a wrong length and junk, without throwing', () => {
    const sealed = sealValue('hf-test', 'p', keys[0]!);
    expect(openValue('hf-other', sealed, keys)).toBeNull();
    for (const bad of [sealed.slice(0, -1), `${sealed}A`, `${sealed.slice(0, -1)}=`, '.', '', 'p.', 42, undefined])
      expect(openValue('hf-test', bad, keys)).toBeNull();
  });
});
