/**
 * How the operator CLIs find a secret (issue 13 item 10): the environment the app uses, else the
 * development value the app generated in `DATA_DIR/secrets.json`. The source is named, never the
 * value. The file is read only from a DATA_DIR the operator gave (issue 19): a CLI run in some
 * directory never picks up a `.data/secrets.json` it happens to find there. Node's fs only: no Fastify.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface FoundSecret {
  value: string;
  /** Where it came from, for the operator: `the environment` or the file's path. */
  source: string;
}

/** `env.DATA_DIR` as given (trimmed), or undefined: the CLIs have no default data directory. */
export function givenDataDir(env: Record<string, string | undefined>): string | undefined {
  return env.DATA_DIR?.trim() || undefined;
}

/**
 * `name` from `env`, else from `<dataDir>/secrets.json` when a dataDir is given; null when neither has it. Throws a
 * plain Error when the file is not JSON.
 */
export function readSecret(
  name: string,
  env: Record<string, string | undefined>,
  dataDir: string | undefined,
): FoundSecret | null {
  const fromEnv = env[name]?.trim();
  if (fromEnv) return { value: fromEnv, source: 'the environment' };
  if (dataDir === undefined) return null;
  const file = resolve(dataDir, 'secrets.json');
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${join(dataDir, 'secrets.json')} is not valid JSON`);
  }
  const value = (parsed as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' && value.trim()
    ? { value: value.trim(), source: join(dataDir, 'secrets.json') }
    : null;
}
