import { isE164, type SubjectRef } from '@harakaflow/core';
import { createHmac } from 'node:crypto';
import { InvalidRequest } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 5321's limit, and one @ with something on both sides; the address is checked by whoever verified the requester.
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
/** An email address as requests take it (a subject's, or the address to tell, `replyTo`). */
export const EMAIL_ADDRESS = EMAIL;

/** A language tag as requests keep it (`sw`, `sw-KE`, `en`): RFC 5646's language and up to three subtags. */
const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}$/i;

/**
 * A request's language from outside (null: none), lower case; HF_DATA_RIGHTS_INVALID_REQUEST for anything but a tag.
 */
export function checkLanguage(lang: unknown): string | null {
  if (lang === null || lang === undefined) return null;
  if (typeof lang !== 'string' || !LANGUAGE_TAG.test(lang))
    throw new InvalidRequest('lang is a language tag such as sw or en');
  return lang.toLowerCase();
}

/** Checks a subject reference from outside (a route body, the CLI): HF_DATA_RIGHTS_INVALID_REQUEST. */
export function checkSubject(ref: unknown): SubjectRef {
  const r = ref as Partial<{ kind: string; accountId: string; phone: string; email: string }> | null;
  if (r?.kind === 'account' && typeof r.accountId === 'string' && UUID.test(r.accountId))
    return { kind: 'account', accountId: r.accountId.toLowerCase() };
  if (r?.kind === 'contact' && typeof r.accountId === 'string' && UUID.test(r.accountId)) {
    if (!isE164(r.phone)) throw new InvalidRequest('A contact is an E.164 phone number (+ and at most 15 digits)');
    return { kind: 'contact', accountId: r.accountId.toLowerCase(), phone: r.phone };
  }
  if (r?.kind === 'email' && typeof r.email === 'string' && EMAIL.test(r.email))
    return { kind: 'email', email: r.email.toLowerCase() };
  throw new InvalidRequest('A subject is an account id, a contact (account id and E.164 number) or an email address');
}

/** The identifiers of a subject as one string: what its keyed hash is computed over. */
export function subjectIdentity(ref: SubjectRef): string {
  return ref.kind === 'account'
    ? `account:${ref.accountId}`
    : ref.kind === 'contact'
      ? `contact:${ref.accountId}:${ref.phone}`
      : `email:${ref.email.toLowerCase()}`;
}

/**
 * A keyed hash (HMAC-SHA256) of a subject's identifiers: what a request keeps after its subject is
 * erased. With the key, a restored backup's subjects can be matched against it; without the key,
 * it names nobody (an account id or a phone number alone cannot be tried against it).
 */
export function subjectHash(key: Buffer, ref: SubjectRef): string {
  return createHmac('sha256', key).update(subjectIdentity(ref)).digest('base64url');
}
