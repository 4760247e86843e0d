// The options of contacts' requests, and the context their modules share.
import type { Database } from '@harakaflow/db';
import type { FastifyInstance } from 'fastify';

export const DAY = 86_400_000;

export interface ContactRequestsOptions {
  db: Database;
  codeKey: Buffer;
  /** PRIVACY_WHATSAPP_NUMBER: where codes are sent; undefined, no code is given (503). */
  whatsappNumber: string | undefined;
  /** Days an account has to answer (DATA_RIGHTS_DUE_DAYS). */
  dueDays: number;
  /** The due-soon alert comes this many days before the due date. */
  dueSoonDays: number;
  /** The published JWK set, named in the person's erasure receipt. */
  keysUrl: string;
  now?: () => number;
}

/** What the modules of contacts' requests work with: the app, the options, the database and the clock. */
export interface ContactContext {
  app: FastifyInstance;
  o: ContactRequestsOptions;
  db: Database;
  now(): Date;
}
