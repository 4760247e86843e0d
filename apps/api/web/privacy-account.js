// @ts-check
// The signed-in account: its session, the notices that did not arrive by email, its profile, its deletion, a request canceled.
import { $, api, codeOf, day, purgeDate, say, showSignedOut, state, t, TEXT } from './privacy-common.js';
import { loadRequests, session } from './privacy-requests.js';

// A canceled request reads the session again (a canceled deletion restores the account).
session.reload = loadSession;

// --- session ---------------------------------------------------------------------------------

export async function loadSession() {
  const res = await api('GET', '/v1/privacy/session');
  if (res.status !== 200) {
    state.csrf = null;
    state.account = null;
    showSignedOut();
    return;
  }
  state.csrf = res.json.csrfToken;
  state.account = res.json.account;
  await showAccount(res.json.deletionPending);
}

/** @param {boolean} pending */
export async function showAccount(pending) {
  if (!state.account) return;
  $('signin').hidden = true;
  $('account').hidden = false;
  $('account-email').textContent = state.account.email;
  /** @type {HTMLInputElement} */ ($('profile-name')).value = state.account.name;
  /** @type {HTMLInputElement} */ ($('profile-business')).value = state.account.businessName ?? '';
  $('rights').hidden = pending;
  await loadRequests();
  await loadNotices();
}

// --- notices that did not arrive by email (issue 34 item 4) -----------------------------------

/** The account's notices from GET /v1/me (the session cookie reaches it), each with a button that acknowledges it. */
export async function loadNotices() {
  const res = await api('GET', '/v1/me');
  const list = $('notices-list');
  list.replaceChildren();
  const notices = res.status === 200 && Array.isArray(res.json?.notices) ? res.json.notices : [];
  for (const n of notices) {
    const item = document.createElement('li');
    const subject = document.createElement('strong');
    subject.textContent = n.subject;
    const said = document.createElement('p');
    said.textContent = [
      t(`noticeSent.${n.reason === 'bounced' || n.reason === 'complained' ? n.reason : 'unknown'}`, {
        date: day(n.createdAt),
      }),
      TEXT[`noticeHint.${n.kind}`] ?? '',
    ]
      .join(' ')
      .trim();
    const ack = document.createElement('button');
    ack.type = 'button';
    ack.textContent = t('markRead');
    ack.setAttribute('aria-label', t('markReadLabel', { subject: n.subject }));
    ack.addEventListener('click', () => void acknowledge(n.id));
    item.append(subject, said, ack);
    list.append(item);
  }
  $('notices').hidden = notices.length === 0;
}

/** @param {string} id */
export async function acknowledge(id) {
  const res = await api('POST', `/v1/me/notices/${encodeURIComponent(id)}/ack`);
  if (res.status !== 200) return say(t('markReadFailed', { code: codeOf(res) }));
  say(t('markedRead'));
  await loadNotices();
}

export async function signIn(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('api-key'));
  const apiKey = input.value.trim();
  input.value = '';
  const res = await api('POST', '/v1/privacy/session', { apiKey });
  if (res.status !== 201) return say(res.status === 401 ? t('keyRefused') : t('signInFailed', { code: codeOf(res) }));
  say(t('signedIn'));
  await loadSession();
  $('account-title').focus();
}

export async function signOut() {
  await api('DELETE', '/v1/privacy/session');
  state.csrf = null;
  state.account = null;
  say(t('signedOut'));
  showSignedOut();
}

export async function saveProfile(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('profile-name')).value.trim();
  const business = /** @type {HTMLInputElement} */ ($('profile-business')).value.trim();
  const res = await api('PATCH', '/v1/privacy/profile', { name, businessName: business || null });
  if (res.status !== 200) return say(t('correctFailed', { code: codeOf(res) }));
  state.account = res.json.account;
  say(t('corrected'));
  await loadRequests();
}

export async function deleteAccount(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const typed = /** @type {HTMLInputElement} */ ($('delete-confirm')).value.trim().toLowerCase();
  if (!state.account || typed !== state.account.email.toLowerCase()) return say(t('notYourEmail'));
  const res = await api('POST', '/v1/privacy/requests', { kind: 'deletion' });
  if (res.status !== 202) return say(t('deleteFailed', { code: codeOf(res) }));
  state.csrf = null;
  state.account = null;
  showSignedOut();
  const purge = purgeDate(res.json.history);
  say(purge ? t('deletionFiled', { date: purge }) : t('deletionFiledUndated'));
}
