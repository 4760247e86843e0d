/**
 * Registration-time option checks shared by every package (ARCHITECTURE.md, contract item 2): a
 * wrong or missing option throws a TypeError whose code is `HF_<PKG>_INVALID_OPTION` and whose
 * message names the option.
 */
import { defaultSubject, type SubjectResolver } from './subject.js';

export type OptionError = (option: string, why: string) => TypeError;

/** The option-error factory of one package, e.g. `optionErrors('@harakaflow/consent', 'HF_CONSENT_INVALID_OPTION')`. */
export function optionErrors(pkg: string, code: string): OptionError {
  return (option, why) => Object.assign(new TypeError(`${pkg}: option "${option}" ${why}`), { code });
}

/** Checks a `subject` option (contract item 8); undefined gives the default. */
export function checkSubjectOption(value: unknown, invalid: OptionError): SubjectResolver {
  if (value === undefined) return defaultSubject;
  if (typeof value !== 'function') throw invalid('subject', 'must be a function (request) => string | undefined');
  return value as SubjectResolver;
}

/** Checks a `db` option: a drizzle PgDatabase (PGlite or postgres.js). */
export function checkDatabaseOption<T>(value: T, invalid: OptionError): NonNullable<T> {
  if (!value || typeof (value as { select?: unknown }).select !== 'function')
    throw invalid('db', 'must be a drizzle PgDatabase');
  return value as NonNullable<T>;
}

/**
 * Checks a whole-number option (issue 19 item 7: one checker instead of a copy per package):
 * `undefined` gives `fallback`; anything else must be an integer from `min` to `max`.
 */
export function integerOption(
  invalid: OptionError,
  name: string,
  value: unknown,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(
      name,
      max === Number.MAX_SAFE_INTEGER
        ? min === 1
          ? 'must be a positive integer'
          : `must be an integer of at least ${min}`
        : `must be an integer from ${min} to ${max}`,
    );
  }
  return v;
}
