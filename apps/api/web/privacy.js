// @ts-check
// The privacy centre's script (issue 17): a plain module, no framework, no third-party request.
// Everything goes through the API's own routes: the consent routes (so the ledger records each
// choice) and the data-rights routes, with the session cookie and its CSRF token. The API key is
// read from the form once, sent to POST /v1/privacy/session and dropped: never stored.

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @type {string | null} */
let csrf = null;
/** @type {{ id: string, email: string, name: string, businessName: string | null } | null} */
let account = null;
/** @type {ReturnType<typeof setTimeout> | null} */
let poll = null;

// Every word the script shows, in one place (the page's other words are in index.html): what a
// catalogue per language will replace. `(code)` is an error's HF_ code or HTTP status.
const TEXT = {
  locale: 'en-GB',
  kinds: /** @type {Record<string, string>} */ ({
    access: 'A copy of my data',
    portability: 'My data, portable',
    correction: 'Correction',
    deletion: 'Deletion of my account',
    restriction: 'Restriction of processing',
    objection: 'Objection',
    withdraw_consent: 'Withdrawal of consent',
  }),
  statuses: /** @type {Record<string, string>} */ ({ open: 'Received', in_progress: 'In progress', fulfilled: 'Done', denied: 'Denied', canceled: 'Canceled', expired: 'Expired' }),
  lifted: 'Lifted',
  purgeOn: (/** @type {string} */ date) => `It will be deleted on ${date}.`,
  policyChanges: (/** @type {string} */ date, /** @type {string} */ version) => `Our privacy policy changes on ${date} (version ${version}).`,
  choiceFailed: (/** @type {string} */ code) => `Your choice could not be saved (${code}).`,
  analyticsOn: 'Your choice is saved: analytics cookies are on.',
  analyticsOff: 'Your choice is saved: analytics cookies are off.',
  withdrawFailed: (/** @type {string} */ code) => `Your consent could not be withdrawn (${code}).`,
  withdrawn: 'Your consent is withdrawn: analytics cookies are off and removed.',
  noticeReasons: /** @type {Record<string, string>} */ ({
    bounced: 'your mail server sent it back',
    complained: 'it was reported as spam',
  }),
  noticeReasonUnknown: 'it did not arrive',
  noticeHints: /** @type {Record<string, string>} */ ({
    'policy.upcoming': 'Our privacy policy is changing: the notice at the top of this page says when.',
    'privacy.request.updated': 'It is about one of your requests: see "Your requests" below.',
  }),
  noticeSent: (/** @type {string} */ date, /** @type {string} */ reason, /** @type {string} */ hint) => `Sent ${date}; ${reason}. ${hint}`,
  markRead: 'Mark as read',
  markReadLabel: (/** @type {string} */ subject) => `Mark as read: ${subject}`,
  markReadFailed: (/** @type {string} */ code) => `The notice could not be marked as read (${code}).`,
  markedRead: 'Marked as read.',
  keyRefused: 'That API key was not accepted.',
  signInFailed: (/** @type {string} */ code) => `Signing in failed (${code}).`,
  signedIn: 'Signed in.',
  signedOut: 'Signed out.',
  fileFailed: (/** @type {string} */ code) => `The request could not be filed (${code}).`,
  filed: (/** @type {string} */ kind, /** @type {string} */ date) => `${kind}: received. Due by ${date}.`,
  download: 'Download',
  downloadLabel: (/** @type {string} */ kind, /** @type {string} */ date) => `Download ${kind} (link valid until ${date})`,
  lift: 'Lift restriction',
  cancel: 'Cancel',
  cancelDeletion: 'Cancel deletion',
  erasureReceipt: (/** @type {number} */ erased, /** @type {string} */ date, /** @type {string} */ keyId) => `Erasure receipt: ${erased} record(s) erased, signed ${date} (key ${keyId}).`,
  pendingDeletion: (/** @type {string} */ purge) => `Your account is due to be deleted. ${purge} Cancel it in the list below before then to keep it.`,
  liftFailed: (/** @type {string} */ code) => `The restriction could not be lifted (${code}).`,
  liftedSaid: 'The restriction is lifted: your data is processed again as the privacy policy describes.',
  cancelFailed: (/** @type {string} */ code) => `The request could not be canceled (${code}).`,
  canceled: 'Canceled.',
  correctFailed: (/** @type {string} */ code) => `Your corrections could not be saved (${code}).`,
  corrected: 'Corrections saved.',
  notYourEmail: "That is not your account's email: nothing was deleted.",
  deleteFailed: (/** @type {string} */ code) => `The deletion could not be requested (${code}).`,
  deletionFiled: (/** @type {string} */ purge) => `Deletion requested: you are signed out. ${purge} Sign in again with your key before then to cancel it.`,
};
const KIND_NAMES = TEXT.kinds;
/** An error's code for a sentence: the HF_ code of the one error shape, else the HTTP status. @param {{ status: number, json: any }} res */
const codeOf = (res) => String(res.json?.code ?? res.status);

/** @param {string} message */
function say(message) {
  $('status').textContent = message;
}

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<{ status: number, json: any }>}
 */
async function api(method, url, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

/** The purge date a deletion's history states ("purge at <ISO time>"), as a sentence. @param {any[] | undefined} history */
function purgeSentence(history) {
  for (const h of history ?? []) {
    const m = /purge at (\S+)/.exec(h.note ?? '');
    if (m) return TEXT.purgeOn(day(m[1]));
  }
  return '';
}

/** @param {string | undefined | null} iso */
const day = (iso) => (iso ? new Date(iso).toLocaleDateString(TEXT.locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }) : '');

// --- consent ---------------------------------------------------------------------------------

async function loadConsent() {
  const { json: state } = await api('GET', '/v1/consent');
  if (!state) return;
  const decided = state.source === 'user' && !state.needsReacceptance;
  $('banner').hidden = decided;
  $('gpc-notice').hidden = state.source !== 'gpc' && !(/** @type {any} */ (navigator).globalPrivacyControl === true);
  $('reaccept-notice').hidden = !state.needsReacceptance;
  /** @type {HTMLInputElement} */ ($('pref-analytics')).checked = state.categories.includes('analytics');
  const upcoming = state.upcomingPolicy;
  if (upcoming && upcoming.material) {
    $('policy-notice').hidden = false;
    $('policy-notice').textContent = TEXT.policyChanges(day(upcoming.effectiveAt), upcoming.version);
  }
}

/** @param {boolean} analytics */
async function decide(analytics) {
  const res = await api('PUT', '/v1/consent', { analytics });
  if (res.status !== 200) return say(TEXT.choiceFailed(codeOf(res)));
  await counted();
  say(analytics ? TEXT.analyticsOn : TEXT.analyticsOff);
}

/** The page view, counted under the choice just made (HEAD /privacy sets the analytics cookie only when it is allowed). */
async function counted() {
  await fetch('/privacy', { method: 'HEAD', credentials: 'same-origin' });
  await loadConsent();
}

async function withdraw() {
  const res = await api('DELETE', '/v1/consent');
  if (res.status !== 200) return say(TEXT.withdrawFailed(codeOf(res)));
  await counted();
  say(TEXT.withdrawn);
}

// --- session ---------------------------------------------------------------------------------

async function loadSession() {
  const res = await api('GET', '/v1/privacy/session');
  if (res.status !== 200) {
    csrf = null;
    account = null;
    showSignedOut();
    return;
  }
  csrf = res.json.csrfToken;
  account = res.json.account;
  await showAccount(res.json.deletionPending);
}

function showSignedOut() {
  $('signin').hidden = false;
  $('account').hidden = true;
  if (poll) clearTimeout(poll);
}

/** @param {boolean} pending */
async function showAccount(pending) {
  if (!account) return;
  $('signin').hidden = true;
  $('account').hidden = false;
  $('account-email').textContent = account.email;
  /** @type {HTMLInputElement} */ ($('profile-name')).value = account.name;
  /** @type {HTMLInputElement} */ ($('profile-business')).value = account.businessName ?? '';
  $('rights').hidden = pending;
  await loadRequests();
  await loadNotices();
}

// --- notices that did not arrive by email (issue 34 item 4) -----------------------------------

/** The account's notices from GET /v1/me (the session cookie reaches it), each with a button that acknowledges it. */
async function loadNotices() {
  const res = await api('GET', '/v1/me');
  const list = $('notices-list');
  list.replaceChildren();
  const notices = res.status === 200 && Array.isArray(res.json?.notices) ? res.json.notices : [];
  for (const n of notices) {
    const item = document.createElement('li');
    const subject = document.createElement('strong');
    subject.textContent = n.subject;
    const said = document.createElement('p');
    said.textContent = TEXT.noticeSent(day(n.createdAt), TEXT.noticeReasons[n.reason] ?? TEXT.noticeReasonUnknown, TEXT.noticeHints[n.kind] ?? '');
    const ack = document.createElement('button');
    ack.type = 'button';
    ack.textContent = TEXT.markRead;
    ack.setAttribute('aria-label', TEXT.markReadLabel(n.subject));
    ack.addEventListener('click', () => void acknowledge(n.id));
    item.append(subject, said, ack);
    list.append(item);
  }
  $('notices').hidden = notices.length === 0;
}

/** @param {string} id */
async function acknowledge(id) {
  const res = await api('POST', `/v1/me/notices/${encodeURIComponent(id)}/ack`);
  if (res.status !== 200) return say(TEXT.markReadFailed(codeOf(res)));
  say(TEXT.markedRead);
  await loadNotices();
}

async function signIn(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('api-key'));
  const apiKey = input.value.trim();
  input.value = '';
  const res = await api('POST', '/v1/privacy/session', { apiKey });
  if (res.status !== 201) return say(res.status === 401 ? TEXT.keyRefused : TEXT.signInFailed(codeOf(res)));
  say(TEXT.signedIn);
  await loadSession();
  $('account-title').focus();
}

async function signOut() {
  await api('DELETE', '/v1/privacy/session');
  csrf = null;
  account = null;
  say(TEXT.signedOut);
  showSignedOut();
}

// --- requests --------------------------------------------------------------------------------

/** @param {string} kind */
async function file(kind) {
  const res = await api('POST', '/v1/privacy/requests', { kind });
  if (res.status !== 202) return say(TEXT.fileFailed(codeOf(res)));
  say(TEXT.filed(KIND_NAMES[kind] ?? kind, day(res.json.dueAt)));
  await loadRequests();
}

async function loadRequests() {
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
    const what = cell(KIND_NAMES[r.kind] ?? r.kind);
    const lifted = r.kind === 'restriction' && (r.history ?? []).some((/** @type {any} */ h) => h.event === 'lifted');
    cell(lifted ? TEXT.lifted : (TEXT.statuses[r.status] ?? r.status));
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
      download.textContent = TEXT.download;
      download.setAttribute('aria-label', TEXT.downloadLabel(KIND_NAMES[r.kind] ?? r.kind, day(r.export.expiresAt)));
      form.append(download);
      // The link works once: the list is read again after the download starts.
      form.addEventListener('submit', () => void setTimeout(() => void loadRequests(), 2000));
      action.append(form);
    }
    if (r.kind === 'restriction' && r.status === 'fulfilled' && !lifted) {
      const lift = document.createElement('button');
      lift.type = 'button';
      lift.textContent = TEXT.lift;
      lift.addEventListener('click', () => void liftRestriction(r.id));
      action.append(lift);
    }
    if (r.kind === 'deletion' && (r.status === 'open' || r.status === 'in_progress')) pendingDeletion = { request: r, note: purgeSentence(r.history) };
    if (r.status === 'open' || r.status === 'in_progress') {
      waiting = waiting || r.kind === 'access' || r.kind === 'portability';
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.textContent = r.kind === 'deletion' ? TEXT.cancelDeletion : TEXT.cancel;
      cancel.addEventListener('click', () => void cancelRequest(r.id));
      action.append(cancel);
    }
    if (r.receipt) {
      const small = document.createElement('small');
      const erased = r.receipt.handlers.reduce((/** @type {number} */ n, /** @type {any} */ h) => n + (h.erased ?? 0), 0);
      small.textContent = TEXT.erasureReceipt(erased, day(r.receipt.completedAt), r.receipt.keyId);
      what.append(small);
    }
    body.append(row);
  }
  $('pending').hidden = !pendingDeletion;
  $('rights').hidden = Boolean(pendingDeletion);
  if (pendingDeletion) $('pending-text').textContent = TEXT.pendingDeletion(pendingDeletion.note);
  if (poll) clearTimeout(poll);
  if (waiting) poll = setTimeout(() => void loadRequests(), 1500);
}

/** @param {string} id */
async function liftRestriction(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/lift`);
  if (res.status !== 200) return say(TEXT.liftFailed(codeOf(res)));
  await loadRequests();
  say(TEXT.liftedSaid);
}

/** @param {string} id */
async function cancelRequest(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/cancel`);
  if (res.status !== 200) return say(TEXT.cancelFailed(codeOf(res)));
  say(TEXT.canceled);
  await loadSession();
}

async function saveProfile(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('profile-name')).value.trim();
  const business = /** @type {HTMLInputElement} */ ($('profile-business')).value.trim();
  const res = await api('PATCH', '/v1/privacy/profile', { name, businessName: business || null });
  if (res.status !== 200) return say(TEXT.correctFailed(codeOf(res)));
  account = res.json.account;
  say(TEXT.corrected);
  await loadRequests();
}

async function deleteAccount(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const typed = /** @type {HTMLInputElement} */ ($('delete-confirm')).value.trim().toLowerCase();
  if (!account || typed !== account.email.toLowerCase()) return say(TEXT.notYourEmail);
  const res = await api('POST', '/v1/privacy/requests', { kind: 'deletion' });
  if (res.status !== 202) return say(TEXT.deleteFailed(codeOf(res)));
  csrf = null;
  account = null;
  showSignedOut();
  say(TEXT.deletionFiled(purgeSentence(res.json.history)));
}

// --- wiring ----------------------------------------------------------------------------------

for (const button of document.querySelectorAll('#banner [data-choice]')) {
  button.addEventListener('click', (event) => {
    event.preventDefault();
    void decide(/** @type {HTMLElement} */ (button).dataset.choice === 'granted');
  });
}
$('signin-form').addEventListener('submit', (e) => void signIn(/** @type {SubmitEvent} */ (e)));
$('signout').addEventListener('click', () => void signOut());
$('profile-form').addEventListener('submit', (e) => void saveProfile(/** @type {SubmitEvent} */ (e)));
$('delete-form').addEventListener('submit', (e) => void deleteAccount(/** @type {SubmitEvent} */ (e)));
for (const button of document.querySelectorAll('#rights [data-kind]')) {
  button.addEventListener('click', () => void file(/** @type {string} */ (/** @type {HTMLElement} */ (button).dataset.kind)));
}
$('open-preferences').addEventListener('click', () => {
  $('preferences').hidden = false;
  $('pref-analytics').focus();
});
$('preferences-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void decide(/** @type {HTMLInputElement} */ ($('pref-analytics')).checked);
});
$('withdraw').addEventListener('click', () => void withdraw());
$('account-title').tabIndex = -1;

void loadConsent().then(loadSession);
