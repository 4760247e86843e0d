// @ts-check
// The privacy centre script's shared parts: the page's elements and texts, the session state, the API call.

export const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** What the page knows of its session: the CSRF token, the signed-in account, the requests' poll timer. */
export const state = {
  /** @type {string | null} */
  csrf: null,
  /** @type {{ id: string, email: string, name: string, businessName: string | null } | null} */
  account: null,
  /** @type {ReturnType<typeof setTimeout> | null} */
  poll: null,
};

// Every word the script shows comes from the page's language catalogue (web/i18n/<language>.json,
// its `js.` keys): the server puts it in the page as a JSON data block (`#text`), whole sentences
// with `{name}` placeholders, filled here and never assembled from translated parts. `{code}` is an
// error's HF_ code or HTTP status.
/** @type {Record<string, string>} */
export const TEXT = JSON.parse(/** @type {HTMLElement} */ (document.getElementById('text')).textContent ?? '{}');
/**
 * A catalogue text with its placeholders filled (the key itself when the catalogue lacks it: the
 * catalogue tests make sure it does not).
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 */
export function t(key, values = {}) {
  return (TEXT[key] ?? key).replace(/\{([A-Za-z]+)\}/g, (whole, /** @type {string} */ name) =>
    name in values ? String(values[name]) : whole,
  );
}
/** A kind's name, or the raw kind when the catalogue has none. @param {string} kind */
export const kindName = (kind) => TEXT[`kind.${kind}`] ?? kind;
/** A request's name in the list: its kind, or what it is about when a contact is its subject. @param {any} r */
export function requestName(r) {
  if (r.subject?.kind !== 'contact') return kindName(r.kind);
  return TEXT[`contactKind.${r.kind}`] ?? kindName(r.kind);
}
/** An error's code for a sentence: the HF_ code of the one error shape, else the HTTP status. @param {{ status: number, json: any }} res */
export const codeOf = (res) => String(res.json?.code ?? res.status);

/** @param {string} message */
export function say(message) {
  $('status').textContent = message;
}

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<{ status: number, json: any }>}
 */
export async function api(method, url, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (state.csrf && method !== 'GET') headers['x-csrf-token'] = state.csrf;
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
export function purgeDate(history) {
  for (const h of history ?? []) {
    const m = /purge at (\S+)/.exec(h.note ?? '');
    if (m) return day(m[1]);
  }
  return '';
}

/** @param {string | undefined | null} iso */
export const day = (iso) =>
  iso
    ? new Date(iso).toLocaleDateString(t('locale'), { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
    : '';

export function showSignedOut() {
  $('signin').hidden = false;
  $('account').hidden = true;
  if (state.poll) clearTimeout(state.poll);
}
