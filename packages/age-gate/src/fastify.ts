import type { Database } from '@harakaflow/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SubjectStatus, Verification } from './store.js';

export interface MinorReport {
  subjectId: string;
  status: string;
  dueAt: string;
  completedAt: string | null;
  counts: Record<string, number> | null;
}

/** `fastify.ageGate`. */
export interface AgeGate {
  /** The signup screen: refuses neutrally (and blocks retries) or returns the verification to record. */
  screen(request: FastifyRequest, reply: FastifyReply, dateOfBirth: unknown): Promise<Verification>;
  /**
   * Restricts the subject at once and erases its data through every personal-data handler (after `eraseAfterMs`).
   * Idempotent.
   */
  reportMinor(subjectId: string, report: { reason: string; reportedBy: string }): Promise<MinorReport>;
  /** Verified and restricted flags of a subject (cached for `statusCacheMs`). */
  status(subjectId: string): Promise<SubjectStatus>;
  /** Runs due erasures now (they also run at startup and every `sweepIntervalMs`). */
  runDueErasures(): Promise<void>;
  /** Records a verification; pass the signup transaction so account and record commit together. */
  recordVerification(db: Database, subjectId: string, verification: Verification): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The age gate: screen, reportMinor, status. */
    ageGate: AgeGate;
  }
  interface FastifyContextConfig {
    /** true: this route requires a verified subject; false: never, even under a protected prefix. */
    ageGate?: boolean;
  }
}
