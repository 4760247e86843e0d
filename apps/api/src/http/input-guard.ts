import { hookList } from '@harakaflow/core/internals';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { NulRejected } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Top-level body properties that may hold U+0000 (values sealed before storage). */
    nulAllowed?: readonly string[];
  }
}

/**
 * Where in `value` a string holds U+0000 (object keys included), or null. Iterative: depth cannot overflow the stack.
 */
export function nulPath(value: unknown, skip?: ReadonlySet<string>): string | null {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
    } else if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) stack.push([v[i], `${path}/${i}`]);
      } else {
        for (const key of Object.keys(v)) {
          if (key.includes('\u0000')) return `${path}/${key.replaceAll('\u0000', '\\u0000')}`;
          if (path === '' && skip?.has(key)) continue;
          stack.push([(v as Record<string, unknown>)[key], `${path}/${key}`]);
        }
      }
    }
  }
  return null;
}

const where = (part: string, path: string | null) => (path === null ? null : `${part}${path}`);
function hasKeys(o: unknown): boolean {
  if (o === null || typeof o !== 'object') return false;
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}

/**
 * Refuses U+0000 in the body, the query string and the path parameters with 400
 * HF_VALIDATION_FAILED (issue 12 item 8): Postgres stores no NUL in text or jsonb, and the driver
 * error that followed quoted every parameter of the query into the log. Runs before validation.
 */
const inputGuard: FastifyPluginAsync = async (app) => {
  // A route hook made when each route is declared, with its own exemptions read once (routes
  // declared after this plugin, which the app registers first).
  app.addHook('onRoute', (route) => {
    const allowed = (route.config as { nulAllowed?: readonly string[] } | undefined)?.nulAllowed;
    const skip = allowed?.length ? new Set(allowed) : undefined;
    // Runs on every request: nothing is allocated when there is nothing to look at (GET /v1/ping).
    const guard = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
      const found =
        (request.body !== undefined && request.body !== null ? where('body', nulPath(request.body, skip)) : null) ??
        (hasKeys(request.query) ? where('querystring', nulPath(request.query)) : null) ??
        (hasKeys(request.params) ? where('params', nulPath(request.params)) : null);
      done(found === null ? undefined : new NulRejected(found));
    };
    route.preValidation = [guard, ...hookList(route.preValidation)];
  });
};

export default fp(inputGuard, { name: 'harakaflow-input-guard', fastify: '5.x' });
