/**
 * Client-address helpers shared by audit (IP modes) and quota (keys per /64): one parser, so both
 * agree on what an address is. Built on ipaddr.js, the parser Fastify's proxy-addr already uses.
 */
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/**
 * The canonical text of a client address, or null when `raw` is not an IP address. IPv4-mapped
 * IPv6 (`::ffff:192.0.2.1`) becomes the IPv4 address, IPv6 is lower-case and compressed, and a
 * zone id (`fe80::1%eth0`) is dropped: one client, one spelling.
 */
export function normalizeIp(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const zone = raw.indexOf('%');
  const text = zone === -1 ? raw : raw.slice(0, zone);
  if (isIP(text) === 0) return null;
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toString();
  }
  return parsed.toString();
}

/**
 * The network of a normalized address: `/v4Bits` for IPv4, `/v6Bits` for IPv6, as the network
 * address without the length (`192.0.2.0`, `2001:db8:1:2::`). Used to truncate addresses and to
 * group an IPv6 client's /64, which one subscriber usually holds whole.
 */
export function ipNetwork(ip: string, v4Bits = 24, v6Bits = 64): string {
  const parsed = ipaddr.parse(ip);
  const bits = parsed.kind() === 'ipv4' ? v4Bits : v6Bits;
  const bytes = parsed.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes).toString();
}
