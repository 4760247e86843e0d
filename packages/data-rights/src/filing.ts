/**
 * Filing a request: its input checked, a second open deletion of a subject answered by the first, the clock started at
 * receipt.
 */
import { isE164 } from '@harakaflow/core';
import { InvalidRequest, SubjectNotFound } from './errors.js';
import type { Ledger } from './ledger.js';
import { startRequest } from './request-start.js';
import { checkLanguage, checkSubject, EMAIL_ADDRESS, subjectHash } from './subject.js';
import { REQUEST_KINDS, type FileInput, type RightsRequest } from './types.js';

/** Files a request. A second open deletion of the same subject answers the first (idempotent). */
export async function fileRequest(l: Ledger, input: FileInput): Promise<RightsRequest> {
  // `unclassified` only for a request that waits for the admin anyway (one read from the privacy mailbox).
  if (
    !(REQUEST_KINDS as readonly string[]).includes(input.kind) &&
    !(input.kind === 'unclassified' && input.verification === null)
  )
    throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
  const subject = checkSubject(input.subject);
  if (input.contact != null && !isE164(input.contact))
    throw new InvalidRequest('A contact is an E.164 phone number (+ and at most 15 digits)');
  const lang = checkLanguage(input.lang);
  if (input.id !== undefined) {
    const filed = await l.row(input.id);
    if (filed) return l.view(filed);
  }
  if (input.details != null && (typeof input.details !== 'string' || input.details.length > 2000))
    throw new InvalidRequest('details is text of at most 2000 characters');
  if (
    input.manual !== undefined &&
    (typeof input.manual !== 'boolean' ||
      (input.manual && (input.kind !== 'withdraw_consent' || input.verification === null)))
  ) {
    throw new InvalidRequest('manual is for a withdraw_consent request verified when filed');
  }
  if (
    input.verification !== null &&
    (typeof input.verification !== 'string' || !input.verification.trim() || input.verification.length > 500)
  ) {
    throw new InvalidRequest('verification says how the requester was verified, in at most 500 characters');
  }
  if (subject.kind !== 'email' && !(await l.c.accountExists(subject.accountId))) throw new SubjectNotFound();
  // Who is told of every step besides the account (issue 30 items 8, 9): the address an emailed
  // request came from, or the account's own when it files its deletion (the receipt reaches it
  // after the account is gone).
  const given = input.replyTo === false ? null : (input.replyTo ?? (subject.kind === 'email' ? subject.email : null));
  if (given !== null && (typeof given !== 'string' || !EMAIL_ADDRESS.test(given)))
    throw new InvalidRequest('replyTo is an email address');
  const replyTo =
    input.replyTo === false
      ? null
      : given !== null
        ? given.toLowerCase()
        : input.kind === 'deletion' && subject.kind === 'account'
          ? ((await l.c.addressOf?.(subject.accountId)) ?? null)
          : null;
  const hash = subjectHash(l.c.subjectKey, subject);
  if (input.kind === 'deletion') {
    const existing = await l.deletionOf(hash, ['open', 'in_progress']);
    if (existing) return l.view(existing);
  }
  const now = l.now();
  // The clock runs from receipt (a message's arrival, a form's submission), never from the future.
  const at = input.receivedAt && input.receivedAt.getTime() < now.getTime() ? input.receivedAt : now;
  const row = await l.insert(
    {
      ...input,
      subject,
      hash,
      replyTo,
      lang,
      status: 'open',
      history: [{ status: 'open', at: now.toISOString(), by: input.filedBy }],
    },
    at,
  );
  // Filed meanwhile under the id its intake chose: that one stands, told once.
  if (!row) return l.view((await l.row(input.id!))!);
  await l.event('data_rights.request.received', row, {
    filedBy: input.filedBy,
    verified: input.verification !== null,
  });
  if (!input.silent) await l.notify(row);
  // A request awaiting verification waits for the admin; the others start now. The account's own
  // request shows it its export link; one the admin filed does not (the person gets it by email).
  // A manual one (a consent outside the ledger) waits for the admin, as an objection does.
  return l.view(
    input.verification === null || input.manual ? row : await startRequest(l, row),
    undefined,
    input.filedBy === 'self',
  );
}
