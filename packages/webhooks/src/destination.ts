/**
 * Where a delivery may go (SSRF protection). A destination must be an https URL (http only when
 * allowed), without credentials, and every address its host resolves to must be public unicast:
 * no loopback, private, link-local (cloud metadata at 169.254.169.254), unique-local, CGNAT,
 * reserved, multicast or unspecified ranges, also not through IPv4-mapped or NAT64 forms. The
 * check runs in the socket's own DNS lookup (see `safeLookup`), so the address connected to is the
 * address checked: a host that resolves to a public address when registered and to 127.0.0.1 when
 * delivered to (DNS rebinding) is refused at delivery.
 */
import ipaddr from 'ipaddr.js';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { DestinationError } from './errors.js';

export interface DestinationPolicy {
  /** Allow http:// destinations. Default false. */
  allowHttp?: boolean | undefined;
  /** Allow loopback, private and link-local addresses (development and tests only). Default false. */
  allowPrivate?: boolean | undefined;
}

export { DestinationError };

const cidrs = (list: string[]) => list.map((c) => ipaddr.parseCIDR(c));
/**
 * IANA's IPv4 special-purpose registry, beyond what ipaddr.js already names (0/8, 10/8, 100.64/10,
 * 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15,
 * 198.51.100/24, 203.0.113/24, 224/4, 240/4 and 255.255.255.255 are not 'unicast' there).
 */
const IPV4_DENY = cidrs(['192.31.196.0/24', '192.52.193.0/24', '192.175.48.0/24']);
/** Global unicast IPv6 (RFC 4291 §2.4): everything outside it is refused, whatever it embeds. */
const IPV6_GLOBAL = ipaddr.parseCIDR('2000::/3');
/**
 * IANA's IPv6 special-purpose ranges inside 2000::/3: IETF protocol assignments (Teredo, ORCHID,
 * benchmarking...), documentation, and 6to4, which embeds an IPv4 address of any kind.
 */
const IPV6_DENY = cidrs(['2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20']);

/**
 * Is this address one a webhook may be delivered to? An allow-list, not a deny-list (issue 12 item
 * 12): public IPv4 unicast, or IPv6 within global unicast 2000::/3 minus the special-purpose ranges.
 * IPv4-mapped IPv6 is judged as the IPv4 address it maps; every other IPv6 form outside 2000::/3
 * (IPv4-compatible `::/96`, NAT64 `64:ff9b::/96`, unique-local, link-local...) is refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!isIP(address)) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return false;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (!v6.isIPv4MappedAddress()) return v6.match(IPV6_GLOBAL) && !IPV6_DENY.some((range) => v6.match(range));
    parsed = v6.toIPv4Address();
  }
  const v4 = parsed as ipaddr.IPv4;
  return v4.range() === 'unicast' && !IPV4_DENY.some((range) => v4.match(range));
}

/** Checks a URL's form (not its addresses). Returns the parsed URL. */
export function checkUrl(text: unknown, policy: DestinationPolicy = {}): URL {
  if (typeof text !== 'string' || text.length > 2048) throw new DestinationError('not a URL');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DestinationError('not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp))
    throw new DestinationError('must be https');
  if (url.username || url.password) throw new DestinationError('credentials in the URL are not allowed');
  if (!url.hostname) throw new DestinationError('no host');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !policy.allowPrivate && !isPublicAddress(host)) throw new DestinationError('not a public address');
  if (
    !isIP(host) &&
    !policy.allowPrivate &&
    (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.'))
  ) {
    throw new DestinationError('not a public host name');
  }
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that resolves, then refuses unless every address is public. Used
 * as the socket's own lookup, it closes the gap between checking and connecting.
 */
export function safeLookup(policy: DestinationPolicy = {}) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, '');
      const list = addresses as LookupAddress[];
      if (!list.length) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      if (!policy.allowPrivate && list.some((a) => !isPublicAddress(a.address))) {
        return callback(
          Object.assign(new DestinationError(`${hostname} resolves to a non-public address`), {
            errno: 0,
          }) as NodeJS.ErrnoException,
          '',
        );
      }
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** Resolves a host and checks its addresses now (at registration, for an early answer). */
export function checkResolved(url: URL, policy: DestinationPolicy = {}): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    safeLookup(policy)(host, { all: true }, (error) =>
      error
        ? reject(error instanceof DestinationError ? error : new DestinationError(`${host} does not resolve`))
        : resolve(),
    );
  });
}
