/**
 * The API's contract, complete (issue 19 item 6): every operation in /docs/json lists the error
 * responses it can answer, in the one error shape with their codes, and its authentication. Added
 * when each route is declared (onRoute, registered before any route), from what the route says:
 * `config.auth` (who may call it), `config.quota` (limited or not), its input schemas, and
 * `config.errors` for the codes of its own (e.g. `{ 404: ['HF_ACCOUNT_NOT_FOUND'] }`). A response a
 * route already documents is left as it is. The routes seen are kept for the test that checks
 * every one is in the document.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { AuthRequirement } from './auth.js';

/** Codes a route answers besides the common ones, by status. */
export type RouteErrors = Partial<
  Record<400 | 401 | 403 | 404 | 406 | 409 | 410 | 413 | 414 | 415 | 422 | 429 | 431 | 500 | 503, string[]>
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error codes this route answers besides the common ones, for its OpenAPI document. */
    errors?: RouteErrors;
  }
}

/** A 204's documentation (and its serializer: nothing). */
export const NO_CONTENT = { description: 'No Content', type: 'null' } as const;

/** A JSON object documented by its description only: every property is serialized as it is. */
export const jsonObject = (description: string, properties: Record<string, unknown> = {}) => ({
  description,
  type: 'object',
  properties,
  additionalProperties: true,
});

/** The one error shape, with the codes this response can carry. */
export function errorResponse(status: number, codes: string[]): Record<string, unknown> {
  return {
    description: `${STATUS_CODES[status] ?? 'Error'}: ${codes.join(', ')}`,
    // No `required` here: this schema also serializes the response, and a missing field must not
    // turn an error into a 500. Every error the app sends has all four (error-shape.ts).
    type: 'object',
    properties: {
      statusCode: { type: 'integer', description: String(status) },
      code: { type: 'string', enum: codes },
      error: { type: 'string' },
      message: { type: 'string' },
      retryAfter: { type: 'integer', description: 'seconds, as in Retry-After (429 and 403 HF_QUOTA_BANNED)' },
    },
    additionalProperties: true,
  };
}

export interface DocumentedRoute {
  method: string;
  url: string;
  hidden: boolean;
}

const routes = new WeakMap<FastifyInstance, DocumentedRoute[]>();
/** The routes declared on this app after documentErrors, HEAD routes aside. */
export const documentedRoutes = (app: FastifyInstance): DocumentedRoute[] => routes.get(app) ?? [];

const SECURITY: Record<AuthRequirement, unknown[]> = {
  public: [],
  account: [{ bearer: [] }, { session: [] }],
  any: [{ bearer: [] }, { session: [] }],
  admin: [{ bearer: [] }],
};

/** Adds the error responses and the security requirement of every route declared from now on. */
export function documentErrors(app: FastifyInstance, options: { ageGatePrefixes?: readonly string[] } = {}): void {
  const seen: DocumentedRoute[] = [];
  routes.set(app, seen);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = ([] as string[]).concat(route.method);
    if (methods.every((m) => m === 'HEAD')) return;
    const schema = (route.schema ??= {}) as Record<string, unknown> & {
      hide?: boolean;
      response?: Record<string, unknown>;
    };
    for (const method of methods) seen.push({ method, url: route.url, hidden: schema.hide === true });
    if (schema.hide) return;
    const config = (route.config ?? {}) as {
      auth?: AuthRequirement;
      quota?: unknown;
      errors?: RouteErrors;
      ageGate?: boolean;
      pendingDeletion?: boolean;
    };
    const auth = config.auth ?? 'account';
    const codes = new Map<number, Set<string>>();
    const add = (status: number, ...list: string[]) => {
      const set = codes.get(status) ?? new Set<string>();
      for (const c of list) set.add(c);
      codes.set(status, set);
    };
    // Every route: input checks (NUL bytes, nesting, schemas), the request deadline, the database,
    // and the 500 no route means to answer (its request id is in the logs).
    add(400, 'HF_VALIDATION_FAILED');
    add(408, 'HF_REQUEST_TIMEOUT');
    add(500, 'HF_INTERNAL');
    add(503, 'HF_DATABASE_UNAVAILABLE');
    // The edge (edge.ts), before any route is chosen: bytes that are not HTTP, headers (the request
    // line with them) over Node's limit (issue 31 item 5).
    add(400, 'HF_BAD_REQUEST');
    add(431, 'HF_HEADERS_TOO_LARGE');
    // A path parameter: a malformed percent-encoding, one over the router's length limit, or one
    // (a dot segment, an encoded slash) that leads to no route.
    if (/[:*]/.test(route.url)) {
      add(400, 'HF_BAD_URL');
      add(414, 'HF_URI_TOO_LONG');
      add(404, 'HF_NOT_FOUND');
    }
    // A body, where a method may carry one: its JSON, its size, its type.
    if (methods.some((m) => m !== 'GET')) {
      add(400, 'HF_MALFORMED_JSON', 'HF_BAD_CONTENT_LENGTH');
      add(413, 'HF_BODY_TOO_LARGE');
      add(415, 'HF_UNSUPPORTED_MEDIA_TYPE');
    }
    if (config.quota !== false) {
      add(429, 'HF_QUOTA_EXCEEDED');
      add(403, 'HF_QUOTA_BANNED');
    }
    if (auth !== 'public') {
      add(401, 'HF_AUTH_REQUIRED', 'HF_AUTH_INVALID');
      add(403, 'HF_AUTH_FORBIDDEN', 'HF_AUTH_CSRF');
      // An account waiting for its purge (§6), on every route that does not still answer it (its
      // privacy requests, its session).
      if (auth !== 'admin' && !config.pendingDeletion) add(403, 'HF_DATA_RIGHTS_PENDING_DELETION');
      schema.security ??= SECURITY[auth];
    } else {
      // A credential is optional here, but one that is sent must be valid.
      add(401, 'HF_AUTH_INVALID');
      schema.security ??= [];
    }
    // The age gate (§8): a subject not verified, on the routes it protects; a restricted account on
    // those and wherever it shows its key, public routes too.
    const gated =
      config.ageGate === true ||
      (config.ageGate !== false && (options.ageGatePrefixes ?? []).some((p) => route.url.startsWith(p)));
    if (gated) add(403, 'HF_AGE_GATE_REQUIRED');
    if (gated || auth !== 'admin') add(403, 'HF_AGE_GATE_RESTRICTED');
    for (const [status, list] of Object.entries(config.errors ?? {})) add(Number(status), ...(list ?? []));
    const response = (schema.response ??= {});
    for (const [status, set] of codes) response[status] ??= errorResponse(status, [...set]);
  });
}
