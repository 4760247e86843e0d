/** verify-packages' last step: a package README's main example, run from a scratch project. */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractExamples, transpileExample } from './readme-examples.js';
import { run } from './verify-install.js';

/**
 * The environment variables the README examples read, each with a fresh value of the form it
 * expects. An example reading one that is neither here nor in EXAMPLE_UNSET fails, naming it.
 */
const exampleEnv = (): Record<string, string> => {
  const hex = () => randomBytes(32).toString('hex');
  const keyList = () => `k1:${randomBytes(32).toString('base64')}`;
  return {
    AGE_GATE_SECRET: hex(),
    AUDIT_CHECKPOINT_KEYS: hex(),
    CONSENT_SECRET: hex(),
    VAULT_KEYS: keyList(),
    DATA_RIGHTS_SIGNING_KEYS: keyList(),
    DATA_RIGHTS_SUBJECT_KEY: hex(),
    NOTIFY_UNSUBSCRIBE_SECRET: hex(),
    QUOTA_CLIENT_KEY_SECRET: hex(),
  };
};
/** Read by an example and left unset (removed from this process's environment): its documented default. */
const EXAMPLE_UNSET = ['DATABASE_URL', 'PGLITE_DIR', 'SMTP_URL', 'AUDIT_SPILL_DIR', 'NOTIFY_OUTBOX_DIR', 'NODE_ENV'];
/** The longest an example may take to exit by itself: past it, it is killed and fails (something left open). */
const EXAMPLE_DEADLINE_MS = 120_000;

/**
 * Runs a package README's main example (its first complete ```ts block, from the tarball's own
 * README) as a user's build would (types stripped), in the scratch project `dir`: on `databaseUrl`,
 * or PGlite in memory without it. The example must exit by itself, with status 0, before the
 * deadline. Returns false when the README has no example (core).
 */
export async function runExample(dir: string, name: string, readme: string, databaseUrl?: string): Promise<boolean> {
  const example = extractExamples(readme, 'README.md')[0];
  if (!example) return false;
  const values = exampleEnv();
  const unknown = [...example.code.matchAll(/process\.env\.([A-Za-z0-9_]+)/g)]
    .map((m) => m[1]!)
    .filter((k) => !(k in values) && !EXAMPLE_UNSET.includes(k));
  if (unknown.length)
    throw new Error(
      `its README example reads ${[...new Set(unknown)].join(', ')}: give it a value in verify-packages (exampleEnv) or list it in EXAMPLE_UNSET`,
    );
  const env: NodeJS.ProcessEnv = { ...process.env, ...values };
  for (const key of EXAMPLE_UNSET) delete env[key];
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const file = `${name.replace('@harakaflow/', '')}-readme-example.mjs`;
  writeFileSync(join(dir, file), transpileExample(example));
  try {
    await run(process.execPath, [file], {
      cwd: dir,
      env,
      timeout: EXAMPLE_DEADLINE_MS,
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 24,
    });
  } catch (error) {
    const e = error as Error & { killed?: boolean; signal?: string | null; stderr?: string };
    const where = `its README example (README.md line ${example.line}${databaseUrl ? ', on Postgres' : ', on PGlite'})`;
    if (e.killed || e.signal === 'SIGKILL')
      throw Object.assign(
        new Error(
          `${where} did not exit within ${EXAMPLE_DEADLINE_MS / 1000} s: it leaves something open (a pool, a server, a timer)`,
        ),
        { stderr: e.stderr },
      );
    throw Object.assign(new Error(`${where} failed`), { stderr: e.stderr });
  }
  return true;
}
