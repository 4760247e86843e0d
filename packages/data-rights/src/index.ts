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

export const harakaflowDataRights = fp(plugin, { name: '@harakaflow/data-rights', fastify: '5.x' });
export default harakaflowDataRights;
export type { DataRightsOptions } from './options.js';
// The decoration (`fastify.dataRights`, its `intake`) and the shapes its methods take and answer.
export type { DataRights } from './service.js';
export type { Intake } from './intake.js';
export type { EvidenceStore, ExportKeyStore, FileInput, ListFilter } from './types.js';
export { ALL_REQUEST_KINDS, REQUEST_KINDS, REQUEST_STATUSES } from './types.js';
export type {
  Actor,
  FilingKind,
  HistoryEntry,
  Receipt,
  ReceiptHandler,
  ReceiptHold,
  RequestKind,
  RequestStatus,
  RightsRequest,
} from './types.js';
export { CODE_TRIES, CODE_TTL_MS } from './intake-codes.js';
export type { IncomingMessage, IntakeOutcome } from './intake.js';
export { classifyRequest } from './classify.js';
// Signing keys (the `signingKeys` option) and the checks of signed manifests and receipts (README, "Exports").
export { SigningKeys, generateSigningKey, verifySignature } from './signing.js';
export type { PublicJwk, Signature } from './signing.js';
export { signedManifestFields } from './bundle.js';
export type { Manifest, ManifestPart } from './bundle.js';
// The `article15` option's statement (README, "Exports").
export {
  isArticle15,
  type Article15,
  type Article15Builder,
  type Article15Input,
  type Article15Item,
} from './article15.js';
export {
  AlreadyExtended,
  CodeAttempts,
  CodeExpired,
  CodeInvalid,
  DATA_RIGHTS_ERROR_CODES,
  ExportGone,
  ExportNotAcceptable,
  ExportPageOnly,
  invalidOption,
  InvalidRequest,
  InvalidTransition,
  PendingDeletion,
  RequestNotFound,
  Restricted,
  SubjectNotFound,
  type DataRightsErrorCode,
} from './errors.js';
