/**
 * The variable table's server entries: environment, listener, data folder, then the edge (proxies, TLS, timeouts,
 * logs).
 */
import { isProxyEntry, trustTooWide } from './trust-proxy.js';
import { count, oneOf, optional, quote, text, variable, whole } from './readers.js';
import { splitSecrets } from './secret-specs.js';
import type { EnvVariable, Reader } from './types.js';

/** proxy-addr's names for address ranges; a blanket "trust everyone" is deliberately not accepted. */
const trustProxy: Reader<string[] | false> = (t, problem) => {
  if (t === undefined) return false;
  const entries = splitSecrets(t);
  const bad = entries.filter((e) => !isProxyEntry(e));
  const tooWide = bad.length ? null : trustTooWide(entries);
  if (bad.length || !entries.length) {
    problem(
      `must be a comma-separated list of proxy addresses or CIDRs (or loopback, linklocal, uniquelocal), never a blanket value; bad: ${quote(bad.length ? bad : t)}`,
    );
  } else if (tooWide) {
    problem(
      `trusts too many addresses together (${tooWide.what}): a set that wide lets any client choose its IP; entries: ${quote(tooWide.entries)}`,
    );
  } else {
    return entries;
  }
  return false;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SERVER_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'NODE_ENV',
    key: 'env',
    shown: '`development`',
    meaning: '`production` requires every secret below to be set',
    read: oneOf(['development', 'production', 'test'], 'development'),
  }),
  variable({
    name: 'PORT',
    key: 'port',
    shown: '`3000`',
    meaning: 'listening port (`0` picks a free one)',
    read: whole(3000, /^\d{1,5}$/, 65535, (v) => `must be an integer from 0 to 65535 (got ${quote(v)})`),
  }),
  variable({
    name: 'HOST',
    key: 'host',
    shown: '`127.0.0.1`',
    meaning: 'listening address; `0.0.0.0` to serve other machines',
    read: text('127.0.0.1', /^[A-Za-z0-9.:-]+$/, (v) => `must be an address or host name (got ${quote(v)})`),
  }),
  variable({
    name: 'METRICS_PORT',
    key: 'metricsPort',
    shown: 'unset: not served',
    meaning:
      "serves Prometheus metrics at `GET /metrics` on this port of `HOST`, a listener of its own (never the API's port; `0` picks a free one): see [Metrics](#metrics)",
    read: (t, problem) =>
      t === undefined
        ? undefined
        : whole(0, /^\d{1,5}$/, 65535, (v) => `must be an integer from 0 to 65535 (got ${quote(v)})`)(t, problem),
  }),
  variable({
    name: 'DATA_DIR',
    key: 'dataDir',
    shown: '`.data`',
    meaning: 'PGlite data (`DATA_DIR/pglite`) and generated development secrets (`DATA_DIR/secrets.json`, mode 0600)',
    read: (t) => t ?? '.data',
  }),
];

export const EDGE_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'TRUST_PROXY',
    key: 'trustProxy',
    shown: 'off',
    meaning:
      'comma-separated proxy addresses or CIDRs (or `loopback`, `linklocal`, `uniquelocal`) whose `X-Forwarded-For` is believed. `true`, `*` and `/0` are refused: a blanket trust lets any client choose its IP; so is a set of explicit entries that together hold more than 2^24 IPv4 addresses (IPv4-mapped IPv6 counted as IPv4) or more than 2^96 IPv6 addresses (a /0 split into halves); the named ranges are always allowed',
    read: trustProxy,
  }),
  {
    name: 'TLS_CERT_FILE',
    shown: 'unset',
    meaning:
      'PEM certificate: with `TLS_KEY_FILE`, serve https from the app itself (both or neither; checked at startup). Unset: plain http, for TLS at a proxy in `TRUST_PROXY`',
    read: optional,
  },
  {
    name: 'TLS_KEY_FILE',
    shown: 'unset',
    meaning: "the PEM private key of `TLS_CERT_FILE`'s certificate",
    read: optional,
  },
  variable({
    name: 'REQUEST_TIMEOUT_MS',
    key: 'requestTimeoutMs',
    shown: '`30000`',
    meaning:
      "a whole request, headers and body, must arrive within this (1000 to 600000), else 408 `HF_REQUEST_TIMEOUT`; headers within min(10 s, this); idle keep-alive connections close after 72 s (longer than common load balancers' 60 s, so the proxy closes first); Node checks every second",
    read: count(30_000, { min: 1000, max: 600_000, says: (n) => `must be from 1000 to 600000 (got ${n})` }),
  }),
  variable({
    name: 'MAX_JSON_DEPTH',
    key: 'maxJsonDepth',
    shown: '`64`',
    meaning:
      'deepest nesting of a JSON body (1 to 1000); deeper is 400 `HF_VALIDATION_FAILED` before anything parses it',
    read: count(64, { max: 1000, says: (n) => `must be from 1 to 1000 (got ${n})` }),
  }),
  variable({
    name: 'LOG_LEVEL',
    key: 'logLevel',
    shown: '`info`',
    meaning: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`',
    read: oneOf(LOG_LEVELS, 'info', 'one of'),
  }),
];
