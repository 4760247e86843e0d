/**
 * Once per test run, before any test file: the JavaScript the tests' child processes run (see
 * from-dist.ts), transpiled from the sources where they changed (about a second; nothing when up
 * to date). Test files only read it afterwards, so no test races a write.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pgliteTemplate } from './pglite-seed.js';

interface Transpiler {
  staleSources(dirs: string[]): unknown;
  transpile(plan: unknown): Promise<void>;
}

// Every project inherits this setup: one transpile per run, whichever project asks first.
const once = Symbol.for('harakaflow.testing.transpiled');

export default function setup(): Promise<void> {
  const shared = globalThis as { [once]?: Promise<void> };
  return (shared[once] ??= (async () => {
    const url = pathToFileURL(fileURLToPath(new URL('../../transpile.mjs', import.meta.url))).href;
    const { staleSources, transpile } = (await import(url)) as Transpiler;
    // And the PGlite directory the tests that start on a fresh DATA_DIR copy (pglite-seed.ts),
    // made here so that no two test files wait on its initdb.
    await Promise.all([transpile(staleSources(['apps/api'])), pgliteTemplate()]);
  })());
}
