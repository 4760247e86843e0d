/**
 * What an objection objects to and which consent a withdrawal withdraws (issue 32 item 6), as the
 * request's `details`: a first line the admin reads at a glance, then the person's own words.
 * `POST /v1/privacy/requests` takes them as `purpose` (a §2 use, or `other`) and `consent`
 * (`analytics`, or `other`: a consent the consent ledger does not hold, left to the admin).
 */
import type { FilingKind } from '@harakaflow/data-rights';
import { OBJECTION_PURPOSES, PURPOSES } from './article15.js';
import { RequestFieldsInvalid } from '../http/errors.js';

export const OBJECTION_CHOICES = [...OBJECTION_PURPOSES, 'other'] as const;
/**
 * The consents a withdrawal can name: the cookie consent's one non-essential category (§7), which
 * data-rights withdraws in the consent ledger, and `other`, one given outside it (§5 "with your
 * consent", by email say), which the admin carries out.
 */
export const CONSENT_CHOICES = ['analytics', 'other'] as const;

const MAX_DETAILS = 2000;

export interface RequestFields {
  kind: FilingKind;
  contact?: string | undefined;
  details?: string | undefined;
  purpose?: (typeof OBJECTION_CHOICES)[number] | undefined;
  consent?: (typeof CONSENT_CHOICES)[number] | undefined;
}

/**
 * The details to file, and whether the request is a manual withdrawal; a field on the wrong kind is 400
 * HF_VALIDATION_FAILED.
 */
export function requestDetails({ kind, contact, details, purpose, consent }: RequestFields): {
  details: string | null;
  manual: boolean;
} {
  if (purpose !== undefined && kind !== 'objection')
    throw new RequestFieldsInvalid('purpose names the use an objection is about: it goes with kind "objection" only');
  if (consent !== undefined && kind !== 'withdraw_consent')
    throw new RequestFieldsInvalid('consent names the consent withdrawn: it goes with kind "withdraw_consent" only');
  // The consent ledger holds the account's own choices, not a contact's.
  if (consent !== undefined && contact !== undefined)
    throw new RequestFieldsInvalid('consent is about the account itself: it does not go with contact');
  const own = details?.trim() || null;
  if ((purpose === 'other' || consent === 'other') && !own)
    throw new RequestFieldsInvalid('with "other", details say which');
  // The page shows these first lines in its own language (web/privacy-requests.js, aboutLine): change both together.
  const head =
    purpose === undefined
      ? consent === undefined
        ? null
        : consent === 'analytics'
          ? 'Withdrawal of consent: analytics cookies (§7).'
          : 'Withdrawal of another consent (not in the consent ledger):'
      : purpose === 'other'
        ? 'Objection to another use:'
        : `Objection to this use (§2, ${purpose}): ${PURPOSES[purpose]}.`;
  const text = head === null ? own : own === null ? head : `${head}\n${own}`;
  if (text !== null && text.length > MAX_DETAILS)
    throw new RequestFieldsInvalid(
      `details is at most ${MAX_DETAILS - (head?.length ?? 0) - 1} characters with this ${purpose === undefined ? 'consent' : 'purpose'}`,
    );
  return { details: text, manual: consent === 'other' };
}
