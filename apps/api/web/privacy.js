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

// Every word the script shows comes from the page's language catalogue (web/i18n/<language>.json,
// its `js.` keys): the server puts it in the page as a JSON data block (`#text`), whole sentences
// with `{name}` placeholders, filled here and never assembled from translated parts. `{code}` is an
// error's HF_ code or HTTP status.
/** @type {Record<string, string>} */
const TEXT = JSON.parse(/** @type {HTMLElement} */ (document.getElementById('text')).textContent ?? '{}');
/**
 * A catalogue text with its placeholders filled (the key itself when the catalogue lacks it: the
 * catalogue tests make sure it does not).
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 */
function t(key, values = {}) {
  return (TEXT[key] ?? key).replace(/\{([A-Za-z]+)\}/g, (whole, /** @type {string} */ name) =>
    name in values ? String(values[name]) : whole,
  );
}
/** A kind's name, or the raw kind when the catalogue has none. @param {string} kind */
const kindName = (kind) => TEXT[`kind.${kind}`] ?? kind;
/** A request's name in the list: its kind, or what it is about when a contact is its subject. @param {any} r */
function requestName(r) {
  if (r.subject?.kind !== 'contact') return kindName(r.kind);
  return TEXT[`contactKind.${r.kind}`] ?? kindName(r.kind);
}
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
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

/** The purge date a deletion's history states ("purge at <ISO time>"), as a date in the page's language ('' when none). @param {any[] | undefined} history */
function purgeDate(history) {
  for (const h of history ?? []) {
    const m = /purge at (\S+)/.exec(h.note ?? '');
    if (m) return day(m[1]);
  }
  return '';
}

/** @param {string | undefined | null} iso */
const day = (iso) =>
  iso
    ? new Date(iso).toLocaleDateString(t('locale'), { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
    : '';

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
    $('policy-notice').textContent = t('policyChanges', { date: day(upcoming.effectiveAt), version: upcoming.version });
  }
}

/** @param {boolean} analytics */
async function decide(analytics) {
  const res = await api('PUT', '/v1/consent', { analytics });
  if (res.status !== 200) return say(t('choiceFailed', { code: codeOf(res) }));
  await counted();
  say(analytics ? t('analyticsOn') : t('analyticsOff'));
}

/** The page view, counted under the choice just made (HEAD /privacy sets the analytics cookie only when it is allowed). */
async function counted() {
  await fetch('/privacy', { method: 'HEAD', credentials: 'same-origin' });
  await loadConsent();
}

async function withdraw() {
  const res = await api('DELETE', '/v1/consent');
  if (res.status !== 200) return say(t('withdrawFailed', { code: codeOf(res) }));
  await counted();
  say(t('withdrawn'));
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
async function acknowledge(id) {
  const res = await api('POST', `/v1/me/notices/${encodeURIComponent(id)}/ack`);
  if (res.status !== 200) return say(t('markReadFailed', { code: codeOf(res) }));
  say(t('markedRead'));
  await loadNotices();
}

async function signIn(/** @type {SubmitEvent} */ event) {
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

async function signOut() {
  await api('DELETE', '/v1/privacy/session');
  csrf = null;
  account = null;
  say(t('signedOut'));
  showSignedOut();
}

// --- requests --------------------------------------------------------------------------------

/** @param {string} kind */
async function file(kind) {
  const res = await api('POST', '/v1/privacy/requests', { kind });
  if (res.status !== 202) return say(t('fileFailed', { code: codeOf(res) }));
  say(t('filed', { kind: kindName(kind), date: day(res.json.dueAt) }));
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
  if (poll) clearTimeout(poll);
  if (waiting) poll = setTimeout(() => void loadRequests(), 1500);
}

/** @param {string} id */
async function liftRestriction(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/lift`);
  if (res.status !== 200) return say(t('liftFailed', { code: codeOf(res) }));
  await loadRequests();
  say(t('liftedSaid'));
}

/** @param {string} id */
async function cancelRequest(id) {
  const res = await api('POST', `/v1/privacy/requests/${id}/cancel`);
  if (res.status !== 200) return say(t('cancelFailed', { code: codeOf(res) }));
  say(t('canceled'));
  await loadSession();
}

async function saveProfile(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('profile-name')).value.trim();
  const business = /** @type {HTMLInputElement} */ ($('profile-business')).value.trim();
  const res = await api('PATCH', '/v1/privacy/profile', { name, businessName: business || null });
  if (res.status !== 200) return say(t('correctFailed', { code: codeOf(res) }));
  account = res.json.account;
  say(t('corrected'));
  await loadRequests();
}

async function deleteAccount(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const typed = /** @type {HTMLInputElement} */ ($('delete-confirm')).value.trim().toLowerCase();
  if (!account || typed !== account.email.toLowerCase()) return say(t('notYourEmail'));
  const res = await api('POST', '/v1/privacy/requests', { kind: 'deletion' });
  if (res.status !== 202) return say(t('deleteFailed', { code: codeOf(res) }));
  csrf = null;
  account = null;
  showSignedOut();
  const purge = purgeDate(res.json.history);
  say(purge ? t('deletionFiled', { date: purge }) : t('deletionFiledUndated'));
}

// --- objection and withdrawal of consent (issue 32 item 6) ----------------------------------

async function object(/** @type {SubmitEvent} */ event) {
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

async function withdrawConsent(/** @type {SubmitEvent} */ event) {
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

// --- receipts: downloaded as signed, checked here with the published keys ---------------------

const KEYS_URL = '/.well-known/harakaflow-signing-keys.json';

/** The signed receipt as a file: its JSON exactly as the API gave it (the signature covers the values, not the spacing). */
function downloadReceipt(/** @type {any} */ receipt, /** @type {string} */ id) {
  const url = URL.createObjectURL(new Blob([`${JSON.stringify(receipt, null, 2)}\n`], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = t('receiptFile', { id });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The first line of an objection's or a withdrawal's details in the page's language: the API
 * writes it in English for the privacy team (request-details.ts); the use is named by its id, and
 * its words are the objection form's own option. Any other line (the person's words) as it is.
 * @param {string} line
 */
function aboutLine(line) {
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

/**
 * The text that was signed: @harakaflow/core's canonicalJson (keys sorted, no whitespace,
 * undefined members left out, non-finite numbers as null), which every receipt's signature covers.
 * @param {unknown} value
 * @returns {string}
 */
function canonicalJson(value) {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const record = /** @type {Record<string, unknown>} */ (value);
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      return 'null';
  }
}

/** base64url to bytes; null when it is not base64url. @param {string} text */
function base64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(
      text
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(text.length / 4) * 4, '='),
    );
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    // A length no base64 has (4k + 1): not a signature.
    return null;
  }
}

/**
 * An erasure receipt's shape (data-rights' Receipt): the same key signs export manifests, so a
 * signature alone does not make a document a receipt.
 * @param {Record<string, unknown>} signed
 */
function isReceiptShape(signed) {
  const handlers = signed.handlers;
  return (
    typeof signed.requestId === 'string' &&
    typeof signed.subjectHash === 'string' &&
    typeof signed.completedAt === 'string' &&
    !Number.isNaN(Date.parse(signed.completedAt)) &&
    Array.isArray(handlers) &&
    handlers.every(
      (h) =>
        h &&
        typeof h === 'object' &&
        typeof h.name === 'string' &&
        Number.isInteger(h.erased) &&
        Number.isInteger(h.kept),
    )
  );
}

/**
 * Checks a receipt's Ed25519 signature with WebCrypto against the JWK set the app publishes (the
 * key whose `kid` is its `keyId`), over the canonical JSON of the receipt without `keyId` and
 * `signature`: what anyone can do with the published keys alone (README, "Checking a receipt").
 * @param {unknown} receipt
 * @returns {Promise<{ verdict: 'verified' | 'mismatch' | 'unknownKey' | 'notReceipt' | 'noKeys' | 'unsupported', keyId?: string }>}
 */
async function checkReceipt(receipt) {
  if (!receipt || typeof receipt !== 'object' || Array.isArray(receipt)) return { verdict: 'notReceipt' };
  const { keyId, signature, ...signed } = /** @type {Record<string, unknown>} */ (receipt);
  if (typeof keyId !== 'string' || typeof signature !== 'string' || !isReceiptShape(signed))
    return { verdict: 'notReceipt' };
  /** @type {any[]} */
  let keys;
  try {
    const res = await fetch(KEYS_URL, { credentials: 'omit', cache: 'no-cache' });
    keys = res.ok ? (await res.json())?.keys : null;
    if (!Array.isArray(keys)) return { verdict: 'noKeys', keyId };
  } catch {
    return { verdict: 'noKeys', keyId };
  }
  const jwk = keys.find(
    (k) => k && k.kid === keyId && k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string',
  );
  if (!jwk) return { verdict: 'unknownKey', keyId };
  const bytes = base64url(signature);
  if (!bytes || bytes.length !== 64) return { verdict: 'mismatch', keyId };
  /** @type {CryptoKey} */
  let key;
  try {
    // Not in a secure context (plain http but to this machine), or a browser without Ed25519: said so, not "not verified".
    key = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, [
      'verify',
    ]);
  } catch {
    return { verdict: 'unsupported', keyId };
  }
  const ok = await crypto.subtle.verify(
    { name: 'Ed25519' },
    key,
    bytes,
    new TextEncoder().encode(canonicalJson(signed)),
  );
  return { verdict: ok ? 'verified' : 'mismatch', keyId };
}

/**
 * The verdict as a sentence; a verified one also says what it covers (the request, the subject's
 * hash, each part's counts), so that the words around a pasted receipt cannot claim more.
 * @param {Awaited<ReturnType<typeof checkReceipt>>} result @param {any} receipt
 */
function verdictText({ verdict, keyId = '' }, receipt) {
  const said = t(`verdict.${verdict}`, { keyId, date: verdict === 'verified' ? day(receipt.completedAt) : '' });
  if (verdict !== 'verified') return said;
  const parts = receipt.handlers
    .map((/** @type {any} */ h) => t('verdict.part', { name: h.name, erased: String(h.erased), kept: String(h.kept) }))
    .join('; ');
  return `${said} ${t('verdict.covers', { requestId: receipt.requestId, subjectHash: receipt.subjectHash, parts })}`;
}

/** @param {HTMLElement} where @param {unknown} receipt */
async function showVerdict(where, receipt) {
  where.textContent = t('checking');
  let result;
  try {
    result = await checkReceipt(receipt);
  } catch {
    // Anything the check could not take is not verified: never a "Checking…" left on screen.
    result = /** @type {const} */ ({ verdict: 'mismatch' });
  }
  where.textContent = verdictText(result, receipt);
}

/**
 * A receipt from a file or pasted text: the JSON itself, the JSON inside a longer text (the line
 * of the email that carries it), or a request as the API shows it (its `receipt`).
 * @param {string} text
 * @returns {unknown}
 */
function receiptFrom(text) {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  for (const candidate of [text, start >= 0 && end > start ? text.slice(start, end + 1) : null]) {
    if (candidate === null) continue;
    try {
      const value = JSON.parse(candidate);
      // A request as the API shows it (its own fields, no signature of its own) carries its receipt.
      const isRequest =
        value &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        !('signature' in value) &&
        typeof value.id === 'string' &&
        typeof value.status === 'string';
      return isRequest && value.receipt && typeof value.receipt === 'object' ? value.receipt : value;
    } catch {
      // not JSON: the next candidate
    }
  }
  return undefined;
}

async function checkGiven(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const pasted = /** @type {HTMLTextAreaElement} */ ($('receipt-text')).value;
  const file = /** @type {HTMLInputElement} */ ($('receipt-file')).files?.[0];
  // Pasted text when there is some, else the file chosen.
  const text = pasted.trim() ? pasted : file ? await file.text() : '';
  if (!text.trim()) {
    $('check-result').textContent = t('checkNothing');
    return;
  }
  await showVerdict($('check-result'), receiptFrom(text));
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
$('objection-form').addEventListener('submit', (e) => void object(/** @type {SubmitEvent} */ (e)));
$('withdrawal-form').addEventListener('submit', (e) => void withdrawConsent(/** @type {SubmitEvent} */ (e)));
$('check-form').addEventListener('submit', (e) => void checkGiven(/** @type {SubmitEvent} */ (e)));
// Checking a receipt needs this script (WebCrypto): shown to everyone once it runs, signed in or not.
$('check').hidden = false;
for (const button of document.querySelectorAll('#rights [data-kind]')) {
  button.addEventListener(
    'click',
    () => void file(/** @type {string} */ (/** @type {HTMLElement} */ (button).dataset.kind)),
  );
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
