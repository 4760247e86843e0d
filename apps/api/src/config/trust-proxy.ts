/**
 * TRUST_PROXY's checks: an entry is an address, a CIDR of at least /1, or one of proxy-addr's
 * named ranges; and explicit entries together may not trust more than 2^24 IPv4 or 2^96 IPv6
 * addresses (issue 12 item 10).
 */
import { isIP } from 'node:net';

// proxy-addr's names for address ranges; a blanket "trust everyone" is deliberately not accepted.
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** IPv4 addresses live at ::ffff:0:0/96 in the one 128-bit space used below (proxy-addr maps IPv4 clients there). */
const MAPPED_START = 0xffffn << 32n;
const MAPPED_END = MAPPED_START + (1n << 32n) - 1n;
const MAX_IPV4 = 1n << 24n;
const MAX_IPV6 = 1n << 96n;

/** An address or CIDR as an inclusive range of the 128-bit space (IPv4 as IPv4-mapped IPv6). */
function addressRange(entry: string): [bigint, bigint] {
  const [address, prefix] = entry.split('/') as [string, string | undefined];
  let value: bigint;
  let bits: number;
  if (isIP(address) === 4) {
    value = MAPPED_START + address.split('.').reduce((n, octet) => (n << 8n) + BigInt(Number(octet)), 0n);
    bits = 96 + (prefix === undefined ? 32 : Number(prefix));
  } else {
    value = ipv6Value(address);
    bits = prefix === undefined ? 128 : Number(prefix);
  }
  const size = 1n << BigInt(128 - bits);
  const start = value - (value % size);
  return [start, start + size - 1n];
}

function ipv6Value(address: string): bigint {
  let text = address.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = dotted[1]!.split('.').map(Number);
    text =
      text.slice(0, -dotted[1]!.length) +
      `${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/**
 * Refuses explicit entries whose union is wider than 2^24 IPv4 or 2^96 IPv6 addresses (issue 12
 * item 10): `0.0.0.0/1,128.0.0.0/1` is a /0 split in two. Overlaps are counted once; an IPv6 range
 * that covers part of ::ffff:0:0/96 counts that part as IPv4. The named ranges stay allowed.
 */
export function trustTooWide(entries: readonly string[]): { what: string; entries: string[] } | null {
  const explicit = entries.filter((e) => !PROXY_NAMES.has(e));
  const ranges = explicit
    .map((e) => ({ entry: e, range: addressRange(e) }))
    .sort((a, b) => (a.range[0] < b.range[0] ? -1 : a.range[0] > b.range[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const { range } of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1] + 1n) last[1] = range[1] > last[1] ? range[1] : last[1];
    else merged.push([range[0], range[1]]);
  }
  let v4 = 0n;
  let v6 = 0n;
  for (const [start, end] of merged) {
    const lo = start > MAPPED_START ? start : MAPPED_START;
    const hi = end < MAPPED_END ? end : MAPPED_END;
    const mapped = hi >= lo ? hi - lo + 1n : 0n;
    v4 += mapped;
    v6 += end - start + 1n - mapped;
  }
  const wide = (test: (r: [bigint, bigint]) => boolean) => ranges.filter((r) => test(r.range)).map((r) => r.entry);
  if (v4 > MAX_IPV4)
    return {
      what: `${v4} IPv4 addresses, at most 2^24`,
      entries: wide(([s, e]) => e >= MAPPED_START && s <= MAPPED_END),
    };
  if (v6 > MAX_IPV6)
    return { what: `more than 2^96 IPv6 addresses`, entries: wide(([s, e]) => e < MAPPED_START || s > MAPPED_END) };
  return null;
}

export function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length || !address) return false;
  const family = isIP(address);
  if (!family) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  // A /0 is "everyone": the blanket trust the policy rules out.
  return bits >= 1 && bits <= (family === 4 ? 32 : 128);
}

/**
 * Why a `trustProxy` setting may not reach Fastify, or undefined (issue 30 item 12). buildApp asks
 * this itself: an AppConfig made in code (tests, an embedding app) never went through TRUST_PROXY's
 * reader, and Fastify would take `true`, a hop count, `'*'` or a function, each letting any client
 * choose its IP. Accepted: `false`, or a non-empty list that TRUST_PROXY itself would accept.
 */
export function trustProxyProblem(value: unknown): string | undefined {
  if (value === false) return undefined;
  if (!Array.isArray(value) || !value.length || value.some((e) => typeof e !== 'string')) {
    return `trustProxy must be false or a list of proxy addresses or CIDRs, as TRUST_PROXY gives (got ${Array.isArray(value) ? 'a list that is empty or not of strings' : typeof value === 'function' ? 'a function' : JSON.stringify(value)})`;
  }
  const bad = value.filter((e: string) => !isProxyEntry(e));
  if (bad.length)
    return `trustProxy entries must be proxy addresses or CIDRs (or loopback, linklocal, uniquelocal), never a blanket value; bad: ${JSON.stringify(bad)}`;
  const wide = trustTooWide(value as string[]);
  if (wide)
    return `trustProxy trusts too many addresses together (${wide.what}): a set that wide lets any client choose its IP; entries: ${JSON.stringify(wide.entries)}`;
  return undefined;
}
