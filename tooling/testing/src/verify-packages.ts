/**
 * `pnpm verify:packages` (issue 19 item 1): every package under packages/ installs and works on its
 * own, as a user gets it from the registry. For each one:
 *
 *   1. `pnpm pack` makes its tarball (workspace: and catalog: versions rewritten, publishConfig applied),
 *      what a publish sends, checked: the files (LICENSE, README, the entry, every export's target and
 *      types, bins; no tests, benchmarks, fixtures, environment or key files, build state; no private
 *      key or token in any text) and the manifest (semver version, description, ES module, license,
 *      engines, repository, files, public access, `types` first in every export and no `source`
 *      condition, no workspace:/catalog: left).
 *   2. A scratch project holding only fastify gets, with a plain `npm install`, the tarballs of the
 *      package and of the siblings it depends on (npm brings their required peers itself). No
 *      database driver may be in it (they are optional peers of @harakaflow/db), and the package
 *      must import, and so must every other subpath its manifest exports (`./internals`).
 *   3. The embedded driver is then installed, as an app that calls createDatabase does, and a script
 *      migrates, registers the plugin, gets `ready()` and uses it once. Then the README's main
 *      example (its first complete ```ts block, from the tarball's README, types stripped) runs there,
 *      with the environment variables it reads set, on a database of its own on TEST_DATABASE_URL's
 *      server through postgres.js (PGlite without a server), and must exit by itself with status 0
 *      within EXAMPLE_DEADLINE_MS: a pool, a server or a timer left open fails it (issue 31 item 4).
 *   4. All together: one scratch project gets every tarball at once, then PGlite and postgres.js as
 *      the registry serves them today (4.x); every check runs there on PGlite and, when
 *      TEST_DATABASE_URL names a server, on a database of its own there through postgres.js; then
 *      every README example, on PGlite.

 * npm runs with an empty cache of its own (a temporary npm_config_cache) and --prefer-online, so
 * the registry is met as a user meets it, not through a cache that predates its latest releases
 * (issue 28 item 1: postgres 4.x broke `npm i` of db while a stale cache hid it). Once the whole
 * set is installed, that cache holds today's answers for every package any of them needs, and the
 * single installs take them from it (--prefer-offline): about 3 minutes less, the same resolution.
 *
 * Prints one line per package (and one for the whole set), then "N passed, N failed"; exits 1 when
 * any failed. Run the build first (the root script does); PACKAGES=a,b checks only those.
 * VERIFY_LISTING=file writes what a publish would send there (name, version, files, bytes), for `release`.
 */ import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testDatabase } from './database.js';
import { CHECKS } from './package-checks.js';
import { extractExamples } from './readme-examples.js';
import { runExample } from './verify-example.js';
import { markCacheFilled, npm, runScript, scratch, useNpmCache } from './verify-install.js';
import { manifestProblems, pack, subpathImports, type Manifest, type Packed1 } from './verify-pack.js';

const root = resolve(import.meta.dirname, '../../..');

type Packed = Map<string, Packed1>;
const fastifyRange = (packed: Packed) => packed.get('@harakaflow/core')!.manifest.peerDependencies!.fastify!;
const pgliteRange = (packed: Packed) =>
  packed.get('@harakaflow/db')!.manifest.peerDependencies!['@electric-sql/pglite']!;

/** The package's import check (its own, else a bare import), then an import of every other subpath it exports. */
const importScript = (name: string, packed: Packed): string =>
  `${CHECKS[name]?.withoutDriver ?? `await import('${name}');`}\n${subpathImports(packed.get(name)!.manifest)}`;

async function verify(name: string, packed: Packed, work: string): Promise<void> {
  const check = CHECKS[name];
  if (!check) throw new Error('no check script: add one to package-checks.ts');
  // The package and, transitively, the siblings it depends on: tarballs side by side.
  const tarballs = new Map<string, string>();
  const visit = (pkg: string) => {
    if (tarballs.has(pkg)) return;
    const entry = packed.get(pkg);
    if (!entry) throw new Error(`${pkg} is not a package of this repository`);
    tarballs.set(pkg, entry.tarball);
    for (const dep of Object.keys(entry.manifest.dependencies ?? {})) if (dep.startsWith('@harakaflow/')) visit(dep);
  };
  visit(name);
  for (const extra of check.siblings ?? []) visit(extra);
  const dir = join(work, name.replace('@harakaflow/', ''));
  await scratch(dir, fastifyRange(packed), tarballs.values());
  for (const driver of ['@electric-sql/pglite', 'postgres']) {
    if (existsSync(join(dir, 'node_modules', driver)))
      throw new Error(`installing it alone brought the database driver ${driver}`);
  }
  await runScript(dir, 'import.mjs', importScript(name, packed));
  const readme = packed.get(name)!.readme;
  const hasExample = extractExamples(readme, 'README.md').length > 0;
  const server = process.env.TEST_DATABASE_URL?.trim();
  if (check.script || hasExample) {
    // postgres.js too when the example runs on the server: a user who gives DATABASE_URL installs it.
    await npm(
      ['install', `@electric-sql/pglite@${pgliteRange(packed)}`, ...(hasExample && server ? ['postgres'] : [])],
      dir,
    );
  }
  if (check.script) await runScript(dir, 'check.mjs', check.script);
  if (!hasExample) return;
  // The README's own program, from a project holding only these tarballs and the driver it
  // documents: on a database of its own on the server (where a pool left open keeps the process
  // alive: PGlite would not show it), or on PGlite without one.
  if (!server) {
    await runExample(dir, name, readme);
    return;
  }
  const database = await testDatabase({ serverUrl: server, max: 1 });
  try {
    await runExample(dir, name, readme, database.url!);
  } finally {
    await database.close();
  }
}

/**
 * Every tarball in one project, then both drivers as the registry serves them (postgres.js 4.x
 * today): each check on PGlite and, with a server, on a fresh database through postgres.js.
 */
async function verifyAll(names: string[], packed: Packed, work: string): Promise<string> {
  const dir = join(work, 'all-together');
  await scratch(
    dir,
    fastifyRange(packed),
    [...packed.values()].map((p) => p.tarball),
  );
  for (const name of names) {
    await runScript(dir, `${name.replace('@harakaflow/', '')}-import.mjs`, importScript(name, packed));
  }
  await npm(['install', `@electric-sql/pglite@${pgliteRange(packed)}`, 'postgres'], dir);
  markCacheFilled();
  const driver = JSON.parse(readFileSync(join(dir, 'node_modules/postgres/package.json'), 'utf8')) as {
    version: string;
  };
  const server = process.env.TEST_DATABASE_URL?.trim();
  for (const name of names) {
    const check = CHECKS[name]!;
    const tag = name.replace('@harakaflow/', '');
    if (!check.script) continue;
    await runScript(dir, `${tag}-check.mjs`, check.script);
    if (!server) continue;
    // A database of its own on the server (dropped by close()), which the script opens with the registry's driver.
    const database = await testDatabase({ serverUrl: server, max: 1 });
    try {
      await runScript(dir, `${tag}-check.mjs`, check.script, { CHECK_DATABASE_URL: database.url! }).catch(
        (error: Error) => {
          throw new Error(`${name} on Postgres through postgres@${driver.version}: ${error.message}`, { cause: error });
        },
      );
    } finally {
      await database.close();
    }
  }
  // Every package README's main example on PGlite (each alone runs it on the server, when there is one).
  for (const name of names) await runExample(dir, name, packed.get(name)!.readme);
  return `postgres@${driver.version}${server ? ' on PGlite and Postgres' : ', PGlite only: TEST_DATABASE_URL unset'}`;
}

async function main(): Promise<void> {
  const only = process.env.PACKAGES?.split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const dirs = readdirSync(join(root, 'packages'))
    .map((d) => join(root, 'packages', d))
    .filter((d) => existsSync(join(d, 'package.json')));
  const work = mkdtempSync(join(tmpdir(), 'hf-verify-packages-'));
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir);
  const npmCache = join(work, 'npm-cache');
  mkdirSync(npmCache);
  useNpmCache(npmCache);
  const packed: Packed = new Map();
  const results: { name: string; error?: string; ms: number; note?: string }[] = [];
  try {
    // Every package is packed (siblings are needed beside one another), then checked.
    const manifests = dirs
      .map((d) => [d, JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as Manifest] as const)
      .filter(([, m]) => !m.private);
    const packErrors = new Map<string, string>();
    await Promise.all(
      manifests.map(async ([d, m]) => {
        try {
          const entry = await pack(d, tarballDir);
          packed.set(m.name, entry);
          const problems = manifestProblems(entry.manifest);
          if (problems.length) packErrors.set(m.name, problems.join('; '));
        } catch (error) {
          packErrors.set(m.name, `pnpm pack: ${(error as Error).message.split('\n')[0]}`);
        }
      }),
    );
    const names = manifests
      .map(([, m]) => m.name)
      .filter((n) => !only || only.some((o) => n.endsWith(`/${o}`) || n === o));
    const ALL = '(all together)';
    // The whole set first, alone (when every package is asked for and packed): its install fills
    // this run's empty cache, which the single installs after it then revalidate, not download again.
    const queue = [...(only || packErrors.size ? [] : [ALL]), ...names];
    const worker = async (first = false) => {
      for (let name = queue.shift(); name; name = first ? undefined : queue.shift()) {
        const started = Date.now();
        try {
          if (packErrors.has(name)) throw new Error(packErrors.get(name));
          const note =
            name === ALL ? await verifyAll(names, packed, work) : (await verify(name, packed, work), undefined);
          results.push({ name, ms: Date.now() - started, ...(note ? { note } : {}) });
        } catch (error) {
          const e = error as Error & { stderr?: string };
          results.push({
            name,
            error: `${e.message.split('\n')[0]}${e.stderr ? `\n    ${e.stderr.trim().split('\n').slice(-6).join('\n    ')}` : ''}`,
            ms: Date.now() - started,
          });
        }
      }
    };
    if (queue[0] === ALL) await worker(true);
    await Promise.all(Array.from({ length: Number(process.env.VERIFY_CONCURRENCY ?? 3) }, () => worker()));
    // What a publish would send, for `release` (VERIFY_LISTING names the file).
    if (process.env.VERIFY_LISTING) {
      const listing = [...packed.values()].map((p) => ({
        name: p.manifest.name,
        version: p.manifest.version,
        files: p.files.length,
        bytes: statSync(p.tarball).size,
      }));
      writeFileSync(process.env.VERIFY_LISTING, JSON.stringify(listing.sort((a, b) => a.name.localeCompare(b.name))));
    }
  } finally {
    if (!process.env.KEEP_VERIFY_DIR) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`kept ${work}\n`);
  }
  results.sort((a, b) => a.name.localeCompare(b.name));
  for (const r of results)
    process.stdout.write(
      `${r.error ? 'FAIL' : 'ok  '} ${r.name} (${(r.ms / 1000).toFixed(1)} s${r.note ? `, ${r.note}` : ''})${r.error ? `: ${r.error}` : ''}\n`,
    );
  const failed = results.filter((r) => r.error).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  process.exitCode = failed ? 1 : 0;
}

await main();
