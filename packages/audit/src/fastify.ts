import type { SecurityEvent } from '@harakaflow/core';
import type { AuditEvent } from './event.js';
import type { EventQuery } from './store.js';
import type { HeadSigner, IntegrateResult, ProofResult, TreeHead } from './tree.js';
import type { VerifyOptions, VerifyResult } from './verify.js';
import type { AuditWriter } from './writer.js';

/** `fastify.audit`: security events outside a request, queries, verification. */
export interface AuditRecorder {
  /**
   * Records a security event. With `durability: 'sync'` resolves on commit and rejects with HF_AUDIT_UNAVAILABLE if it
   * fails.
   */
  record(event: SecurityEvent): Promise<void>;
  /** Events newest first, keyset-paginated. */
  query(query: EventQuery): Promise<{ events: AuditEvent[]; nextCursor: string | null }>;
  /** Verifies the hash chains of a range of UTC days. */
  verify(options?: Omit<VerifyOptions, 'db' | 'checkpointKeys'>): Promise<VerifyResult>;
  /** Resolves once every event recorded so far is committed. */
  flush(): Promise<void>;
  /**
   * Events waiting in memory, bytes waiting on disk, access events dropped since the last declared gap, and whether the
   * spill directory is full.
   */
  health(): {
    backlog: number;
    spilledBytes: number;
    dropped: number;
    full: boolean;
    writeFailures: number;
    oldestPendingMs: number;
  };
  /** This instance's writer (its chain name, buffer and counters). */
  writer: AuditWriter;
  /** The Merkle tree over every writer's events (issue 33): heads, proofs, and a run now. */
  tree: {
    /** What signs heads (null: heads unsigned). */
    signer: HeadSigner | null;
    /**
     * Flushes this writer, then appends every committed event to the tree and signs the head (null: another replica
     * holds the tree now).
     */
    integrate(): Promise<IntegrateResult | null>;
    head(): Promise<TreeHead | null>;
    /**
     * An event's inclusion proof in the latest signed head; with `only`, another subject's event reads as `missing`.
     */
    prove(id: string, only?: { subjectId: string }): Promise<ProofResult>;
  };
}

/** `request.audit`: security events that carry the request's context (id, route, IP, device, subject). */
export interface RequestAuditRecorder {
  record(event: SecurityEvent): Promise<void>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `{ path: 'route' }`: events of this route record its pattern as their path, never the URL
     * (a path that carries a secret, such as a one-time download token).
     */
    audit?: { path?: 'route' | 'url' } | undefined;
  }
  interface FastifyInstance {
    /** The audit log (@harakaflow/audit). */
    audit: AuditRecorder;
  }
  interface FastifyRequest {
    /** Records a security event with this request's context (@harakaflow/audit). */
    audit: RequestAuditRecorder;
  }
}
