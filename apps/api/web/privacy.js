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

const KIND_NAMES = /** @type {Record<string, string>} */ ({
  access: 'A copy of my data',
  portability: 'My data, portable',
  correction: 'Correction',
  deletion: 'Deletion of my account',
  restriction: 'Restriction of processing',
  objection: 'Objection',
  withdraw_consent: 'Withdrawal of consent',
});
const STATUS_NAMES = /** @type {Record<string, string>} */ ({ open: 'Received', in_progress: 'In progress', fulfilled: 'Done', denied: 'Denied', canceled: 'Canceled', expired: 'Expired' });

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
    if (m) return `It will be deleted on ${day(m[1])}.`;
  }
  return '';
}

/** @param {string | undefined | null} iso */
const day = (iso) => (iso ? new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }) : '');

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
    $('policy-notice').textContent = `Our privacy policy changes on ${day(upcoming.effectiveAt)} (version ${upcoming.version}).`;
  }
}

/** @param {boolean} analytics */
async function decide(analytics) {
  const res = await api('PUT', '/v1/consent', { analytics });
  if (res.status !== 200) return say(`Your choice could not be saved (${res.json?.code ?? res.status}).`);
  await counted();
  say(analytics ? 'Your choice is saved: analytics cookies are on.' : 'Your choice is saved: analytics cookies are off.');
}

/** The page view, counted under the choice just made (HEAD /privacy sets the analytics cookie only when it is allowed). */
async function counted() {
  await fetch('/privacy', { method: 'HEAD', credentials: 'same-origin' });
  await loadConsent();
}

async function withdraw() {
  const res = await api('DELETE', '/v1/consent');
  if (res.status !== 200) return say(`Your consent could not be withdrawn (${res.json?.code ?? res.status}).`);
  await counted();
  say('Your consent is withdrawn: analytics cookies are off and removed.');
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

const REASONS = /** @type {Record<string, string>} */ ({
  bounced: 'your mail server sent it back',
  complained: 'it was reported as spam',
});
const NOTICE_HINTS = /** @type {Record<string, string>} */ ({
  'policy.upcoming': 'Our privacy policy is changing: the notice at the top of this page says when.',
  'privacy.request.updated': 'It is about one of your requests: see "Your requests" below.',
});

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
    said.textContent = `Sent ${day(n.createdAt)}; ${REASONS[n.reason] ?? 'it did not arrive'}. ${NOTICE_HINTS[n.kind] ?? ''}`;
    const ack = document.createElement('button');
    ack.type = 'button';
    ack.textContent = 'Mark as read';
    ack.setAttribute('aria-label', `Mark as read: ${n.subject}`);
    ack.addEventListener('click', () => void acknowledge(n.id));
    item.append(subject, said, ack);
    list.append(item);
  }
  $('notices').hidden = notices.length === 0;
}

/** @param {string} id */
async function acknowledge(id) {
  const res = await api('POST', `/v1/me/notices/${encodeURIComponent(id)}/ack`);
  if (res.status !== 200) return say(`The notice could not be marked as read (${res.json?.code ?? res.status}).`);
  say('Marked as read.');
  await loadNotices();
}

async function signIn(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('api-key'));
  const apiKey = input.value.trim();
  input.value = '';
  const res = await api('POST', '/v1/privacy/session', { apiKey });
  if (res.status !== 201) return say(res.status === 401 ? 'That API key was not accepted.' : `Signing in failed (${res.json?.code ?? res.status}).`);
  say('Signed in.');
  await loadSession();
  $('account-title').focus();
}

async function signOut() {
  await api('DELETE', '/v1/privacy/session');
  csrf = null;
  account = null;
  say('Signed out.');
  showSignedOut();
}

// --- requests --------------------------------------------------------------------------------

/** @param {string} kind */
async function file(kind) {
  const res = await api('POST', '/v1/privacy/requests', { kind });
  if (res.status !== 202) return say(`The request could not be filed (${res.json?.code ?? res.status}).`);
  say(`${KIND_NAMES[kind] ?? kind}: received. Due by ${day(res.json.dueAt)}.`);
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
    cell(lifted ? 'Lifted' : (STATUS_NAMES[r.status] ?? r.status));
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
      download.textContent = 'Download';
      download.setAttribute('aria-label', `Download ${KIND_NAMES[r.kind] ?? r.kind} (link valid until ${day(r.export.expiresAt)})`);
      form.append(download);
      // The link works once: the list is read again after the download starts.
      form.addEventListener('submit', () => void setTimeout(() => void loadRequests(), 2000));
      action.append(form);
    }
    if (r.kind === 'restriction' && r.status === 'fulfilled' && !lifted) {
      const lift = document.createElement('button');
      lift.type = 'button';
      lift.textContent = 'Lift restriction';
      lift.addEventListener('click', () => void liftRestriction(r.id));
      action.append(lift);
    }
    if (r.kind === 'deletion' && (r.status === 'open' || r.status === 'in_progress')) pendingDeletion = { request: r, note: purgeSentence(r.history) };
    if (r.status === 'open' || r.status === 'in_progress') {
      waiting = waiting || r.kind === 'access' || r.kind === 'portability';
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.textContent = r.kind === 'deletion' ? 'Cancel deletion' : 'Cancel';
      cancel.addEventListener('click', () => void cancelRequest(r.id));
      action.append(cancel);
    }
    if (r.receipt) {
      const small = document.createElement('small');
      const erased = r.receipt.handlers.reduce((/** @type {number} */ n, /** @type {any} */ h) => n + (h.erased ?? 0), 0);
      small.textContent = `Erasure receipt: ${erased} record(s) erased, signed ${day(r.receipt.completedAt)} (key ${r.receipt.keyId}).`;
      what.append(small);
    }
    body.append(row);
  }
  $('pending').hidden = !pendingDeletion;
  $('rights').hidden = Boolean(pendingDeletion);
  if (pendingDeletion) $('pending-text').textContent = `Your account is due to be deleted. ${pendingDeletion.note} Cancel it in the list below before then to keep it.`;
  if (poll) clearTimeout(poll);
  if (waiting) poll = setTimeout(() => void loadRequests(), 1500);
}

/** @param {string} id */
async function liftRestriction(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/lift`);
  if (res.status !== 200) return say(`The restriction could not be lifted (${res.json?.code ?? res.status}).`);
  await loadRequests();
  say('The restriction is lifted: your data is processed again as the privacy policy describes.');
}

/** @param {string} id */
async function cancelRequest(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/cancel`);
  if (res.status !== 200) return say(`The request could not be canceled (${res.json?.code ?? res.status}).`);
  say('Canceled.');
  await loadSession();
}

async function saveProfile(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('profile-name')).value.trim();
  const business = /** @type {HTMLInputElement} */ ($('profile-business')).value.trim();
  const res = await api('PATCH', '/v1/privacy/profile', { name, businessName: business || null });
  if (res.status !== 200) return say(`Your corrections could not be saved (${res.json?.code ?? res.status}).`);
  account = res.json.account;
  say('Corrections saved.');
  await loadRequests();
}

async function deleteAccount(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const typed = /** @type {HTMLInputElement} */ ($('delete-confirm')).value.trim().toLowerCase();
  if (!account || typed !== account.email.toLowerCase()) return say("That is not your account's email: nothing was deleted.");
  const res = await api('POST', '/v1/privacy/requests', { kind: 'deletion' });
  if (res.status !== 202) return say(`The deletion could not be requested (${res.json?.code ?? res.status}).`);
  csrf = null;
  account = null;
  showSignedOut();
  say(`Deletion requested: you are signed out. ${purgeSentence(res.json.history)} Sign in again with your key before then to cancel it.`);
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
