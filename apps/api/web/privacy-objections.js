// @ts-check
// An objection to a use of the account's data, and the withdrawal of a consent (issue 32 item 6).
import { $, api, codeOf, day, say, t } from './privacy-common.js';
import { counted } from './privacy-consent.js';
import { loadRequests } from './privacy-requests.js';

export async function object(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ ($('objection-form'));
  const purpose = /** @type {HTMLSelectElement} */ ($('objection-purpose')).value;
  const details = /** @type {HTMLTextAreaElement} */ ($('objection-details')).value.trim();
  if (purpose === 'other' && !details) {
    say(t('objectionSayWhat'));
    return $('objection-details').focus();
  }
  const res = await api('POST', '/v1/privacy/requests', {
    kind: 'objection',
    purpose,
    ...(details ? { details } : {}),
  });
  if (res.status !== 202) return say(t('fileFailed', { code: codeOf(res) }));
  form.reset();
  say(t('objected', { date: day(res.json.dueAt) }));
  await loadRequests();
}

export async function withdrawConsent(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ ($('withdrawal-form'));
  const consent = /** @type {RadioNodeList} */ (form.elements.namedItem('consent')).value;
  const details = /** @type {HTMLTextAreaElement} */ ($('withdrawal-details')).value.trim();
  if (consent === 'other' && !details) {
    say(t('withdrawalSayWhich'));
    return $('withdrawal-details').focus();
  }
  if (consent === 'analytics') {
    // This browser's own choice first (its cookie holds it, out of the ledger's reach): withdrawn
    // and its cookies expired at once, recorded under the account; then the request withdraws
    // every choice the account made, in the ledger.
    const here = await api('DELETE', '/v1/consent');
    if (here.status !== 200) return say(t('withdrawFailed', { code: codeOf(here) }));
    await counted();
  }
  const res = await api('POST', '/v1/privacy/requests', {
    kind: 'withdraw_consent',
    consent,
    ...(details ? { details } : {}),
  });
  if (res.status !== 202)
    return say(
      consent === 'analytics' ? t('withdrawnHereOnly', { code: codeOf(res) }) : t('fileFailed', { code: codeOf(res) }),
    );
  form.reset();
  say(consent === 'analytics' ? t('analyticsWithdrawn') : t('withdrawalFiled', { date: day(res.json.dueAt) }));
  await loadRequests();
}
