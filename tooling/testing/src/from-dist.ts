/**
 * Child processes the tests start from JavaScript, not TypeScript: the CLIs and the server as
 * `node <package>/dist/<entry>.js`, which the suite's global setup transpiles once before any test
 * file runs (tooling/transpile.mjs, esbuild, file by file: what `start` and the hf-* scripts run).
 * Through tsx every spawn compiled the whole app again in its own process: tens of seconds each on
 * two cores shared with a second copy of the suite, past the per-test limit in the CLI tests.
 */
import { existsSync } from 'node:fs';
import { sep } from 'node:path';

/** Node's arguments that run `source` (an absolute path to `<package>/src/<entry>.ts`) from its transpiled output. */
export function fromDist(source: string): string[] {
  const marker = `${sep}src${sep}`;
  const at = source.lastIndexOf(marker);
  if (at < 0 || !source.endsWith('.ts')) throw new Error(`fromDist: ${source} is not a file under a package's src/`);
  const built = `${source.slice(0, at)}${sep}dist${sep}${source.slice(at + marker.length, -3)}.js`;
  if (!existsSync(built))
    throw new Error(
      `fromDist: ${built} is missing: the suite's global setup transpiles it (run the tests through the root vitest config)`,
    );
  return ['--enable-source-maps', built];
}
