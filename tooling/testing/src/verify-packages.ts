/**
 * `pnpm verify:packages` (issue 19 item 1): every package under packages/ installs and works on its
 * own, as a user gets it from the registry. For each one:
 *
 *   1. `pnpm pack` makes its tarball (workspace: and catalog: versions rewritten, publishConfig applied);
 *      the tarball's package.json is checked: license, engines, repository, files, public access,
 *      `types` first in every export and no `source` condition, no workspace:/catalog: left.
 *   2. A scratch project holding only fastify gets, with a plain `npm install`, the tarballs of the
 *      package and of the siblings it depends on (npm brings their required peers itself). No
 *      database driver may be in it (they are optional peers of @harakaflow/db), and the package
 *      must import.
 *   3. The embedded driver is then installed, as an app that calls createDatabase does, and a script
 *      migrates, registers the plugin, gets `ready()` and uses it once.
 *   4. All together: one scratch project gets every tarball at once, then PGlite and postgres.js as
 *      the registry serves them today (4.x); every check runs there on PGlite and, when
 *      TEST_DATABASE_URL names a server, on a database of its own there through postgres.js.
 *
 * npm runs with an empty cache of its own (a temporary npm_config_cache) and --prefer-online, so
 * the registry is met as a user meets it, not through a cache that predates its latest releases
 * (issue 28 item 1: postgres 4.x broke `npm i` of db while a stale cache hid it). Once the whole
 * set is installed, that cache holds today's answers for every package any of them needs, and the
 * single installs take them from it (--prefer-offline): about 3 minutes less, the same resolution.
 *
 * Prints one line per package (and one for the whole set), then "N passed, N failed"; exits 1 when
 * any failed. Run the build first (the root script does); PACKAGES=a,b checks only those.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testDatabase } from './database.js';
import { CHECKS } from './package-checks.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  repository?: { url?: string; directory?: string };
  files?: string[];
  publishConfig?: { access?: string };
  exports?: Record<string, Record<string, string>>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const pnpm = async (args: string[], cwd: string) => {
  // Inside a pnpm script npm_execpath is pnpm itself; elsewhere go through npx as the README does.
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath)) return run(process.execPath, [execPath, ...args], { cwd, maxBuffer: 1 << 24 });
  return run('npx', ['--yes', 'pnpm@10', ...args], { cwd, maxBuffer: 1 << 24 });
};
/** An npm cache of this run's own, empty when it starts (set by main). */
let npmCache = '';
/**
 * Online until this run's cache holds what the registry served in this run (the whole set's install,
 * made first): every version is resolved against the registry as it is today, and the single
 * installs after it reuse those answers instead of asking again for each of ~150 packages.
 */
let cacheFilled = false;
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', cacheFilled ? '--prefer-offline' : '--prefer-online'], {
    cwd,
    maxBuffer: 1 << 24,
    timeout: 300_000,
    // The flag above decides; a prefer-offline or offline setting of the caller's is not inherited.
    env: { ...process.env, npm_config_cache: npmCache, npm_config_prefer_offline: undefined, npm_config_prefer_online: undefined, npm_config_offline: undefined },
  });

/** What a published manifest must hold; the problems, empty when none. */
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  if (m.license !== 'MIT') problems.push('license is not MIT');
  if (m.engines?.node !== '>=20.19') problems.push('engines.node is not >=20.19');
  if (!m.repository?.url || !m.repository.directory) problems.push('repository (url and directory) missing');
  if (!m.files?.includes('dist')) problems.push('files does not list dist');
  if (m.publishConfig?.access !== 'public') problems.push('publishConfig.access is not public');
  for (const [path, conditions] of Object.entries(m.exports ?? {})) {
    const keys = Object.keys(conditions);
    if (keys[0] !== 'types') problems.push(`exports["${path}"]: types is not the first condition`);
    if (keys.includes('source')) problems.push(`exports["${path}"]: the source condition is shipped`);
  }
  if (!m.exports) problems.push('no exports');
  const text = JSON.stringify([m.dependencies, m.peerDependencies]);
  if (/workspace:|catalog:/.test(text)) problems.push('a workspace: or catalog: version is left');
  return problems;
}

async function pack(dir: string, into: string): Promise<{ tarball: string; manifest: Manifest }> {
  const { stdout } = await pnpm(['pack', '--pack-destination', into, '--json'], dir);
  const tarball = (JSON.parse(stdout) as { filename: string }).filename;
  const { stdout: text } = await run('tar', ['-xOzf', tarball, 'package/package.json']);
  const { stdout: list } = await run('tar', ['-tzf', tarball]);
  const manifest = JSON.parse(text) as Manifest;
  const files = list.split('\n');
  for (const must of ['package/LICENSE', 'package/README.md', 'package/dist/index.js', 'package/dist/index.d.ts']) {
    if (!files.includes(must)) throw new Error(`the tarball lacks ${must.slice(8)}`);
  }
  if (files.some((f) => /^package\/(test|bench)\//.test(f) || f.endsWith('.test.ts'))) throw new Error('the tarball ships tests or benchmarks');
  for (const bin of Object.values(manifest.bin ?? {})) if (!files.includes(`package/${bin.replace(/^\.\//, '')}`)) throw new Error(`the tarball lacks its bin ${bin}`);
  return { tarball, manifest };
}

/** A scratch project holding only fastify, then the tarballs given, installed with a plain `npm install`. */
async function scratch(dir: string, fastify: string, tarballs: Iterable<string>): Promise<void> {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { fastify } }, null, 2));
  await npm(['install', ...tarballs], dir);
}

async function runScript(dir: string, file: string, script: string, env: Record<string, string> = {}): Promise<void> {
  writeFileSync(join(dir, file), `${script}\nprocess.stdout.write('ok');\n`);
  const { stdout } = await run(process.execPath, [file], { cwd: dir, timeout: 120_000, env: { ...process.env, ...env } });
  if (stdout.trim() !== 'ok') throw new Error(`${file} did not finish: ${stdout.slice(0, 500)}`);
}

type Packed = Map<string, { tarball: string; manifest: Manifest }>;
const fastifyRange = (packed: Packed) => packed.get('@harakaflow/core')!.manifest.peerDependencies!.fastify!;
const pgliteRange = (packed: Packed) => packed.get('@harakaflow/db')!.manifest.peerDependencies!['@electric-sql/pglite']!;

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
    if (existsSync(join(dir, 'node_modules', driver))) throw new Error(`installing it alone brought the database driver ${driver}`);
  }
  await runScript(dir, 'import.mjs', check.withoutDriver ?? `await import('${name}');`);
  if (check.script) {
    await npm(['install', `@electric-sql/pglite@${pgliteRange(packed)}`], dir);
    await runScript(dir, 'check.mjs', check.script);
  }
}

/**
 * Every tarball in one project, then both drivers as the registry serves them (postgres.js 4.x
 * today): each check on PGlite and, with a server, on a fresh database through postgres.js.
 */
async function verifyAll(names: string[], packed: Packed, work: string): Promise<string> {
  const dir = join(work, 'all-together');
  await scratch(dir, fastifyRange(packed), [...packed.values()].map((p) => p.tarball));
  for (const name of names) {
    await runScript(dir, `${name.replace('@harakaflow/', '')}-import.mjs`, CHECKS[name]!.withoutDriver ?? `await import('${name}');`);
  }
  await npm(['install', `@electric-sql/pglite@${pgliteRange(packed)}`, 'postgres'], dir);
  cacheFilled = true;
  const driver = JSON.parse(readFileSync(join(dir, 'node_modules/postgres/package.json'), 'utf8')) as { version: string };
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
      await runScript(dir, `${tag}-check.mjs`, check.script, { CHECK_DATABASE_URL: database.url! }).catch((error: Error) => {
        throw new Error(`${name} on Postgres through postgres@${driver.version}: ${error.message}`, { cause: error });
      });
    } finally {
      await database.close();
    }
  }
  return `postgres@${driver.version}${server ? ' on PGlite and Postgres' : ', PGlite only: TEST_DATABASE_URL unset'}`;
}

async function main(): Promise<void> {
  const only = process.env.PACKAGES?.split(',').map((p) => p.trim()).filter(Boolean);
  const dirs = readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)).filter((d) => existsSync(join(d, 'package.json')));
  const work = mkdtempSync(join(tmpdir(), 'hf-verify-packages-'));
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir);
  npmCache = join(work, 'npm-cache');
  mkdirSync(npmCache);
  const packed = new Map<string, { tarball: string; manifest: Manifest }>();
  const results: { name: string; error?: string; ms: number; note?: string }[] = [];
  try {
    // Every package is packed (siblings are needed beside one another), then checked.
    const manifests = dirs.map((d) => [d, JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as Manifest] as const).filter(([, m]) => !m.private);
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
    const names = manifests.map(([, m]) => m.name).filter((n) => !only || only.some((o) => n.endsWith(`/${o}`) || n === o));
    const ALL = '(all together)';
    // The whole set first, alone (when every package is asked for and packed): its install fills
    // this run's empty cache, which the single installs after it then revalidate, not download again.
    const queue = [...(only || packErrors.size ? [] : [ALL]), ...names];
    const worker = async (first = false) => {
      for (let name = queue.shift(); name; name = first ? undefined : queue.shift()) {
        const started = Date.now();
        try {
          if (packErrors.has(name)) throw new Error(packErrors.get(name));
          const note = name === ALL ? await verifyAll(names, packed, work) : (await verify(name, packed, work), undefined);
          results.push({ name, ms: Date.now() - started, ...(note ? { note } : {}) });
        } catch (error) {
          const e = error as Error & { stderr?: string };
          results.push({ name, error: `${e.message.split('\n')[0]}${e.stderr ? `\n    ${e.stderr.trim().split('\n').slice(-6).join('\n    ')}` : ''}`, ms: Date.now() - started });
        }
      }
    };
    if (queue[0] === ALL) await worker(true);
    await Promise.all(Array.from({ length: Number(process.env.VERIFY_CONCURRENCY ?? 3) }, () => worker()));
  } finally {
    if (!process.env.KEEP_VERIFY_DIR) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`kept ${work}\n`);
  }
  results.sort((a, b) => a.name.localeCompare(b.name));
  for (const r of results) process.stdout.write(`${r.error ? 'FAIL' : 'ok  '} ${r.name} (${(r.ms / 1000).toFixed(1)} s${r.note ? `, ${r.note}` : ''})${r.error ? `: ${r.error}` : ''}\n`);
  const failed = results.filter((r) => r.error).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  process.exitCode = failed ? 1 : 0;
}

await main();
