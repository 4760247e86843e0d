// @ts-check
// The account's rights requests: filed, listed (with their export links and receipts), a restriction lifted.
import {
  $,
  api,
  codeOf,
  day,
  kindName,
  purgeDate,
  requestName,
  say,
  showSignedOut,
  state,
  t,
  TEXT,
} from './privacy-common.js';
import { downloadReceipt, showVerdict } from './privacy-receipts.js';

/** The session read again: privacy-account.js sets it (it imports this module, so this one cannot import it). */
export const session = {
  /** @type {() => Promise<void>} */
  reload: async () => {},
};

/**
 * The first line of an objection's or a withdrawal's details in the page's language: the API
 * writes it in English for the privacy team (request-details.ts); the use is named by its id, and
 * its words are the objection form's own option. Any other line (the person's words) as it is.
 * @param {string} line
 */
export function aboutLine(line) {
  const use = /^Objection to this use \(§2, ([a-z]+)\): /.exec(line);
  if (use) {
    const option = /** @type {HTMLOptionElement | null} */ (
      document.querySelector(`#objection-purpose option[value="${use[1]}"]`)
    );
    if (option) return t('about.objection', { purpose: option.textContent ?? '' });
  }
  if (line === 'Objection to another use:') return t('about.objectionOther');
  if (line === 'Withdrawal of consent: analytics cookies (§7).') return t('about.withdrawAnalytics');
  if (line === 'Withdrawal of another consent (not in the consent ledger):') return t('about.withdrawOther');
  return line.slice(0, 300);
}

/** @param {string} kind */
export async function file(kind) {
  const res = await api('POST', '/v1/privacy/requests', { kind });
  if (res.status !== 202) return say(t('fileFailed', { code: codeOf(res) }));
  say(t('filed', { kind: kindName(kind), date: day(res.json.dueAt) }));
  await loadRequests();
}

export async function loadRequests() {
  const res = await api('GET', '/v1/privacy/requests');
  if (res.status === 401) return showSignedOut();
  if (res.status !== 200) return;
  const body = /** @type {HTMLTableSectionElement} */ ($('requests').querySelector('tbody'));
  body.replaceChildren();
  let waiting = false;
  let pendingDeletion = null;
  for (const r of res.json.requests) {
    const row = document.createElement('tr');
    const cell = (/** @type {string} */ text) => {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
      return td;
    };
    const name = requestName(r);
    const what = cell(name);
    const lifted = r.kind === 'restriction' && (r.history ?? []).some((/** @type {any} */ h) => h.event === 'lifted');
    cell(lifted ? t('lifted') : (TEXT[`status.${r.status}`] ?? r.status));
    cell(day(r.receivedAt));
    cell(day(r.extendedDueAt ?? r.dueAt));
    const action = cell('');
    if (r.export?.url) {
      // A form POST: the link downloads only when posted (a GET of it is a page that changes nothing).
      const form = document.createElement('form');
      form.method = 'post';
      form.action = r.export.url;
      const download = document.createElement('button');
      download.type = 'submit';
      download.textContent = t('download');
      download.setAttribute('aria-label', t('downloadLabel', { kind: name, date: day(r.export.expiresAt) }));
      form.append(download);
      // The link works once: the list is read again after the download starts.
      form.addEventListener('submit', () => void setTimeout(() => void loadRequests(), 2000));
      action.append(form);
    }
    if (r.kind === 'restriction' && r.status === 'fulfilled' && !lifted) {
      const lift = document.createElement('button');
      lift.type = 'button';
      lift.textContent = t('lift');
      lift.addEventListener('click', () => void liftRestriction(r.id));
      action.append(lift);
    }
    if (r.kind === 'deletion' && (r.status === 'open' || r.status === 'in_progress'))
      pendingDeletion = { request: r, date: purgeDate(r.history) };
    if (r.status === 'open' || r.status === 'in_progress') {
      waiting = waiting || r.kind === 'access' || r.kind === 'portability';
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.textContent = r.kind === 'deletion' ? t('cancelDeletion') : t('cancel');
      cancel.addEventListener('click', () => void cancelRequest(r.id));
      action.append(cancel);
    }
    if ((r.kind === 'objection' || r.kind === 'withdraw_consent') && r.details) {
      // What it is about: the first line (the use or the consent it names), in the page's language.
      const about = document.createElement('small');
      about.textContent = aboutLine(String(r.details).split('\n')[0]);
      what.append(about);
    }
    if (r.receipt) {
      const small = document.createElement('small');
      const erased = r.receipt.handlers.reduce(
        (/** @type {number} */ n, /** @type {any} */ h) => n + (h.erased ?? 0),
        0,
      );
      small.textContent = t('erasureReceipt', {
        count: erased,
        date: day(r.receipt.completedAt),
        keyId: r.receipt.keyId,
      });
      const verdict = document.createElement('small');
      verdict.setAttribute('role', 'status');
      what.append(small, verdict);
      const receipt = r.receipt;
      const get = document.createElement('button');
      get.type = 'button';
      get.textContent = t('downloadReceipt');
      get.setAttribute('aria-label', t('downloadReceiptLabel', { kind: name, date: day(receipt.completedAt) }));
      get.addEventListener('click', () => downloadReceipt(receipt, r.id));
      const check = document.createElement('button');
      check.type = 'button';
      check.textContent = t('checkReceipt');
      check.setAttribute('aria-label', t('checkReceiptLabel', { kind: name, date: day(receipt.completedAt) }));
      check.addEventListener('click', () => void showVerdict(verdict, receipt));
      action.append(get, check);
    }
    body.append(row);
  }
  $('pending').hidden = !pendingDeletion;
  $('rights').hidden = Boolean(pendingDeletion);
  if (pendingDeletion)
    $('pending-text').textContent = pendingDeletion.date
      ? t('pendingDeletion', { date: pendingDeletion.date })
      : t('pendingDeletionUndated');
  if (state.poll) clearTimeout(state.poll);
  if (waiting) state.poll = setTimeout(() => void loadRequests(), 1500);
}

/** @param {string} id */
export async function liftRestriction(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/lift`);
  if (res.status !== 200) return say(t('liftFailed', { code: codeOf(res) }));
  await loadRequests();
  say(t('liftedSaid'));
}

/** @param {string} id */
export async function cancelRequest(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/cancel`);
  if (res.status !== 200) return say(t('cancelFailed', { code: codeOf(res) }));
  say(t('canceled'));
  await session.reload();
}
