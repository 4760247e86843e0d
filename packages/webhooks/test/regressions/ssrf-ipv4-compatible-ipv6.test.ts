// Issue 12 item 12: the SSRF guard was a deny-list, and IPv4-compatible IPv6 (`::/96`) passed:
// `https://[::7f00:1]/` (127.0.0.1) and `[::a9fe:a9fe]` (169.254.169.254) were connected to. The
// guard is now an allow-list: only global unicast passes.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { checkUrl, DestinationError, isPublicAddress, safeLookup } from '../../src/destination.js';

describe('only global unicast addresses pass the SSRF guard', () => {
  it('refuses IPv4-compatible, NAT64, 6to4, Teredo, documentation and other non-global IPv6 forms', () => {
    for (const address of [
      '::7f00:1',
      '::a9fe:a9fe',
      '::a00:1',
      '::1',
      '::',
      '64:ff9b::7f00:1',
      '64:ff9b:1::a9fe:a9fe',
      '2002:7f00:1::1',
      '2001::1',
      '2001:db8::1',
      '3fff::1',
      'fe80::1',
      'fc00::1',
      'fd12::1',
      'ff02::1',
      '100::1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '4000::1',
      'e000::1',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
      expect(() => checkUrl(`https://[${address}]/hook`), address).toThrow(DestinationError);
    }
  });

  it('refuses IPv4 special-purpose ranges', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '100.64.0.1',
      '169.254.169.254',
      '192.0.0.8',
      '192.0.2.1',
      '198.18.0.1',
      '198.51.100.7',
      '203.0.113.9',
      '192.88.99.1',
      '240.0.0.1',
      '255.255.255.255',
      '224.0.0.1',
      '0.1.2.3',
      '192.31.196.1',
      '192.52.193.1',
      '192.175.48.1',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it('lets public IPv4 and global IPv6 through, also IPv4-mapped public IPv4', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8'])
      expect(isPublicAddress(address), address).toBe(true);
    expect(checkUrl('https://[2606:4700:4700::1111]/hook').hostname).toBe('[2606:4700:4700::1111]');
  });

  it('a name resolving to an IPv4-compatible address is refused in the socket lookup', async () => {
    // A literal address goes through the same lookup as a name: dns.lookup returns it as is.
    const error = await new Promise<Error | null>((resolve) =>
      safeLookup({})('::7f00:1', { all: true }, (e) => resolve(e)),
    );
    expect(error).toBeInstanceOf(DestinationError);
  });

  it('never passes an IPv6 address outside 2000::/3, whatever it embeds (property)', () => {
    const global = ipaddr.parseCIDR('2000::/3');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (parts) => {
        const address = new ipaddr.IPv6(parts);
        if (address.isIPv4MappedAddress()) return;
        if (!address.match(global)) expect(isPublicAddress(address.toString())).toBe(false);
      }),
    );
  });
});
