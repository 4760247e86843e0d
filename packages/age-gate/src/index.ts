import './fastify.js';
import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import ageGate from './plugin.js';

export { evaluateAge } from './age.js';
export type { AgeOptions, AgeResult, LeapDayBirthday } from './age.js';
export type { AgeGateOptions, MinorErasure } from './options.js';
export type { AgeGate, MinorReport } from './fastify.js';
export { ageGatePersonalData, recordVerification } from './store.js';
export type { SubjectStatus, Verification } from './store.js';
export { AgeGateInvalidOption, Blocked, InvalidDate, NotEligible, Restricted, VerificationRequired } from './errors.js';
export type { AgeGateErrorCode } from './errors.js';

/** The gate's migrations (schema `age_gate`). */
export const ageGateMigrations: MigrationSet = {
  name: 'age_gate',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowAgeGate = fp(ageGate, { name: '@harakaflow/age-gate', fastify: '5.x' });
export default harakaflowAgeGate;
