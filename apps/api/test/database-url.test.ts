// A DATABASE_URL whose password holds an unencoded @, /, ? or # once leaked into the startup label
// ("Postgres app:12/S3cretPW@127.0.0.1:5999/hf") and into checkConnection's messages (the driver
// took part of the password for the host, port or database). databaseLabel and checkConnection
// read the URL through the one parse of @harakaflow/db (describeDatabaseUrl), which refuses such a
// URL; the property puts random passwords raw into a URL against a closed port.
import { serializeError } from '@harakaflow/core';
import { checkConnection } from '@harakaflow/db';
import { freePort } from '@harakaflow/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseLabel } from '../src/startup.js';

let port: number;
beforeAll(async () => {
  port = await freePort();
});

const label = (databaseUrl: string) => databaseLabel({ databaseUrl, dataDir: '/tmp/unused' });

/** Every text a failed check leaves where a person or a log could read it. */
async function failureTexts(url: string): Promise<{ code: string; texts: string[] }> {
  const error = await checkConnection(url, { name: 'DATABASE_URL', timeoutSeconds: 5 }).then(
    () => {
      throw new Error('connected');
    },
    (e: unknown) => e as Error & { code: string },
  );
  const cause = error.cause as (Error & Record<string, unknown>) | undefined;
  return {
    code: error.code,
    texts: [
      error.message,
      String(error),
      error.stack ?? '',
      JSON.stringify(serializeError(error)),
      String(cause?.message),
      String(cause?.stack),
      cause ? JSON.stringify({ ...cause }) : '',
    ],
  };
}

describe('databaseLabel', () => {
  it('names user@host:port/database, never the password', () => {
    expect(label('postgres://app:S3cretPW@127.0.0.1:5999/hf')).toBe('Postgres app@127.0.0.1:5999/hf');
    expect(label('postgres://app:S3cretPW@db1:5432,db2:5433/hf')).toBe('Postgres app@db1:5432,db2:5433/hf');
  });

  it('a password with an unencoded / or @: the variable only (once "Postgres app:12/S3cretPW@127.0.0.1:5999/hf")', () => {
    expect(label('postgres://app:12/S3cretPW@127.0.0.1:5999/hf')).toBe('Postgres (DATABASE_URL)');
    expect(label('postgres://app:S3cr@tPW@127.0.0.1:5999,127.0.0.1:5998/hf')).toBe('Postgres (DATABASE_URL)');
  });
});

describe('checkConnection with the reproductions of the review', () => {
  it('S3cr@tPW (once "no answer from tPW@127.0.0.1:5999") and 12/S3cretPW (once "unknown host app (database S3cretPW@..., port 12)"): HF_DB_URL_INVALID naming none of it', async () => {
    for (const url of [
      `postgres://app:S3cr@tPW@127.0.0.1:${port},127.0.0.1:5998/hf`,
      `postgres://app:12/S3cretPW@127.0.0.1:${port}/hf`,
    ]) {
      const { code, texts } = await failureTexts(url);
      expect(code).toBe('HF_DB_URL_INVALID');
      for (const text of texts)
        for (const piece of ['S3cr', 'tPW', 'port 12', 'app:']) expect(text).not.toContain(piece);
    }
  });
});

// Characters that end or split a URL's userinfo, escapes good and bad, unicode, and plain letters.
const piece = fc.oneof(
  fc.constantFrom(
    '@',
    '/',
    '?',
    '#',
    ':',
    '%',
    '%4',
    '%40',
    '%zz',
    '%2F',
    ',',
    '[',
    ']',
    '\\',
    ' ',
    'é',
    '日本',
    '🔑',
    '\u00a0',
  ),
  // No control characters: WHATWG URL drops tabs and newlines, and no one types the others.
  fc
    .string({ unit: 'grapheme', maxLength: 3 })
    .filter((s) => [...s].every((c) => c.codePointAt(0)! >= 0x20 && c !== '\u007f')),
  fc.stringMatching(/^[a-z]{1,4}$/),
);
// 12 characters, a letter that is no hex digit (G-Z: a % before it starts no escape) then a digit,
// six times: a run no message, stack frame or path holds by chance.
const marker = fc
  .array(fc.tuple(fc.constantFrom(...'GHJKLMNPQRSTUVWXYZ'), fc.integer({ min: 0, max: 9 })), {
    minLength: 6,
    maxLength: 6,
  })
  .map((pairs) => pairs.map(([l, d]) => `${l}${d}`).join(''));
const password = fc
  .tuple(fc.array(piece, { maxLength: 4 }), marker, fc.array(piece, { maxLength: 4 }))
  .map(([before, marker, after]) => ({ marker, password: `${before.join('')}${marker}${after.join('')}` }));

/**
 * The pieces of `secret` found in `text`: the whole of it, and every substring of 4 or more
 * characters with at least 2 of the marker's (a substring of the random pieces alone may be an
 * ordinary word of a message, "call" or "host"), that `shown` (user, host, database) does not hold.
 */
function leaks(text: string, secret: string, mark: string, shown: string): string[] {
  const m = secret.indexOf(mark);
  const found = secret.length >= 4 && !shown.includes(secret) && text.includes(secret) ? [secret] : [];
  for (let i = 0; i < secret.length; i++) {
    for (let j = i + 4; j <= secret.length; j++) {
      const overlap = Math.min(j, m + mark.length) - Math.max(i, m);
      const sub = secret.slice(i, j);
      if (overlap >= 2 && !shown.includes(sub) && text.includes(sub)) found.push(sub);
    }
  }
  return found;
}

describe('any password, put raw into a URL', () => {
  it('appears in no error text of checkConnection and not in databaseLabel, not even 4 characters of it', async () => {
    await fc.assert(
      fc.asyncProperty(password, async ({ marker, password }) => {
        const url = `postgres://app:${password}@127.0.0.1:${port}/hf`;
        const shown = `app 127.0.0.1:${port} hf`;
        // The marker survives decoding intact: no % before it starts an escape.
        let decoded = password;
        try {
          decoded = decodeURIComponent(password);
        } catch {
          // a bad escape: only the raw form exists
        }
        const { code, texts } = await failureTexts(url);
        // The marker reaches nothing: the property is not vacuous when the URL is refused.
        expect(['HF_DB_URL_INVALID', 'HF_DB_CONNECTION_REFUSED']).toContain(code);
        for (const text of [...texts, label(url)]) {
          expect(text).not.toContain(marker);
          expect(leaks(text, password, marker, shown)).toEqual([]);
          expect(leaks(text, decoded, marker, shown)).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
