import './fastify.js';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '@harakaflow/db';
import plugin from './plugin.js';

/** The package's migrations (schema `data_rights`), for `@harakaflow/db`'s migrate. */
export const dataRightsMigrations: MigrationSet = {
  name: 'data_rights',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export default fp(plugin, { name: '@harakaflow/data-rights', fastify: '5.x' });
export type { DataRightsOptions } from './options.js';
export { DataRights, uuidv7 } from './service.js';
export type { DataRightsConfig, FileInput, ListFilter } from './types.js';
export { SigningKeys, generateSigningKey, verifySignature } from './signing.js';
export type { PublicJwk, Signature } from './signing.js';
export { signedManifestFields } from './bundle.js';
export {
  article15Html,
  holdsData,
  isArticle15,
  normalizeArticle15,
  type Article15,
  type Article15Builder,
  type Article15Input,
  type Article15Item,
} from './article15.js';
export type { Manifest, ManifestPart } from './bundle.js';
export type { ExportKeyStore } from './storage.js';
export { canTransition, isFinal } from './states.js';
export { checkSubject, subjectHash } from './subject.js';
export { ALL_REQUEST_KINDS, REQUEST_KINDS, REQUEST_STATUSES } from './types.js';
export type {
  Actor,
  EvidenceStore,
  FilingKind,
  HistoryEntry,
  Receipt,
  ReceiptHandler,
  ReceiptHold,
  RequestKind,
  RequestStatus,
  RightsRequest,
} from './types.js';
export { classifyRequest } from './classify.js';
export { CODE_TRIES, CODE_TTL_MS, CODE_VERIFICATION, Intake } from './intake.js';
export type { IncomingMessage, IntakeOutcome } from './intake.js';
export { purgeClosedRequests, RIGHTS_REQUESTS_CLASS } from './retention.js';
export {
  CodeAttempts,
  CodeExpired,
  CodeInvalid,
  DATA_RIGHTS_ERROR_CODES,
  ExportGone,
  ExportNotAcceptable,
  ExportPageOnly,
  PendingDeletion,
  Restricted,
} from './errors.js';
export * as dataRightsSchema from './schema.js';
