// The public types a user of the plugin meets: its options and its decorations (issue 35).
import type { SecurityEvent } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import audit, {
  type AuditWriter,
  harakaflowAudit,
  type AuditErrorCode,
  type AuditEvent,
  type AuditOptions,
  type AuditRecorder,
  type EventQuery,
  type RequestAuditRecorder,
  type VerifyResult,
} from '@harakaflow/audit';

const db = {} as Database;

describe('the audit plugin types', () => {
  it('exports the plugin as default and named', () => {
    expectTypeOf(audit).toEqualTypeOf(harakaflowAudit);
    expectTypeOf(harakaflowAudit).toExtend<FastifyPluginAsync<AuditOptions>>();
  });

  it('types its options: db, checkpointKeys and spillDir required, the rest optional', () => {
    expectTypeOf<AuditOptions['db']>().toEqualTypeOf<Database>();
    expectTypeOf<AuditOptions['checkpointKeys']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<AuditOptions['spillDir']>().toEqualTypeOf<string | false>();
    expectTypeOf<AuditOptions['chainVersion']>().toEqualTypeOf<1 | 2 | 3 | undefined>();
    expectTypeOf<AuditOptions['spillFull']>().toEqualTypeOf<'drop-access' | 'fail-closed' | undefined>();
    const minimal: AuditOptions = { db, checkpointKeys: ['k'.repeat(32)], spillDir: false };
    expectTypeOf(minimal).toExtend<AuditOptions>();
    // @ts-expect-error spillDir is required (false: never spill)
    const noSpill: AuditOptions = { db, checkpointKeys: ['k'.repeat(32)] };
    // @ts-expect-error batchSize is a number
    const badBatch: AuditOptions = { db, checkpointKeys: [], spillDir: false, batchSize: '1000' };
    // @ts-expect-error ipMode is 'full', 'truncated' or 'keyed-hash'
    const badIp: AuditOptions = { db, checkpointKeys: [], spillDir: false, ipMode: 'none' };
    void [noSpill, badBatch, badIp];
  });

  it('decorates the instance with fastify.audit', () => {
    expectTypeOf<FastifyInstance['audit']>().toEqualTypeOf<AuditRecorder>();
    expectTypeOf<FastifyInstance['audit']['record']>().toEqualTypeOf<(event: SecurityEvent) => Promise<void>>();
    expectTypeOf<FastifyInstance['audit']['flush']>().toEqualTypeOf<() => Promise<void>>();
    expectTypeOf<FastifyInstance['audit']['query']>().toEqualTypeOf<
      (query: EventQuery) => Promise<{ events: AuditEvent[]; nextCursor: string | null }>
    >();
    expectTypeOf<ReturnType<FastifyInstance['audit']['verify']>>().toEqualTypeOf<Promise<VerifyResult>>();
    expectTypeOf<FastifyInstance['audit']['writer']>().toEqualTypeOf<AuditWriter>();
    expectTypeOf<ReturnType<FastifyInstance['audit']['health']>['backlog']>().toEqualTypeOf<number>();
  });

  it('decorates the request with request.audit', () => {
    expectTypeOf<FastifyRequest['audit']>().toEqualTypeOf<RequestAuditRecorder>();
    expectTypeOf<FastifyRequest['audit']['record']>().toEqualTypeOf<(event: SecurityEvent) => Promise<void>>();
  });

  it('names its error codes', () => {
    expectTypeOf<'HF_AUDIT_UNAVAILABLE'>().toExtend<AuditErrorCode>();
    expectTypeOf<'HF_AUDIT_INVALID_QUERY'>().toExtend<AuditErrorCode>();
    // @ts-expect-error not a code of this package
    expectTypeOf<'HF_QUOTA_EXCEEDED'>().toExtend<AuditErrorCode>();
  });
});
