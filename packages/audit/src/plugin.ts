import { errorCodes, registerPersonalDataHandler, registerRetentionClass, type SecurityEvent } from '@harakaflow/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { captureIp, cleanDetails, cleanText, deviceParser, MAX_USER_AGENT } from './capture.js';
import type { AuditEventInput } from './event.js';
import { AuditUnavailable, invalidOption } from './errors.js';
import type { AuditRecorder, RequestAuditRecorder } from './fastify.js';
import { resolveOptions, type AuditOptions, type ResolvedOptions } from './options.js';
import { oldestEvent, purgeServerLogs, serverLogsBeforeDay } from './partitions.js';
import { prepareSpillDirectory } from './spill.js';
import { isNoTombstones, purgeTombstones } from './tombstones.js';
import { queryEvents } from './store-query.js';
import { integrate, proveEvent, readTreeHead, type IntegrateResult } from './tree.js';
import { verifyChain } from './verify.js';
import { AuditWriter } from './writer.js';
import { auditPersonalData, chainedRecorder } from './plugin-personal-data.js';

// Dotted, lower-case names: `consent.granted`, `vault.secret.read`, `quota.ban.applied`.
const ACTION = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;
const OUTCOMES = new Set(['success', 'failure', 'denied']);

function checkEvent(event: SecurityEvent): void {
  if (!event || typeof event.action !== 'string' || event.action.length > 100 || !ACTION.test(event.action)) {
    throw invalidOption('record(event).action', 'must be a dotted lower-case name such as "vault.secret.read"');
  }
  if (event.outcome !== undefined && !OUTCOMES.has(event.outcome))
    throw invalidOption('record(event).outcome', 'must be success, failure or denied');
}

const audit: FastifyPluginAsync<AuditOptions> = async (fastify, options) => {
  const o: ResolvedOptions = resolveOptions(options);
  if (o.spillDir) {
    // Startup fails here, naming the directory, when it is not safe (owned by another user, writable by others).
    const { path, legacyFiles } = await prepareSpillDirectory(o.spillDir);
    if (legacyFiles) {
      fastify.log.warn(
        { legacyFiles, directory: o.spillDir, spillDirectory: path },
        'audit: spill files of an earlier, unauthenticated format are not replayed; let a replica of the earlier version replay them, or inspect and remove them',
      );
    }
  }
  const writer = new AuditWriter({
    db: o.db,
    writer: o.writerId,
    checkpointKeys: o.checkpointKeys,
    batchSize: o.batchSize,
    concurrency: o.concurrency,
    flushIntervalMs: o.flushIntervalMs,
    maxBuffered: o.maxBuffered,
    spillDir: o.spillDir,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    writeTimeoutMs: o.writeTimeoutMs,
    staleAfterMs: o.staleAfterMs,
    logger: fastify.log,
    onCheckpoint: o.onCheckpoint,
    chainVersion: o.chainVersion,
    copy: o.copy,
    spillMaxBytes: o.spillMaxBytes,
    userAgentCacheSize: o.userAgentCacheSize,
    // The longest a buffered event can wait: the server-log period plus a day (tombstones.ts).
    tombstoneDays: o.retentionDays === false ? null : o.retentionDays + 1,
  });
  // What an earlier run spilled is measured and replayed from the start, not at the first new event.
  await writer.start();
  // Formats 1 and 2 chain the parsed browser, OS and device with each event; format 3 keeps them
  // once per user agent (parsed when a writer first meets it: intern.ts), so nothing is parsed here.
  const device = o.chainVersion === 3 ? null : deviceParser(o.userAgentCacheSize);
  // Routes whose URL carries a secret record their pattern instead (config.audit.path = 'route').
  const patternOnly = new Set<string>();
  fastify.addHook('onRoute', (route) => {
    if ((route.config as { audit?: { path?: string } } | undefined)?.audit?.path === 'route')
      patternOnly.add(route.url);
  });

  /** The request's share of every event: who, from where, with what. */
  // request.routeOptions builds a new object on every read (Fastify 5): read it once per event.
  function context(request: FastifyRequest, route: string | undefined = request.routeOptions.url): AuditEventInput {
    const ua = cleanText(request.headers['user-agent'], MAX_USER_AGENT);
    const { ip, invalid } = captureIp(request.ip, o.ipMode, o.ipHashKey);
    const url = request.url;
    const q = o.keepQuery ? -1 : url.indexOf('?');
    const input: AuditEventInput = {
      kind: 'access',
      action: 'http.request',
      requestId: cleanText(request.id, 200),
      method: request.method,
      route: route ?? null,
      path:
        route !== undefined && patternOnly.size && patternOnly.has(route)
          ? route
          : cleanText(q === -1 ? url : url.slice(0, q)),
      subjectId: o.subject(request) ?? null,
      ip,
      ipInvalid: invalid,
      userAgent: ua,
      status: null,
      durationMs: null,
    };
    if (device) Object.assign(input, device(ua));
    return input;
  }

  function append(input: AuditEventInput, event: SecurityEvent): Promise<void> {
    const { committed } = writer.append(
      {
        ...input,
        kind: 'security',
        action: event.action,
        resource: cleanText(event.resource, 500),
        outcome: event.outcome ?? null,
        details: event.details === undefined ? null : cleanDetails(event.details),
        ...(event.subjectId !== undefined ? { subjectId: event.subjectId } : {}),
      },
      event.durability === 'sync',
    );
    return committed ?? Promise.resolve();
  }

  const recorder: AuditRecorder = {
    async record(event) {
      checkEvent(event);
      return append({ kind: 'security', action: event.action }, event);
    },
    query: (q) => queryEvents(o.db, q),
    verify: (v = {}) => verifyChain({ db: o.db, checkpointKeys: o.checkpointKeys, ...v }),
    tree: {
      signer: o.signer,
      integrate: async () => {
        await writer.flush();
        return integrateNow();
      },
      head: () => readTreeHead(o.db),
      prove: (id, only) => proveEvent(o.db, id, undefined, undefined, only),
    },
    flush: () => writer.flush(),
    health: () => writer.health,
    writer,
  };
  fastify.decorate('audit', recorder);

  const REQUEST = Symbol('request');
  class RequestAudit implements RequestAuditRecorder {
    [REQUEST]: FastifyRequest;
    constructor(request: FastifyRequest) {
      this[REQUEST] = request;
    }
    async record(event: SecurityEvent): Promise<void> {
      checkEvent(event);
      return append(context(this[REQUEST]), event);
    }
  }
  fastify.decorateRequest('audit', {
    getter(this: FastifyRequest) {
      return new RequestAudit(this);
    },
  });

  if (o.access) {
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
      const route = request.routeOptions.url;
      if (route !== undefined && o.skip.has(route)) return done();
      const url = request.url;
      const q = url.indexOf('?');
      if (o.skip.has(q === -1 ? url : url.slice(0, q))) return done();
      const input = context(request, route);
      input.status = reply.statusCode;
      input.durationMs = Math.round(reply.elapsedTime * 1000) / 1000;
      try {
        writer.appendAccess(input);
      } catch {
        request.log.warn('audit: access event after close, not recorded');
      }
      done();
    });
  }
  if (o.spillFull === 'fail-closed') {
    // While the spill directory is full and the database away, nothing is served unrecorded.
    fastify.addHook('onRequest', (request, reply, done) => {
      if (!writer.full) return done();
      const route = request.routeOptions.url;
      if ((route !== undefined && o.skip.has(route)) || o.skip.has(request.url.split('?', 1)[0]!)) return done();
      done(new AuditUnavailable());
    });
  }

  registerPersonalDataHandler(fastify, auditPersonalData(o.db, writer));
  if (o.retentionDays !== false) {
    const retentionDays = o.retentionDays;
    registerRetentionClass(fastify, {
      name: 'server_logs',
      policyClause:
        '§4: server logs, up to 90 days (the audit log: access and security events share one chain per writer and day)',
      periodDays: o.retentionDays,
      async purgeBatch(b) {
        // Today and the N - 1 whole days before it stay (issue 30 item 3): no kept event is older than
        // N days. The held subjects are not taken from the batch: the database reads the holds.
        const beforeDay = serverLogsBeforeDay(b.cutoff);
        const step = await purgeServerLogs({
          db: o.db,
          checkpointKeys: o.checkpointKeys,
          beforeDay,
          limit: b.limit,
          dryRun: b.dryRun,
          record: chainedRecorder(writer),
        });
        // This replica's spill files last written before that day hold only events of days that went.
        if (step.done && !b.dryRun) {
          step.rows += await writer.purgeSpillBefore(new Date(`${beforeDay}T00:00:00Z`));
          // Erasure records a stopped writer left to append, then tombstones past the longest wait (issue 30 item 5).
          try {
            await writer.recordPendingErasures();
            await purgeTombstones(o.db, retentionDays + 1);
          } catch (error) {
            if (!isNoTombstones(error)) throw error;
          }
        }
        return step;
      },
      oldest: () => oldestEvent(o.db),
    });
  }
  // The Merkle tree (issue 33): this replica appends what the writers committed and signs the head,
  // one replica at a time (a row lock); each new signed head goes to onTreeHead (witnesses).
  let integrating: Promise<IntegrateResult | null> | null = null;
  function integrateNow(): Promise<IntegrateResult | null> {
    integrating ??= (async () => {
      try {
        for (;;) {
          const r = await integrate({ db: o.db, checkpointKeys: o.checkpointKeys, signer: o.signer });
          if (r?.note && o.onTreeHead) await o.onTreeHead({ size: r.size, root: r.root, note: r.note });
          // A run appends at most its budget: go on while there is more.
          if (!r || r.appended < 50_000) return r;
        }
      } finally {
        integrating = null;
      }
    })();
    return integrating;
  }
  let treeTimer: NodeJS.Timeout | null = null;
  if (o.treeIntervalMs !== false) {
    const every = o.treeIntervalMs;
    const tick = () => {
      integrateNow()
        .catch((error: unknown) =>
          fastify.log.error(
            { err: errorCodes(error) },
            'audit: the Merkle tree was not extended; the next run tries again',
          ),
        )
        .finally(() => {
          if (treeTimer) treeTimer = setTimeout(tick, every).unref();
        });
    };
    treeTimer = setTimeout(tick, every).unref();
  }
  fastify.addHook('onClose', async () => {
    if (treeTimer) clearTimeout(treeTimer);
    treeTimer = null;
    await writer.close();
    await integrating?.catch(() => null);
  });
};

export default audit;
