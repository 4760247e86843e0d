/** The readers of the variable table: how one variable's text becomes a value, and what is refused. */
import type { AppConfig, EnvVariable, Reader, VariableText } from './types.js';

/**
 * A variable that sets config field `key` by itself. Its reader must return that field's type, so a
 * wrong key, or a reader of the wrong type, does not compile.
 */
export function variable<K extends keyof AppConfig>(
  v: VariableText & { key: K; read: Reader<AppConfig[K]> },
): EnvVariable {
  return v;
}

/** A value quoted in a problem (never a secret or a URL). */
export const quote = JSON.stringify;
const list = (values: readonly string[]) =>
  values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values.at(-1)}` : values[0]!;

/** A whole number of at least 1; `beyond` refuses some of them with its own message. */
export function count(
  fallback: number,
  beyond?: { min?: number; max?: number; says: (n: number) => string },
): Reader<number> {
  return (text, problem) => {
    const v = text ?? String(fallback);
    if (!/^\d{1,9}$/.test(v) || Number(v) < 1) {
      problem(`must be a whole number of at least 1 (got ${quote(v)})`);
      return fallback;
    }
    const n = Number(v);
    if (beyond && (n > (beyond.max ?? Infinity) || n < (beyond.min ?? 1))) problem(beyond.says(n));
    return beyond?.max !== undefined ? Math.min(n, beyond.max) : n;
  };
}

/** A whole number written in `digits` and at most `max`; else `fallback`, and `says` why. */
export function whole(fallback: number, digits: RegExp, max: number, says: (v: string) => string): Reader<number> {
  return (text, problem) => {
    const v = text ?? String(fallback);
    if (digits.test(v) && Number(v) <= max) return Number(v);
    problem(says(v));
    return fallback;
  };
}

/** A whole number from 0 to `max` (0 saying `zero` when it means something). */
export const fromZero = (fallback: number, max: number, unit: string, zero?: string): Reader<number> =>
  whole(
    fallback,
    /^\d{1,6}$/,
    max,
    (v) => `must be a whole number of ${unit} from 0${zero ? ` (${zero})` : ''} to ${max} (got ${quote(v)})`,
  );

/** One of `values`: "must be a, b or c", or with `oneOf` "must be one of a, b, c". */
export function oneOf<T extends string>(
  values: readonly T[],
  fallback: T,
  style: 'list' | 'one of' = 'list',
): Reader<T> {
  return (text, problem) => {
    const v = text ?? fallback;
    if ((values as readonly string[]).includes(v)) return v as T;
    problem(`must be ${style === 'one of' ? `one of ${values.join(', ')}` : list(values)} (got ${quote(v)})`);
    return fallback;
  };
}

/** 1/true or 0/false; unset is false. */
export const flag: Reader<boolean> = (text, problem) => {
  if (text === undefined || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  problem(`must be 1 or 0 (got ${quote(text)})`);
  return false;
};

export function isUrl(text: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** A URL of one of `protocols`, or unset. Never quoted: a URL may hold credentials. */
export function url(protocols: readonly string[], says: string): Reader<string | undefined> {
  return (text, problem) => {
    if (text !== undefined && !isUrl(text, protocols)) problem(says);
    return text;
  };
}

/** Text matching `pattern`, else `fallback` (`says` may quote it: not for secrets). */
export function text(fallback: string, pattern: RegExp, says: (v: string) => string): Reader<string> {
  return (t, problem) => {
    const v = t ?? fallback;
    if (!pattern.test(v)) problem(says(v));
    return v;
  };
}

/** A secret of at least `min` characters, or unset; never quoted. */
export function secret(min: number, says: string): Reader<string | undefined> {
  return (t, problem) => {
    if (t !== undefined && t.length < min) problem(says);
    return t;
  };
}

/** Any text, or unset. */
export const optional: Reader<string | undefined> = (t) => t;
