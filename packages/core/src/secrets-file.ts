/**
 * How the operator CLIs find a secret (issue 13 item 10): the environment the app uses, else the
 * development value the app generated in `DATA_DIR/secrets.json`. The source is named, never the
 * value. Node's fs only: no Fastify.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface FoundSecret {
  value: string;
  /** Where it came from, for the operator: `the environment` or the file's path. */
  source: string;
}

/** `name` from `env`, else from `<dataDir>/secrets.json`; null when neither has it. Throws a plain Error when the file is not JSON. */
export function readSecret(name: string, env: Record<string, string | undefined>, dataDir: string): FoundSecret | null {
  const fromEnv = env[name]?.trim();
  if (fromEnv) return { value: fromEnv, source: 'the environment' };
  const file = resolve(dataDir, 'secrets.json');
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${join(dataDir, 'secrets.json')} is not valid JSON`);
  }
  const value = (parsed as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' && value.trim() ? { value: value.trim(), source: join(dataDir, 'secrets.json') } : null;
}
