import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidBody } from './errors.js';
import type { ConsentContext } from './context.js';

const stateSchema = {
  type: 'object',
  properties: {
    consentId: { type: ['string', 'null'] },
    categories: { type: 'array', items: { type: 'string' } },
    source: { enum: ['default', 'gpc', 'user', 'continued-use'] },
    policyVersion: { type: 'string' },
    decidedAt: { type: ['string', 'null'] },
    needsReacceptance: { type: 'boolean' },
    upcomingPolicy: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: {
            version: { type: 'string' },
            publishedAt: { type: 'string' },
            effectiveAt: { type: 'string' },
            material: { type: 'boolean' },
          },
        },
      ],
    },
  },
} as const;

// Body errors found before the handler (not JSON, wrong content type, too large) are this route's
// HF_CONSENT_INVALID_BODY too; anything else goes on to the app's error handler.
function bodyErrors(error: FastifyError, _request: FastifyRequest, _reply: FastifyReply) {
  if (error.code?.startsWith('FST_ERR_CTP_'))
    throw new InvalidBody(error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body too large' : 'not a JSON object');
  throw error;
}

/**
 * A decision from a body such as `{"analytics": false}` (PUT on the consent routes, and
 * `fastify.consentDecide` for a host's own form): checked strictly, recorded in the ledger, and
 * the cookies of every category now refused expired in the same response.
 */
export async function decideFromBody(ctx: ConsentContext, request: FastifyRequest, reply: FastifyReply, body: unknown) {
  const { o } = ctx;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidBody('expected a JSON object such as {"analytics": false}');
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.length) throw new InvalidBody('name at least one category');
  for (const [key, value] of entries) {
    if (!o.nonEssential.includes(key)) throw new InvalidBody(`unknown category ${JSON.stringify(key.slice(0, 40))}`);
    if (typeof value !== 'boolean') throw new InvalidBody(`"${key}" must be true or false`);
  }
  const before = ctx.evaluationOf(request).state;
  const decided = body as Record<string, boolean>;
  const granted = o.nonEssential.filter((c) => (c in decided ? decided[c] : before.allows(c)));
  const action = granted.length === 0 ? 'refuse' : before.needsReacceptance ? 'reaccept' : 'grant';
  const evaluation = await ctx.decide(request, granted, action);
  expireRefused(ctx, request, reply, granted);
  return evaluation;
}

/** Expires the cookies the browser sent of each non-essential category not in `granted`. */
function expireRefused(
  ctx: ConsentContext,
  request: FastifyRequest,
  reply: FastifyReply,
  granted: readonly string[],
): void {
  for (const [name, entry] of ctx.o.catalogue) {
    if (entry.category !== 'essential' && !granted.includes(entry.category) && request.cookies?.[name] !== undefined) {
      reply.clearCookie(name, { path: entry.path, ...(entry.domain ? { domain: entry.domain } : {}) });
    }
  }
}

export function consentRoutes(fastify: FastifyInstance, ctx: ConsentContext): void {
  const { o } = ctx;
  if (o.gpcWellKnown) {
    const body = { gpc: true, lastUpdate: o.gpcWellKnown.lastUpdate };
    fastify.get(
      '/.well-known/gpc.json',
      {
        config: { ...o.routeConfig },
        schema: {
          summary: "Global Privacy Control support (the GPC spec's well-known resource)",
          response: {
            200: { type: 'object', properties: { gpc: { type: 'boolean' }, lastUpdate: { type: 'string' } } },
          },
        },
      },
      async () => body,
    );
  }
  if (o.routePrefix === false) return;

  const catalogue = {
    categories: ['essential', ...o.nonEssential],
    cookies: Object.fromEntries([...o.catalogue].map(([name, e]) => [name, e.category])),
  };
  const decisionProperties = Object.fromEntries(o.nonEssential.map((c) => [c, { type: 'boolean' }]));

  fastify.get(
    o.routePrefix,
    {
      config: { ...o.routeConfig },
      schema: {
        tags: ['consent'],
        summary: 'This visitor’s consent state and the cookie catalogue',
        response: {
          200: {
            type: 'object',
            properties: { ...stateSchema.properties, catalogue: { type: 'object', additionalProperties: true } },
          },
        },
      },
    },
    async (request) => ({ ...ctx.evaluationOf(request).state.toJSON(), catalogue }),
  );

  fastify.put(
    o.routePrefix,
    {
      config: { ...o.routeConfig },
      errorHandler: bodyErrors,
      // Validated strictly in the handler (no type coercion: "yes" is not a boolean); the schema documents it.
      validatorCompiler: () => (value) => ({ value }),
      schema: {
        tags: ['consent'],
        summary: 'Decide: grant or refuse each non-essential category',
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: decisionProperties },
        response: { 200: stateSchema },
      },
    },
    async (request, reply) => (await decideFromBody(ctx, request, reply, request.body)).state,
  );

  fastify.delete(
    o.routePrefix,
    {
      config: { ...o.routeConfig },
      schema: {
        tags: ['consent'],
        summary: 'Withdraw every non-essential category and expire their cookies',
        response: { 200: stateSchema },
      },
    },
    async (request, reply) => {
      const evaluation = await ctx.decide(request, [], 'withdraw');
      expireRefused(ctx, request, reply, []);
      return evaluation.state;
    },
  );
}
