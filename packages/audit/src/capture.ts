/**
 * What an access event captures from a request, as plain functions: the client address under an
 * IP mode, the user agent cut and parsed into browser/OS/device, and strings made safe to store.
 */
import { ipNetwork, normalizeIp } from '@harakaflow/core';
import Bowser from 'bowser';
import { LRUCache } from 'lru-cache';
import { createHmac, type KeyObject } from 'node:crypto';
import type { DeviceType } from './event.js';

/** Longest user agent kept and parsed (issue: cut to 512 characters before parsing). */
export const MAX_USER_AGENT = 512;
/** Longest path, resource, action and other captured strings. */
export const MAX_TEXT = 2048;

// NUL cannot be stored in a Postgres text or jsonb value at all; lone surrogates are not UTF-8.
// Both become U+FFFD. Every other character (CR, LF, ESC, U+2028...) is kept as data: it lives
// inside one column of one row, and the spill file and logs are JSON, which escapes it.
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Any NUL or surrogate at all: a plain character class, one linear scan (most strings have none). */
// eslint-disable-next-line no-control-regex
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

/** A captured string made storable and cut to `max` characters; null stays null. */
export function cleanText(value: unknown, max = MAX_TEXT): string | null {
  if (typeof value !== 'string') return null;
  const cut = value.length > max ? value.slice(0, max) : value;
  // Every request cleans its user agent and path: the replace with its lookarounds only when a
  // NUL or a surrogate is there to judge (issue 29: 0.5 µs of an access event before).
  return SUSPECT.test(cut) ? cut.replace(UNSTORABLE, '\uFFFD') : cut;
}

/** Details made storable in jsonb: strings cleaned at every level, keys too. */
export function cleanDetails(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return cleanText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (depth > 8) return null;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => cleanDetails(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 100)) {
      if (v !== undefined) out[cleanText(k, 200)!] = cleanDetails(v, depth + 1);
    }
    return out;
  }
  return null;
}

export type IpMode = 'full' | 'truncated' | 'keyed-hash';

/** The stored form of a client address. `invalid`: `raw` was not an address (stored as null). */
export function captureIp(raw: unknown, mode: IpMode, key?: KeyObject): { ip: string | null; invalid: boolean } {
  // Keyed hashes are per key: cache only what does not depend on one.
  if (typeof raw === 'string' && mode !== 'keyed-hash') {
    const cache = ipCaches[mode];
    const cached = cache.get(raw);
    if (cached) return cached;
    const result = Object.freeze(computeIp(raw, mode, key));
    cache.set(raw, result);
    return result;
  }
  return computeIp(raw, mode, key);
}

// Clients repeat: parsing and normalizing an address costs more than a cache lookup (one cache per
// mode: no key string built per request).
const ipCaches = {
  full: new LRUCache<string, { ip: string | null; invalid: boolean }>({ max: 2000 }),
  truncated: new LRUCache<string, { ip: string | null; invalid: boolean }>({ max: 2000 }),
};

function computeIp(raw: unknown, mode: IpMode, key?: KeyObject): { ip: string | null; invalid: boolean } {
  const ip = normalizeIp(raw);
  if (ip === null) return { ip: null, invalid: raw !== undefined && raw !== null && raw !== '' };
  if (mode === 'full') return { ip, invalid: false };
  if (mode === 'truncated') return { ip: ipNetwork(ip, 24, 64), invalid: false };
  // keyed-hash: the same client gives the same value (for abuse analysis), the address itself
  // cannot be recovered without the key, and a dictionary over the 2^32 IPv4 space needs it too.
  return { ip: `hmac:${createHmac('sha256', key!).update(ip).digest('base64url').slice(0, 32)}`, invalid: false };
}

export interface Device {
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  deviceType: DeviceType;
}

const UNKNOWN: Device = Object.freeze({
  browserName: null,
  browserVersion: null,
  osName: null,
  osVersion: null,
  deviceType: 'unknown',
});
const TYPES = new Set<string>(['desktop', 'mobile', 'tablet', 'bot']);

const short = (value: string | undefined) => (value ? cleanText(value, 64) : null);

/** Parses a user agent (already cut) with bowser (MIT). Never throws. */
export function parseDevice(userAgent: string | null): Device {
  if (!userAgent) return UNKNOWN;
  try {
    const parsed = Bowser.parse(userAgent);
    const type = parsed.platform.type;
    return {
      browserName: short(parsed.browser.name),
      browserVersion: short(parsed.browser.version),
      osName: short(parsed.os.name),
      osVersion: short(parsed.os.version),
      deviceType: type && TYPES.has(type) ? (type as DeviceType) : 'unknown',
    };
  } catch {
    return UNKNOWN;
  }
}

/**
 * parseDevice behind a bounded LRU: real traffic repeats a few hundred user agents, and bowser
 * walks dozens of regular expressions per miss. Keys are the cut user agent, so an attacker who
 * sends unique 512-character agents costs at most `max` x ~1 KiB of memory and one parse each.
 */
export function deviceParser(max = 1000): (userAgent: string | null) => Device {
  const cache = new LRUCache<string, Device>({ max });
  return (userAgent) => {
    if (!userAgent) return UNKNOWN;
    let device = cache.get(userAgent);
    if (!device) cache.set(userAgent, (device = parseDevice(userAgent)));
    return device;
  };
}
