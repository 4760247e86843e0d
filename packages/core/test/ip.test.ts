import { describe, expect, it } from 'vitest';
import { ipNetwork, normalizeIp } from '../src/ip.js';

describe('normalizeIp', () => {
  it('keeps IPv4 and compresses IPv6 in lower case', () => {
    expect(normalizeIp('192.0.2.10')).toBe('192.0.2.10');
    expect(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
  });
  it('turns an IPv4-mapped IPv6 address into the IPv4 address', () => {
    expect(normalizeIp('::ffff:192.0.2.10')).toBe('192.0.2.10');
    expect(normalizeIp('::FFFF:c000:020a')).toBe('192.0.2.10');
  });
  it('drops a zone id', () => {
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
  });
  it('refuses anything that is not an address', () => {
    for (const bad of [
      '',
      'localhost',
      '1.2.3',
      '1.2.3.256',
      '192.0.2.1, 10.0.0.1',
      '192.0.2.1\r\nX: y',
      '::g',
      undefined,
      42,
      'a'.repeat(100),
    ]) {
      expect(normalizeIp(bad)).toBeNull();
    }
  });
});

describe('ipNetwork', () => {
  it('keeps /24 of IPv4 and /64 of IPv6 by default', () => {
    expect(ipNetwork('192.0.2.201')).toBe('192.0.2.0');
    expect(ipNetwork('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::');
  });
  it('takes other prefix lengths, including ones that cut inside a byte', () => {
    expect(ipNetwork('192.0.2.201', 28)).toBe('192.0.2.192');
    expect(ipNetwork('2001:db8:ffff::1', 24, 36)).toBe('2001:db8:f000::');
    expect(ipNetwork('192.0.2.201', 32)).toBe('192.0.2.201');
  });
});
