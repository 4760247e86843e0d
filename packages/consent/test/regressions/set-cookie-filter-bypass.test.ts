// Issue 12 item 5: with analytics refused, `Max-Age=0; Max-Age=31536000`, `Expires=<1970>;
// Expires=<2100>`, `Expires=2020` and `Expires=1` were taken for deletions and let through;
// browsers store every one of them. The filter now reads attributes as RFC 6265 §5.2 says, and a
// real cookie jar (tough-cookie) is the oracle of a property test.
import fc from 'fast-check';
import { Cookie } from 'tough-cookie';
import { describe, expect, it } from 'vitest';
import { cookieExpiry, filterSetCookies, isClearing, parseCookieDate } from '../../src/set-cookie.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

/**
 * Would a real cookie jar keep the cookie this header sets, at NOW? tough-cookie parses it (its
 * loose mode takes nameless cookies, as RFC 6265bis does) and its TTL at NOW is what the jar
 * compares: 0 means expired on arrival, Infinity a session cookie.
 */
function jarStores(header: string): boolean {
  const cookie = Cookie.parse(header, { loose: true });
  return cookie !== undefined && cookie !== null && cookie.TTL(NOW) > 0;
}

const refuseAll = (headers: string[]) => filterSetCookies(headers, () => false, NOW).kept;

describe('Set-Cookie deletions are read as browsers read them', () => {
  it.each([
    'hf_aid=x; Max-Age=0; Max-Age=31536000',
    'hf_aid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Expires=Fri, 01 Jan 2100 00:00:00 GMT',
    'hf_aid=x; Expires=2020',
    'hf_aid=x; Expires=1',
    'hf_aid=x; Max-Age=0x10',
    'hf_aid=x; Max-Age=-1; Max-Age=60',
    'hf_aid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60',
    'hf_aid=x; Expires=31 Feb 2020 00:00:00',
  ])('%s is a cookie being set: removed', (header) => {
    expect(jarStores(header)).toBe(true);
    expect(refuseAll([header])).toEqual([]);
  });

  it.each([
    'hf_aid=; Max-Age=0',
    'hf_aid=; Max-Age=60; Max-Age=0',
    'hf_aid=; Max-Age=-5',
    'hf_aid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    'hf_aid=; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT',
    'hf_aid=; Max-Age=0; Max-Age=abc',
    'hf_aid=x; Max-Age=-1; Max-Age=+5', // "+" is not a valid first character: the attribute is ignored
    'hf_aid=; expires=Wed, 21-Oct-15 07:28:00 GMT',
  ])('%s deletes its cookie: let through', (header) => {
    expect(jarStores(header)).toBe(false);
    expect(refuseAll([header])).toEqual([header]);
  });

  it('parses cookie dates as §5.1.1 does', () => {
    expect(parseCookieDate('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(Date.UTC(2015, 9, 21, 7, 28, 0));
    expect(parseCookieDate('21-Oct-15 07:28:00')).toBe(Date.UTC(2015, 9, 21, 7, 28, 0));
    expect(parseCookieDate('Oct 21 99 7:28:0')).toBe(Date.UTC(1999, 9, 21, 7, 28, 0));
    for (const bad of [
      '2020',
      '1',
      '',
      '21 Oct 1600 00:00:00',
      '32 Oct 2015 00:00:00',
      '21 Oct 2015 24:00:00',
      '29 Feb 2023 00:00:00',
    ])
      expect(parseCookieDate(bad), bad).toBeNull();
    expect(cookieExpiry('a=b', NOW)).toBeNull();
  });

  // Attribute lists built from the pieces that confuse parsers: repeated, invalid and valid
  // Max-Age and Expires in any order, odd case and spacing.
  const dates = fc.oneof(
    fc.integer({ min: -2_000_000_000, max: 4_000_000_000 }).map((s) => new Date(s * 1000).toUTCString()),
    fc.constantFrom(
      '2020',
      '1',
      '0',
      'Thu, 01 Jan 1970 00:00:00 GMT',
      'Fri, 01 Jan 2100 00:00:00 GMT',
      '31 Feb 2030 00:00:00',
      'garbage',
      '',
      '01-Jan-70 00:00:01',
      'Jan 1 69 0:0:0',
    ),
  );
  const maxAge = fc.constantFrom('Max-Age', 'max-age', 'MAX-AGE', ' Max-Age ');
  const expires = fc.constantFrom('Expires', 'expires', 'EXPIRES', ' Expires');
  const attribute = fc.oneof(
    fc
      .tuple(
        maxAge,
        fc.oneof(
          fc.integer({ min: -100, max: 100 }).map(String),
          fc.constantFrom('0', '-0', '+5', '1e3', '0x1', ' 5', '', 'abc', '00', '99999999999999999999'),
        ),
      )
      .map(([k, v]) => `${k}=${v}`),
    fc.tuple(expires, dates).map(([k, d]) => `${k}=${d}`),
    fc.constantFrom('Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax', 'Domain=example.com'),
  );
  const header = fc
    .tuple(
      fc.constantFrom('hf_aid=x', 'hf_aid=', 'hf_aid'),
      fc.array(attribute, { maxLength: 5 }),
      fc.constantFrom('; ', ';', ' ; '),
    )
    .map(([pair, attributes, separator]) => [pair, ...attributes].join(separator));

  it('every header let through for a refused category is one a real cookie jar does not store (property)', () => {
    fc.assert(
      fc.property(header, (h) => {
        if (refuseAll([h]).length) expect(jarStores(h), h).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with the jar on which headers delete (property)', () => {
    fc.assert(
      fc.property(header, (h) => {
        if (!h.startsWith('hf_aid=')) return; // a nameless cookie is the jar's business, not a deletion
        expect(isClearing(h, NOW), h).toBe(!jarStores(h));
      }),
      { numRuns: 3000 },
    );
  });
});
