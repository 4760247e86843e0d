import helmet from '@fastify/helmet';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityHeadersOptions {
  /** HSTS only in production: a development host on plain http must not be pinned to https. */
  production: boolean;
}

/**
 * The API's response headers (issue 12 item 9; policy §3, "encryption of data in transit"), through
 * @fastify/helmet rather than by hand: `nosniff`, `Referrer-Policy: no-referrer`, a CSP that lets a
 * JSON response load nothing and be framed by nobody, `X-Frame-Options: DENY`, HSTS in production.
 * And `Cache-Control: no-store` on every response that does not choose its own caching: API
 * responses carry API keys, credential values, webhook secrets and personal data, and no shared or
 * browser cache should keep any of them.
 */
const securityHeaders: FastifyPluginAsync<SecurityHeadersOptions> = async (app, { production }) => {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    hsts: production ? { maxAge: 31_536_000, includeSubDomains: true, preload: false } : false,
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
};

export default fp(securityHeaders, { name: 'harakaflow-security-headers', fastify: '5.x' });
