/**
 * What the consent routes need from the plugin (routes.ts, plugin.ts), in a module of its own so neither imports the
 * other.
 */
import type { FastifyRequest } from 'fastify';
import type { Evaluation } from './evaluate.js';
import type { ConsentLedger, LedgerAction } from './ledger.js';
import type { ResolvedOptions } from './options.js';

/** What the routes need from the plugin: evaluation, decisions, the ledger. */
export interface ConsentContext {
  o: ResolvedOptions;
  ledger: ConsentLedger;
  evaluationOf(request: FastifyRequest): Evaluation;
  /** Records a person's decision (committed before it returns) and makes it this request's state. */
  decide(request: FastifyRequest, granted: string[], action: LedgerAction): Promise<Evaluation>;
}
