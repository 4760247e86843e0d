/**
 * Enforcement at the edge, as plain functions: which `Set-Cookie` headers may leave the server.
 */

/** The cookie name of a Set-Cookie header value (the text before the first "="), trimmed. */
export function setCookieName(header: string): string {
  const end = header.search(/[=;]/);
  return (end < 0 ? header : header.slice(0, end)).trim();
}

/** A header that deletes its cookie (Max-Age ≤ 0, or Expires in the past) always passes. */
export function isClearing(header: string, nowMs: number): boolean {
  const attributes = header.split(';').slice(1);
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : attribute.slice(eq + 1).trim();
    // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
    if (key === 'max-age') return /^-?\d+$/.test(value) && Number(value) <= 0;
  }
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    if (eq < 0 || attribute.slice(0, eq).trim().toLowerCase() !== 'expires') continue;
    const time = Date.parse(attribute.slice(eq + 1).trim());
    return Number.isFinite(time) && time <= nowMs;
  }
  return false;
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
    if (isClearing(header, nowMs) || allows(name)) kept.push(header);
    else removed.push(name);
  }
  return { kept, removed };
}
