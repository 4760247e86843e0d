// The one test configuration of the repository: `pnpm test` at the root runs every project in
// one vitest process (one report, one closing "N passed, N failed" line). Workspace packages
// resolve to their TypeScript sources through the `source` export condition, so tests need no
// build step.
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Projects whose files each get a fresh module graph (see `isolate` below): the audit log's id
// generator is one per process and, by design, never goes back in time (ids order a writer's
// chain), so a file that wrote events dated later would give the next file's events ids of that
// later time (a CI run: hf-audit verify --to found its day's events out of range).
const ISOLATED = new Set(['audit']);
const projects = ['packages', 'apps', 'tooling'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'test')))
    .map((entry) => ({
      extends: true as const,
      test: {
        name: entry.name,
        root: join(root, group, entry.name),
        include: ['test/**/*.test.ts'],
        ...(ISOLATED.has(entry.name) ? { isolate: true } : {}),
      },
    })),
);
// @harakaflow/db accepts postgres.js 3.x (the lockfile's) and 4.x (what npm installs today, with
// server-decided parameter types): its tests run a second time with `postgres` resolved to the
// 4.x copy installed under the alias postgres-v4 (issue 28 item 1).
projects.push({
  extends: true as const,
  // The files that reach Postgres through postgres.js (connect.test is PGlite's but for one case, which driver.test covers).
  test: {
    name: 'db (postgres 4)',
    root: join(root, 'packages/db'),
    include: ['test/{driver,migrate,pooler,pool-use}.test.ts'],
    env: { HF_POSTGRES_MAJOR: '4' },
  },
  resolve: { alias: { postgres: join(root, 'packages/db/node_modules/postgres-v4/src/index.js') } },
} as (typeof projects)[number]);
// The audit writer's binary COPY reaches postgres.js' stream internals, which differ between the majors.
projects.push({
  extends: true as const,
  test: {
    name: 'audit (postgres 4)',
    root: join(root, 'packages/audit'),
    include: ['test/pgcopy.test.ts'],
    env: { HF_POSTGRES_MAJOR: '4' },
  },
  resolve: { alias: { postgres: join(root, 'packages/db/node_modules/postgres-v4/src/index.js') } },
} as (typeof projects)[number]);

// Vitest also hands these to Node as --conditions for the packages it does not transform, where
// 'import' would make require() of a dual package load its ESM build (require(esm) returns the
// namespace, not the function: @fastify/helmet's require('helmet') broke). Vite adds import/require
// itself by the kind of each import.
const conditions = ['source', 'node', 'default'];

export default defineConfig({
  root,
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node'] } },
  test: {
    projects,
    environment: 'node',
    pool: 'forks',
    // Both cores (vitest's default leaves one free: one worker on 2 cores, a 15-minute run). Most
    // tests wait on Postgres, Redis, Chromium or a child process; each file has its own database.
    maxWorkers: 2,
    // A worker runs its files one after another in one module graph, not a fresh one per file: the
    // app and its dependencies are loaded once per worker instead of once per file (import time
    // 197 s of the suite's 644 s before; the suite took 530 s after). Test files keep no state
    // in modules that another file could see (each has its own database, Redis prefix, ports and
    // data directories); HF_ISOLATE=1 runs every file in a fresh module graph, to check that.
    isolate: process.env.HF_ISOLATE === '1',
    // Hang guards, not measurements (issue 31 item 6): the suite passes with a second copy of itself
    // running beside it on the same 2 cores, where opening PGlite or spawning a CLI takes 10 to 30 s.
    // Tests wait for what they need with `until` (@harakaflow/testing), never a fixed sleep.
    testTimeout: 120_000,
    setupFiles: [join(root, 'tooling/testing/src/setup.ts')],
    // The JavaScript the tests' child processes run (CLIs, the server), transpiled once up front.
    globalSetup: [join(root, 'tooling/testing/src/global-setup.ts')],
    hookTimeout: 120_000,
    // The summary reporter says why each skipped test was skipped, from the skip condition at the
    // test's (or its describe's) line: it needs the locations.
    includeTaskLocation: true,
    reporters: ['default', join(root, 'tooling/testing/src/summary-reporter.ts')],
    server: { deps: { inline: [/@harakaflow\//] } },
  },
});
