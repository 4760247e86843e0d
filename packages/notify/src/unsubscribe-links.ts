/** One-click unsubscribe links (RFC 8058): signed, dated, and the kind they name turned off when one is used. */
import { openValue, sealValue, type SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { KINDS } from './kinds.js';
import { setPreference } from './preferences.js';

type LinkConfig = { unsubscribeKeys: SigningKey[]; publicUrl: string };

const UNSUBSCRIBE = 'hf-unsubscribe';
/** Days an unsubscribe link works from the message it was sent in (issue 30 item 12). */
export const UNSUBSCRIBE_LINK_DAYS = 90;
/**
 * Links sent before links carried their expiry (`[accountId, kind]`, before issue 30) work until
 * this instant: 90 days from the release that dated them (2026-12-07), so a message already in an
 * inbox keeps working as long as a new one would, and then no undated link works at all.
 */
export const LEGACY_UNSUBSCRIBE_LINKS_UNTIL = Date.parse('2027-03-07T00:00:00Z');

/**
 * A one-click link for the kind, signed, working for UNSUBSCRIBE_LINK_DAYS from now (its expiry is in what is signed).
 */
export function unsubscribeUrl(c: LinkConfig, now: Date, accountId: string, kind: string): string {
  const expires = Math.floor(now.getTime() / 1000) + UNSUBSCRIBE_LINK_DAYS * 86_400;
  const token = sealValue(
    UNSUBSCRIBE,
    Buffer.from(JSON.stringify([accountId, kind, expires])).toString('base64url'),
    c.unsubscribeKeys[0]!,
  );
  return `${c.publicUrl.replace(/\/+$/, '')}/v1/notifications/unsubscribe?token=${token}`;
}

/** Turns off the kind an unsubscribe link names; the account and kind, or null for a bad or expired link. */
export async function unsubscribe(
  c: LinkConfig & { db: Database },
  clock: () => Date,
  token: unknown,
): Promise<{ accountId: string; kind: string } | null> {
  const opened = openValue(UNSUBSCRIBE, token, c.unsubscribeKeys, 600);
  if (!opened) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(opened.payload, 'base64url').toString());
  } catch {
    return null;
  }
  if (
    !Array.isArray(parsed) ||
    (parsed.length !== 2 && parsed.length !== 3) ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    KINDS[parsed[1]]?.category !== 'optional'
  )
    return null;
  // [accountId, kind, expires (Unix seconds)]; an undated link (sent before links were dated)
  // only until LEGACY_UNSUBSCRIBE_LINKS_UNTIL.
  const now = clock().getTime();
  const live =
    parsed.length === 3
      ? Number.isSafeInteger(parsed[2]) && now < (parsed[2] as number) * 1000
      : now < LEGACY_UNSUBSCRIBE_LINKS_UNTIL;
  if (!live) return null;
  await setPreference(c.db, clock(), parsed[0], parsed[1], false);
  return { accountId: parsed[0], kind: parsed[1] };
}
