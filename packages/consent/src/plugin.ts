import { registerPersonalDataHandler, registerRetentionClass, securityEvent } from '@harakaflow/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { encodeDecision, prepareSecrets, type ConsentDecision } from './codec.js';
import { decisionReader, hasCookie } from './cookie-reader.js';
import { VerifiedCookies } from './verified-cookies.js';
import { evaluate, type Evaluation } from './evaluate.js';
import './fastify.js';
import { ConsentLedger, consentPersonalData, type LedgerAction } from './ledger.js';
import { resolveOptions, type ConsentOptions } from './options.js';
import { policyTracker } from './policy.js';
import { consentRetentionClass } from './retention.js';
import { consentRoutes, decideFromBody } from './routes.js';
import { filterSetCookies } from './set-cookie.js';

const kEvaluation = Symbol('harakaflow.consent.evaluation');
const kIssue = Symbol('harakaflow.consent.issue');

interface ConsentRequest extends FastifyRequest {
  [kEvaluation]: (Evaluation & { stale: boolean }) | null;
  [kIssue]: ConsentDecision | null;
}

type CookieSerializer = (name: string, value: string, options: Record<string, unknown>) => string;

export const newConsentId = () => randomBytes(16).toString('base64url');

const DECISION_EVENTS: Record<LedgerAction, string> = {
  grant: 'consent.granted',
  refuse: 'consent.refused',
  withdraw: 'consent.withdrawn',
  reaccept: 'consent.reaccepted',
  gpc: 'consent.gpc_applied',
  'continued-use': 'consent.continued_use',
};

const consent: FastifyPluginAsync<ConsentOptions> = async (fastify, options) => {
  const o = resolveOptions(options);
  const status = policyTracker(o.policies);
  const settings = { nonEssential: o.nonEssential, defaults: o.defaults, gpc: o.gpc };
  const ledger = new ConsentLedger(o.db, fastify.log);
  const keys = prepareSecrets(o.secrets);
  const verified = new VerifiedCookies();
  const legacy = o.legacyCookieNames.length ? { names: o.legacyCookieNames, nonEssential: o.nonEssential } : undefined;
  // The request's decision, from the parsed cookie and the raw header (duplicates, legacy names).
  const decisionOf = decisionReader(o.cookieName, keys, verified, legacy);
  const serialize = (fastify as FastifyInstance & { serializeCookie: CookieSerializer }).serializeCookie;

  function evaluationOf(request: FastifyRequest): Evaluation & { stale: boolean } {
    const r = request as ConsentRequest;
    if (r[kEvaluation]) return r[kEvaluation];
    const now = Date.now();
    const decoded = decisionOf(
      request.cookies?.[o.cookieName],
      request.headers.cookie,
      Math.floor(now / 1000),
      request.cookies,
    );
    const evaluation = evaluate(
      {
        decision: decoded?.decision ?? null,
        gpc: request.headers['sec-gpc'] === '1',
        status: status(now),
        subject: o.subject(request),
      },
      settings,
    );
    return (r[kEvaluation] = { ...evaluation, stale: decoded?.stale ?? false });
  }

  function entry(
    request: FastifyRequest,
    decision: Pick<ConsentDecision, 'id' | 'categories' | 'version' | 'source'>,
    action: LedgerAction,
  ) {
    return {
      consentId: decision.id,
      subjectId: o.subject(request),
      action,
      source: decision.source,
      policyVersion: decision.version,
      categories: decision.categories,
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      // Millisecond time of the record (the cookie carries seconds): the ledger keeps its order.
      at: new Date(),
    };
  }

  function newDecision(
    request: FastifyRequest,
    granted: string[],
    source: ConsentDecision['source'],
    gpc: boolean,
  ): ConsentDecision {
    const nowS = Math.floor(Date.now() / 1000);
    return {
      id: evaluationOf(request).decision?.id ?? newConsentId(),
      categories: granted,
      version: status(Date.now()).current.version,
      decidedAt: nowS,
      expiresAt: nowS + o.maxAgeSeconds,
      source,
      gpc,
    };
  }

  async function decide(request: FastifyRequest, granted: string[], action: LedgerAction): Promise<Evaluation> {
    const r = request as ConsentRequest;
    const before = evaluationOf(request);
    // An explicit decision made while the GPC signal is on (or was on before) stands against it.
    const gpc = request.headers['sec-gpc'] === '1' || (before.decision?.gpc ?? false) || before.state.source === 'gpc';
    const decision = newDecision(request, granted, 'user', gpc);
    await ledger.append(entry(request, decision, action));
    r[kIssue] = decision;
    r[kEvaluation] = {
      ...evaluate(
        { decision, gpc: request.headers['sec-gpc'] === '1', status: status(Date.now()), subject: o.subject(request) },
        settings,
      ),
      stale: false,
    };
    void securityEvent(fastify, request, {
      action: DECISION_EVENTS[action],
      outcome: 'success',
      details: { consentId: decision.id, categories: granted, policyVersion: decision.version },
    });
    return r[kEvaluation];
  }

  function allowsCookie(evaluation: Evaluation, name: string): boolean {
    const entry = o.catalogue.get(name);
    if (!entry) return o.unknownCookies !== 'block';
    return evaluation.state.allows(entry.category);
  }

  fastify.decorateRequest(kEvaluation, null);
  fastify.decorateRequest(kIssue, null);
  fastify.decorateRequest('consent', {
    getter(this: FastifyRequest) {
      return evaluationOf(this).state;
    },
  });

  // Enforcement at the edge: every Set-Cookie of every response passes through here, whoever set it.
  fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
    const r = request as ConsentRequest;
    const header = reply.getHeader('set-cookie');
    const now = Date.now();
    // Fast path: nothing to filter, no signal, no continued use to record. Then the only duty left is
    // re-signing a cookie signed with an older secret, and telling that is a cache lookup.
    if (
      !r[kEvaluation] &&
      header === undefined &&
      request.headers['sec-gpc'] !== '1' &&
      !(status(now).latestMaterial && o.subject(request))
    ) {
      const cookies = request.cookies;
      const value = cookies?.[o.cookieName];
      if (value === undefined && !legacy) return done(null, payload);
      const decoded = decisionOf(value, request.headers.cookie, Math.floor(now / 1000), cookies);
      if (!decoded?.stale) return done(null, payload);
    }
    const evaluation = evaluationOf(request);
    let issue = r[kIssue];
    if (!issue && evaluation.gpcDecides) {
      issue = newDecision(request, [], 'gpc', true);
      ledger.enqueue(entry(request, issue, 'gpc'));
      void securityEvent(fastify, request, {
        action: DECISION_EVENTS.gpc,
        outcome: 'success',
        details: { consentId: issue.id, policyVersion: issue.version },
      });
    } else if (!issue && evaluation.stale && evaluation.decision) {
      issue = evaluation.decision; // signed with an older secret: re-issue with the first
    }
    const subject = evaluation.continuedUseOf ? o.subject(request) : undefined;
    if (evaluation.continuedUseOf && subject) {
      const acceptance = {
        id: evaluation.decision?.id ?? `subject:${subject}`.slice(0, 64),
        categories: evaluation.state.categories.slice(1), // granted, without 'essential'
        version: evaluation.continuedUseOf,
        source: 'continued-use' as const,
      };
      ledger.enqueue(entry(request, acceptance, 'continued-use'));
    }

    const cookies = header === undefined ? [] : Array.isArray(header) ? header.map(String) : [String(header)];
    if (issue) {
      cookies.push(
        serialize(o.cookieName, encodeDecision(issue, o.cookieName, keys[0]!), {
          httpOnly: true,
          sameSite: 'lax',
          secure: o.secure,
          path: '/',
          maxAge: Math.max(0, issue.expiresAt - Math.floor(now / 1000)),
        }),
      );
      // The decision now lives under the current name: the host's own legacy cookie goes.
      const raw = request.headers.cookie;
      if (legacy && raw)
        for (const name of legacy.names)
          if (hasCookie(raw, name))
            cookies.push(
              serialize(name, '', { path: '/', maxAge: 0, secure: o.secure, httpOnly: true, sameSite: 'lax' }),
            );
    }
    if (cookies.length) {
      const { kept, removed } = filterSetCookies(cookies, (name) => allowsCookie(evaluation, name), now);
      if (removed.length) request.log.debug({ removedCookies: removed }, 'consent: cookies without consent removed');
      // reply.header() appends to an existing Set-Cookie: remove the unfiltered list first.
      reply.removeHeader('set-cookie');
      if (kept.length) reply.header('set-cookie', kept);
    }
    done(null, payload);
  });

  fastify.decorate('consentLedger', {
    async withdrawSubject(subjectId: string) {
      const ids = await ledger.consentIdsOf(subjectId);
      const policyVersion = status(Date.now()).current.version;
      for (const consentId of ids) {
        await ledger.append({
          consentId,
          subjectId,
          action: 'withdraw',
          source: 'user',
          policyVersion,
          categories: [],
          ip: undefined,
          userAgent: undefined,
          at: new Date(),
        });
      }
      if (ids.length)
        await securityEvent(fastify, undefined, {
          action: 'consent.withdrawn',
          subjectId,
          outcome: 'success',
          details: { consentIds: ids.length, via: 'data-rights' },
          durability: 'sync',
        });
      return ids.length;
    },
  });
  fastify.addHook('onClose', () => ledger.close());
  registerPersonalDataHandler(fastify, consentPersonalData(o.db, ledger));
  // §4 (contract 5b): IPs and user agents 90 days, decisions while current and 3 years after.
  registerRetentionClass(fastify, consentRetentionClass(o.db));
  const ctx = { o, ledger, evaluationOf, decide };
  fastify.decorate(
    'consentDecide',
    async (request: FastifyRequest, reply: FastifyReply, decisions: Record<string, boolean>) =>
      (await decideFromBody(ctx, request, reply, decisions)).state,
  );
  consentRoutes(fastify, ctx);
};

export default consent;
