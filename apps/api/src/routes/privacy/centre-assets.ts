// The privacy centre's static files (web/): read once at startup, precompressed, sent in the best encoding asked for.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const WEB = new URL('../../../web/', import.meta.url);
/** The CSP of the pages the app serves (this one, an export link's): no inline script or style, nothing third-party. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface Asset {
  type: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

function asset(name: string, type: string): Asset {
  const identity = readFileSync(new URL(name, WEB));
  return {
    type,
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity),
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 16)}"`,
  };
}

/** The page's script: web/privacy.js and the modules it imports (each served from /privacy/assets/ as well). */
export const SCRIPT_MODULES = [
  'privacy.js',
  'privacy-account.js',
  'privacy-common.js',
  'privacy-consent.js',
  'privacy-objections.js',
  'privacy-receipts.js',
  'privacy-requests.js',
] as const;

/** The files `/privacy/assets/:file` serves, by name: the script's modules and the stylesheet. */
export function pageAssets(): Record<string, Asset> {
  return {
    ...Object.fromEntries(SCRIPT_MODULES.map((name) => [name, asset(name, 'text/javascript; charset=utf-8')])),
    'privacy.css': asset('privacy.css', 'text/css; charset=utf-8'),
  };
}

/**
 * Sends `body` in the best encoding the request accepts: `encoded` gives the bytes of each (the
 * assets' precompressed buffers, or the page compressed now).
 */
export function send(
  request: FastifyRequest,
  reply: FastifyReply,
  type: string,
  encoded: (encoding: 'br' | 'gzip' | 'identity') => Buffer,
  vary = 'accept-encoding',
): FastifyReply {
  const accept = String(request.headers['accept-encoding'] ?? '');
  const encoding = /\bbr\b/.test(accept) ? 'br' : /\bgzip\b/.test(accept) ? 'gzip' : 'identity';
  reply.header('vary', vary).type(type);
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  return reply.send(encoded(encoding));
}

/** The page's HTML, compressed per request (it carries the visitor's state): a fast brotli level. */
export const compressNow = (body: Buffer) => (encoding: 'br' | 'gzip' | 'identity') =>
  encoding === 'br'
    ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
    : encoding === 'gzip'
      ? gzipSync(body)
      : body;
