import cookie from '@fastify/cookie';
import consent, { consentMigrations, type ConsentOptions } from '@harakaflow/consent';
import type { TestDatabase } from '@harakaflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';

export const SECRET = 'consent-secret-0123456789abcdef0123456789';
export const OLD_SECRET = 'consent-older-0123456789abcdef0123456789';
export { consentMigrations };

export const POLICIES = [
  { version: '2025-01-01', publishedAt: '2025-01-01', effectiveAt: '2025-01-01', material: true },
];

/** Bare Fastify + @fastify/cookie + consent, and routes that set an analytics cookie and an unknown one. */
export async function consentApp(
  database: TestDatabase,
  options: Partial<ConsentOptions> = {},
  extra?: (app: FastifyInstance) => void | Promise<void>,
): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(cookie);
  await app.register(consent, {
    secrets: [SECRET],
    db: database.db,
    policies: POLICIES,
    cookies: { hf_aid: 'analytics', hf_session: 'essential' },
    secure: false,
    ...options,
  } as ConsentOptions);
  app.get('/page', async (request, reply) => {
    reply.setCookie('hf_session', 's1');
    reply.setCookie('hf_aid', 'visitor-1');
    return { consent: request.consent, allowsAnalytics: request.consent.allows('analytics') };
  });
  app.get('/unknown', async (_request, reply) => {
    reply.setCookie('tracker', 'x');
    return {};
  });
  await extra?.(app);
  await app.ready();
  return app;
}

/** The Set-Cookie names of a response. */
export function setCookieNames(headers: Record<string, unknown>): string[] {
  const raw = headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((h: string) => h.slice(0, h.indexOf('=')));
}

/** The consent cookie a response set, as a Cookie header value. */
export function consentCookieOf(headers: Record<string, unknown>): string | undefined {
  const raw = headers['set-cookie'];
  const list: string[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw as string];
  const found = list.find((h) => h.startsWith('hf_consent='));
  return found?.slice(0, found.indexOf(';'));
}
