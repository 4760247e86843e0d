import {
  accountSubject,
  cookieValues,
  errorCodes,
  openValue,
  personalDataHandlers,
  prepareKeys,
  registerPersonalDataHandler,
  sealValue,
  securityEvent,
} from '@harakaflow/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createHmac } from 'node:crypto';
import { and, eq, gt } from 'drizzle-orm';
import { evaluateAge } from './age.js';
import { Blocked, NotEligible, Restricted, VerificationRequired } from './errors.js';
import type { AgeGate } from './fastify.js';
import { resolveOptions, type AgeGateOptions } from './options.js';
import { ipBlocks } from './schema.js';
import {
  ageGatePersonalData,
  claimDue,
  completeErasure,
  erasureOf,
  recordVerification,
  restrictAndSchedule,
  subjectStatus,
  type SubjectStatus,
  type Verification,
} from './store.js';

// A claimed erasure not finished after this long was abandoned by a crashed worker: claim it again.
const STALE_CLAIM_MS = 10 * 60_000;
const STATUS_CACHE_CAP = 10_000;

function refusal(
  s: SubjectStatus,
  request: FastifyRequest,
  protects: (request: FastifyRequest) => boolean,
): Error | undefined {
  if (s.restricted) return new Restricted();
  return !s.verified && protects(request) ? new VerificationRequired() : undefined;
}

const ageGate: FastifyPluginAsync<AgeGateOptions> = async (fastify, options) => {
  const o = resolveOptions(options);
  const keys = prepareKeys(o.secrets);
  const statuses = new Map<string, { status: SubjectStatus; until: number }>();
  // One lookup per subject at a time: when a status expires under load, every request of that
  // subject arriving before the answer waits for the same query instead of sending its own (issue
  // 29 item 4: the bench's 32 connections sent dozens a second, over half of the gate's cost).
  const lookups = new Map<string, Promise<SubjectStatus>>();
  const protectedUrls = new Map<string, boolean>();

  /** The cached status, if still fresh: the hot path answers from here without a promise. */
  function cachedStatus(subjectId: string): SubjectStatus | undefined {
    const hit = statuses.get(subjectId);
    return hit && hit.until > Date.now() ? hit.status : undefined;
  }

  function status(subjectId: string): Promise<SubjectStatus> {
    const cached = cachedStatus(subjectId);
    if (cached) return Promise.resolve(cached);
    let lookup = lookups.get(subjectId);
    if (!lookup) {
      lookup = subjectStatus(o.db, subjectId)
        .then((fresh) => {
          if (statuses.size >= STATUS_CACHE_CAP) statuses.clear();
          statuses.set(subjectId, { status: fresh, until: Date.now() + o.statusCacheMs });
          return fresh;
        })
        .finally(() => lookups.delete(subjectId));
      lookups.set(subjectId, lookup);
    }
    return lookup;
  }

  // request.routeOptions builds a new object on every read (Fastify 5): the hook reads it once.
  function isProtected(route: FastifyRequest['routeOptions']): boolean {
    const flag = route.config.ageGate;
    if (flag !== undefined) return flag;
    const url = route.url;
    if (!url || !o.protectPrefixes.length) return false;
    let known = protectedUrls.get(url);
    if (known === undefined) {
      known = o.protectPrefixes.some((p) => url === p || url.startsWith(p.endsWith('/') ? p : `${p}/`));
      protectedUrls.set(url, known);
    }
    return known;
  }

  const ipHash = (ip: string) => createHmac('sha256', keys[0]!).update(`age-gate-ip:${ip}`).digest('base64url');

  // Read from the raw Cookie header, only here: the gate needs no cookie parsing on ordinary
  // requests. Every occurrence is tried, so a forged duplicate cannot hide a real block.
  function blockedByCookie(request: FastifyRequest): boolean {
    return cookieValues(request.headers.cookie, o.cookieName).some((value) => {
      const [version, expires] = openValue(o.cookieName, value, keys, 200)?.payload.split('~') ?? [];
      return version === '1' && /^[0-9a-z]{1,10}$/.test(expires ?? '') && parseInt(expires!, 36) > Date.now() / 1000;
    });
  }

  async function blockedByIp(request: FastifyRequest): Promise<boolean> {
    if (o.ipBlockSeconds === false) return false;
    const [row] = await o.db
      .select({ h: ipBlocks.ipHash })
      .from(ipBlocks)
      .where(and(eq(ipBlocks.ipHash, ipHash(request.ip)), gt(ipBlocks.expiresAt, new Date())));
    return Boolean(row);
  }

  async function screen(request: FastifyRequest, reply: FastifyReply, dateOfBirth: unknown): Promise<Verification> {
    if (blockedByCookie(request) || (await blockedByIp(request))) {
      await securityEvent(fastify, request, { action: 'age_gate.blocked_retry', outcome: 'denied' });
      throw new Blocked();
    }
    const country = o.country?.(request)?.toUpperCase();
    const minimumAge = (country && o.countries.get(country)) || o.minimumAge;
    // Throws HF_AGE_GATE_INVALID_DATE; the date itself goes nowhere from here.
    const { eligible } = evaluateAge(dateOfBirth, {
      timeZone: o.timeZone,
      minimumAge,
      leapDayBirthday: o.leapDayBirthday,
    });
    if (!eligible) {
      const expires = Math.floor(Date.now() / 1000) + o.blockSeconds;
      // The value is base64url, "~" and ".": cookie-safe as it is. reply.header appends Set-Cookie.
      const value = sealValue(o.cookieName, `1~${expires.toString(36)}`, keys[0]!);
      reply.header(
        'set-cookie',
        `${o.cookieName}=${value}; Max-Age=${o.blockSeconds}; Path=/; HttpOnly; SameSite=Strict${o.secure ? '; Secure' : ''}`,
      );
      if (o.ipBlockSeconds !== false) {
        const expiresAt = new Date(Date.now() + o.ipBlockSeconds * 1000);
        await o.db
          .insert(ipBlocks)
          .values({ ipHash: ipHash(request.ip), expiresAt })
          .onConflictDoUpdate({ target: ipBlocks.ipHash, set: { expiresAt } });
      }
      await securityEvent(fastify, request, { action: 'age_gate.refused', outcome: 'denied', details: { minimumAge } });
      throw new NotEligible();
    }
    return { verifiedAt: new Date(), method: 'self-declared', minimumAge };
  }

  let sweeping: Promise<void> | undefined;
  async function runDueErasures(subjectId?: string): Promise<void> {
    // The shared job erases instead (data rights): the gate keeps only the report and the restriction.
    if (o.erasure) return;
    const handlers = personalDataHandlers(fastify, 'account');
    for (const id of await claimDue(o.db, new Date(), STALE_CLAIM_MS, subjectId)) {
      const counts: Record<string, number> = {};
      let failed = false;
      for (const handler of handlers) {
        try {
          counts[handler.name] = (await handler.eraseSubject(accountSubject(id))).erased;
        } catch (error) {
          failed = true;
          fastify.log.error(
            { err: errorCodes(error), handler: handler.name },
            'age gate: erasure step failed; it will be retried',
          );
        }
      }
      // A failed step leaves the job claimed; it is claimed again once stale, and every handler is idempotent.
      if (failed) continue;
      await completeErasure(o.db, id, counts, new Date());
      await securityEvent(fastify, undefined, {
        action: 'age_gate.minor_erased',
        subjectId: id,
        outcome: 'success',
        details: { counts },
        durability: 'sync',
      });
    }
  }
  const sweep = (subjectId?: string) => (sweeping ??= runDueErasures(subjectId).finally(() => (sweeping = undefined)));

  async function reportMinor(subjectId: string, report: { reason: string; reportedBy: string }) {
    const at = new Date();
    await restrictAndSchedule(o.db, subjectId, { ...report, at, dueAt: new Date(at.getTime() + o.eraseAfterMs) });
    // A lookup sent before the restriction committed may still answer "not restricted": let it land
    // first, then drop what it cached, so this replica refuses the subject from here on.
    await lookups.get(subjectId)?.catch(() => undefined);
    statuses.delete(subjectId);
    await securityEvent(fastify, undefined, {
      action: 'age_gate.minor_reported',
      subjectId,
      outcome: 'success',
      details: { reportedBy: report.reportedBy },
      durability: 'sync',
    });
    if (o.erasure) {
      const report = (await erasureOf(o.db, subjectId))!;
      await o.erasure.schedule(subjectId, { dueAt: report.dueAt, reason: report.reason });
      const state = await o.erasure.state(subjectId);
      // The report's own record follows the shared job, so status() and a repeated report agree.
      if (state?.status === 'done' && report.status !== 'done') {
        await completeErasure(o.db, subjectId, state.counts ?? {}, state.completedAt ?? new Date());
        // As with the gate's own job: the record of the erasure stays under the (restricted) account id.
        await securityEvent(fastify, undefined, {
          action: 'age_gate.minor_erased',
          subjectId,
          outcome: 'success',
          details: { counts: state.counts },
          durability: 'sync',
        });
      }
      return {
        subjectId,
        status: state?.status ?? 'pending',
        dueAt: report.dueAt.toISOString(),
        completedAt: state?.completedAt?.toISOString() ?? null,
        counts: state?.counts ?? null,
      };
    }
    if (o.eraseAfterMs === 0) {
      await sweeping;
      await runDueErasures(subjectId);
    }
    const job = await erasureOf(o.db, subjectId);
    return {
      subjectId,
      status: job!.status,
      dueAt: job!.dueAt.toISOString(),
      completedAt: job!.completedAt?.toISOString() ?? null,
      counts: job!.counts ?? null,
    };
  }

  const decoration: AgeGate = {
    screen,
    reportMinor,
    status,
    runDueErasures: () => sweep(),
    recordVerification,
  };
  fastify.decorate('ageGate', decoration);

  // Restriction and route protection. Callback style: a cached status answers without a promise.
  // Whether the route is protected matters only without a verified subject, so a verified one (the
  // common request) never reads request.routeOptions, which Fastify builds anew on every read.
  const protects = (request: FastifyRequest) => !request.is404 && isProtected(request.routeOptions);
  fastify.addHook('onRequest', (request, _reply, done) => {
    const subjectId = o.subject(request);
    if (!subjectId) return done(protects(request) ? new VerificationRequired() : undefined);
    const cached = cachedStatus(subjectId);
    if (cached) return done(refusal(cached, request, protects));
    status(subjectId).then((s) => done(refusal(s, request, protects)), done);
  });

  registerPersonalDataHandler(fastify, ageGatePersonalData(o.db));

  // Resume erasures a crash interrupted, then look again every sweepIntervalMs.
  let timer: NodeJS.Timeout | undefined;
  fastify.addHook('onReady', async () => {
    void sweep().catch((error: unknown) =>
      fastify.log.error({ err: errorCodes(error) }, 'age gate: erasure sweep failed'),
    );
    if (o.sweepIntervalMs > 0) {
      timer = setInterval(
        () =>
          void sweep().catch((error: unknown) =>
            fastify.log.error({ err: errorCodes(error) }, 'age gate: erasure sweep failed'),
          ),
        o.sweepIntervalMs,
      );
      timer.unref();
    }
  });
  fastify.addHook('onClose', async () => {
    clearInterval(timer);
    await sweeping;
  });
};

export default ageGate;
