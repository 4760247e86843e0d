import {
  checkPolicies,
  filterSetCookies,
  isClearing,
  policyStatus,
  setCookieName,
} from '@harakaflow/consent/internals';
import { describe, expect, it } from 'vitest';

const NOW = Date.parse('2026-06-01T00:00:00Z');

describe('Set-Cookie filtering', () => {
  it('reads the cookie name of a header', () => {
    expect(setCookieName('hf_aid=abc; Path=/')).toBe('hf_aid');
    expect(setCookieName(' spaced =v')).toBe('spaced');
    expect(setCookieName('noequals; Path=/')).toBe('noequals');
  });

  it.each([
    ['x=; Max-Age=0', true],
    ['x=; max-age=-1; Path=/', true],
    ['x=1; Max-Age=60', false],
    ['x=; Expires=Thu, 01 Jan 1970 00:00:00 GMT', true],
    ['x=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT', false],
    ['x=; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT', false],
    ['x=1; Expires=garbage', false],
    ['x=1', false],
  ])('%s clears the cookie: %s', (header, clearing) => {
    expect(isClearing(header, NOW)).toBe(clearing);
  });

  it('keeps allowed and clearing cookies and names the removed ones', () => {
    const result = filterSetCookies(['a=1', 'b=2', 'b=; Max-Age=0', 'c=3'], (name: string) => name === 'a', NOW);
    expect(result).toEqual({ kept: ['a=1', 'b=; Max-Age=0'], removed: ['b', 'c'] });
  });
});

describe('policy versions', () => {
  const base = { version: 'v1', publishedAt: '2025-01-01', effectiveAt: '2025-01-01', material: true };

  it('refuses a material change with less than 14 days of notice (HF_CONSENT_NOTICE_PERIOD)', () => {
    expect(() =>
      checkPolicies([
        base,
        { version: 'v2', publishedAt: '2026-05-01T00:00:00Z', effectiveAt: '2026-05-14T23:59:59Z', material: true },
      ]),
    ).toThrow(expect.objectContaining({ code: 'HF_CONSENT_NOTICE_PERIOD' }));
    expect(() =>
      checkPolicies([base, { version: 'v2', publishedAt: '2026-05-01', effectiveAt: '2026-05-15', material: true }]),
    ).not.toThrow();
    expect(() =>
      checkPolicies([base, { version: 'v2', publishedAt: '2026-05-01', effectiveAt: '2026-05-02', material: false }]),
    ).not.toThrow();
  });

  it.each([
    [[], 'policies'],
    [[{ ...base, version: 'bad version' }], 'policies[0].version'],
    [[base, base], 'policies[1].version'],
    [[{ ...base, effectiveAt: 'nope' }], 'policies[0].effectiveAt'],
    [[{ ...base, material: 'yes' }], 'policies[0].material'],
    [[{ ...base, effectiveAt: '2024-01-01' }], 'policies[0].effectiveAt'],
  ])('refuses %j naming %s', (policies, option) => {
    expect(() => checkPolicies(policies)).toThrow(
      expect.objectContaining({ code: 'HF_CONSENT_INVALID_OPTION', message: expect.stringContaining(`"${option}"`) }),
    );
  });

  it('tells the current version, the material change in force and the upcoming notice', () => {
    const policies = checkPolicies([
      base,
      { version: 'v2', publishedAt: '2026-05-01', effectiveAt: '2026-05-20', material: true },
      { version: 'v3', publishedAt: '2026-06-10', effectiveAt: '2026-07-01', material: true },
    ]);
    const before = policyStatus(policies, Date.parse('2026-05-10'));
    expect(before.current.version).toBe('v1');
    expect(before.latestMaterial).toBeUndefined();
    expect(before.upcoming).toMatchObject({ version: 'v2', material: true });
    const after = policyStatus(policies, Date.parse('2026-05-25'));
    expect(after.current.version).toBe('v2');
    expect(after.latestMaterial?.version).toBe('v2');
    // v3 is not published yet: no notice, no leak of an unpublished version.
    expect(after.upcoming).toBeNull();
  });
});
