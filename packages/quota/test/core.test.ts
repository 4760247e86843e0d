import { describe, expect, it } from 'vitest';
import {
  banDuration,
  clientKey,
  crossedThresholds,
  ipMatcher,
  planLimits,
  policyField,
  rateLimitField,
} from '../src/core.js';

describe('clientKey', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(clientKey('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('ip:203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('ip6:2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('ip6:2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).toBe('ip6:2001:db8:1:3::/64');
    expect(clientKey('nonsense')).toBe('ip:unknown');
  });
});

describe('header fields (draft-ietf-httpapi-ratelimit-headers)', () => {
  it('lists every policy and the tightest limit', () => {
    expect(policyField(planLimits('free', { requestsPerMinute: 60, messagesPerDay: 100, requestsPerSecond: 5 }))).toBe(
      '"free.second";q=5;w=1, "free.minute";q=60;w=60',
    );
    expect(rateLimitField('free.minute', 12, 30.2)).toBe('"free.minute";r=12;t=31');
    expect(rateLimitField('free.minute', -3, -1)).toBe('"free.minute";r=0;t=0');
  });
});

describe('thresholds and bans', () => {
  it('reports a threshold once, when a consume crosses it', () => {
    expect(crossedThresholds([0.8, 1], 10, 6, 7)).toEqual([]);
    expect(crossedThresholds([0.8, 1], 10, 7, 8)).toEqual([0.8]);
    expect(crossedThresholds([0.8, 1], 10, 8, 9)).toEqual([]);
    expect(crossedThresholds([0.8, 1], 10, 9, 10)).toEqual([1]);
    expect(crossedThresholds([0.8, 1], 10, 10, 11)).toEqual([]);
    expect(crossedThresholds([0.8, 1], 10, 0, 10)).toEqual([0.8, 1]);
  });
  it('escalates ban durations and stays at the last', () => {
    const d = [60, 900, 3600, 86_400];
    expect([1, 2, 3, 4, 5, 9].map((n) => banDuration(d, n))).toEqual([60, 900, 3600, 86_400, 86_400, 86_400]);
  });
  it('matches allow-listed IPs and CIDRs, mapped addresses included', () => {
    const allow = ipMatcher(['198.51.100.0/24', '2001:db8::/32', '203.0.113.9']);
    expect(allow('198.51.100.77')).toBe(true);
    expect(allow('::ffff:198.51.100.77')).toBe(true);
    expect(allow('2001:db8:ffff::1')).toBe(true);
    expect(allow('203.0.113.9')).toBe(true);
    expect(allow('203.0.113.10')).toBe(false);
    expect(allow(null)).toBe(false);
  });
});
