// Regression: the KEK id was decoded as 'ascii', which drops bit 7, so a record whose id bytes had
// their high bit flipped parsed to the same id and still opened (a malleable, non-canonical encoding).
import { LocalKeyProvider, open, seal } from '@harakaflow/credential-vault';
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';

it('refuses a record whose KEK id bytes have their high bit set', async () => {
  const keys = new LocalKeyProvider(`k1:${randomBytes(32).toString('base64')}`);
  const place = { accountId: 'a', sessionId: 's', name: 'n' };
  const blob = await seal(Buffer.from('secret'), place, keys);
  for (const index of [4, 5]) {
    const altered = Buffer.from(blob);
    altered[index] = altered[index]! | 0x80;
    await expect(open(altered, place, keys)).rejects.toMatchObject({ code: 'HF_VAULT_DECRYPT_FAILED' });
  }
});
