/**
 * Enforcement at the edge, as plain functions: which `Set-Cookie` headers may leave the server.
 *
 * A header for a refused category passes only when it deletes its cookie, and "deletes" is read
 * the way a browser reads it (RFC 6265 §5.2 and §5.3 step 3): only well-formed `Max-Age` and
 * `Expires` attributes count, the last of each wins, `Max-Age` wins over `Expires`, and dates are
 * parsed with the §5.1.1 cookie-date algorithm. Anything a browser would ignore or read otherwise
 * (`Max-Age=0; Max-Age=31536000`, `Expires=2020`, `Expires=1`) counts as setting a cookie.
 */

/** The cookie name of a Set-Cookie header value (the text before the first "="), trimmed. */
export function setCookieName(header: string): string {
  const end = header.search(/[=;]/);
  return (end < 0 ? header : header.slice(0, end)).trim();
}

// RFC 6265 §5.1.1 delimiter: %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E (the tab written as \t).
const DELIMITER = /[\t\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const TIME = /^(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[^\d].*)?$/;
const DAY = /^(\d{1,2})(?:[^\d].*)?$/;
const YEAR = /^(\d{2,4})(?:[^\d].*)?$/;

/**
 * RFC 6265 §5.1.1: a cookie date, in ms since the epoch, or null when the algorithm fails (the
 * attribute is then ignored). Years 70 to 99 mean 19xx and 0 to 69 mean 20xx; a year before 1601,
 * a day outside 1 to 31 (or past the month's end), an hour over 23, a minute or second over 59
 * fail.
 */
export function parseCookieDate(text: string): number | null {
  let time: [number, number, number] | null = null;
  let day: number | null = null;
  let month: number | null = null;
  let year: number | null = null;
  for (const token of text.split(DELIMITER)) {
    if (!token) continue;
    if (time === null) {
      const m = TIME.exec(token);
      if (m) {
        time = [Number(m[1]), Number(m[2]), Number(m[3])];
        continue;
      }
    }
    if (day === null) {
      const m = DAY.exec(token);
      if (m) {
        day = Number(m[1]);
        continue;
      }
    }
    if (month === null) {
      const index = MONTHS.indexOf(token.slice(0, 3).toLowerCase());
      if (token.length >= 3 && index >= 0) {
        month = index;
        continue;
      }
    }
    if (year === null) {
      const m = YEAR.exec(token);
      if (m) {
        year = Number(m[1]);
        continue;
      }
    }
  }
  if (time === null || day === null || month === null || year === null) return null;
  if (year >= 70 && year <= 99) year += 1900;
  else if (year >= 0 && year <= 69) year += 2000;
  if (day < 1 || day > 31 || year < 1601 || time[0] > 23 || time[1] > 59 || time[2] > 59) return null;
  const ms = Date.UTC(year, month, day, time[0], time[1], time[2]);
  // A day past the month's end (31 February) is not a date: the user agent ignores the attribute.
  if (new Date(ms).getUTCDate() !== day) return null;
  return ms;
}

/**
 * When the cookie a header sets expires, as a browser computes it: ms since the epoch, -Infinity
 * for "at once" (Max-Age ≤ 0), or null for a session cookie (no valid Max-Age or Expires).
 */
export function cookieExpiry(header: string, nowMs: number): number | null {
  let maxAge: number | null = null;
  let expires: number | null = null;
  const attributes = header.split(';');
  for (let i = 1; i < attributes.length; i++) {
    const attribute = attributes[i]!;
    const eq = attribute.indexOf('=');
    const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : attribute.slice(eq + 1).trim();
    if (key === 'max-age') {
      // §5.2.2: a first character that is neither a digit nor "-", or any other non-digit, and
      // the attribute is ignored (an earlier valid one then still stands).
      if (!/^-?\d+$/.test(value)) continue;
      const seconds = Number(value);
      maxAge = seconds <= 0 ? -Infinity : nowMs + seconds * 1000;
    } else if (key === 'expires') {
      const date = parseCookieDate(value);
      if (date !== null) expires = date;
    }
  }
  return maxAge ?? expires;
}

/** A header that deletes its cookie (a browser would store nothing) always passes. */
export function isClearing(header: string, nowMs: number): boolean {
  const expiry = cookieExpiry(header, nowMs);
  return expiry !== null && expiry <= nowMs;
}

/**
 * Splits Set-Cookie values into the ones allowed and the names of the ones removed.
 * `allows(name)` answers for one cookie name.
 */
export function filterSetCookies(
  headers: readonly string[],
  allows: (name: string) => boolean,
  nowMs: number,
): { kept: string[]; removed: string[] } {
  const kept: string[] = [];
  const removed: string[] = [];
  for (const header of headers) {
    const name = setCookieName(header);
    if (allows(name) || isClearing(header, nowMs)) kept.push(header);
    else removed.push(name);
  }
  return { kept, removed };
}
