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
 *      must import.
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
 */
import { execFile } from 'node:child_process';
import {
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
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { testDatabase } from './database.js';
import { CHECKS } from './package-checks.js';
import { extractExamples, transpileExample } from './readme-examples.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

interface Manifest {
  name: string;
  version: string;
  description?: string;
  type?: string;
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
  run(
    'npm',
    [...args, '--no-audit', '--no-fund', '--loglevel=error', cacheFilled ? '--prefer-offline' : '--prefer-online'],
    {
      cwd,
      maxBuffer: 1 << 24,
      timeout: 300_000,
      // The flag above decides; a prefer-offline or offline setting of the caller's is not inherited.
      env: {
        ...process.env,
        npm_config_cache: npmCache,
        npm_config_prefer_offline: undefined,
        npm_config_prefer_online: undefined,
        npm_config_offline: undefined,
      },
    },
  );

/** What a published manifest must hold; the problems, empty when none. */
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(m.version ?? '')) problems.push('version is not semver');
  if (!m.description?.trim()) problems.push('no description');
  if (m.type !== 'module') problems.push('type is not module');
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

interface Packed1 {
  tarball: string;
  manifest: Manifest;
  /** The paths in the tarball, without the leading `package/`. */
  files: string[];
  /** The README the registry shows: its main ```ts example is run from the scratch projects. */
  readme: string;
}

/** Files a publish must never send: tests, benchmarks, fixtures, environment files, keys. */
const NOT_PUBLISHED: [RegExp, string][] = [
  [/(^|\/)(test|tests|__tests__|bench|fixtures)\//, 'tests or benchmarks'],
  [/\.(test|spec|bench)\.[cm]?[jt]sx?$/, 'tests or benchmarks'],
  [
    /(^|\/)\.env(\.|$)|(^|\/)\.npmrc$|(^|\/)secrets\.json$|\.(pem|key|p12|pfx)$|(^|\/)id_(rsa|ed25519|ecdsa)/,
    'a secret or key file',
  ],
  [/\.tsbuildinfo$|(^|\/)\.data\//, 'build or runtime state'],
];
/** Text in a published file that is a credential, not code. */
const SECRET_TEXT =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----|\bAKIA[0-9A-Z]{16}\b|\bxox[abp]-[0-9A-Za-z-]{10,}|\bgh[pousr]_[0-9A-Za-z]{36}\b|\bnpm_[0-9A-Za-z]{36}\b/;

/**
 * What a publish would send, checked (`release --dry-run` runs this through verify:packages): the
 * files (LICENSE, README, the entry, its types, every export's targets and bins; no tests,
 * benchmarks, environment or key files, build state; no private key or token in any text), then the
 * manifest (manifestProblems, by the caller).
 */
async function pack(dir: string, into: string): Promise<Packed1> {
  const { stdout } = await pnpm(['pack', '--pack-destination', into, '--json'], dir);
  const tarball = (JSON.parse(stdout) as { filename: string }).filename;
  const { stdout: text } = await run('tar', ['-xOzf', tarball, 'package/package.json']);
  const { stdout: list } = await run('tar', ['-tzf', tarball]);
  const manifest = JSON.parse(text) as Manifest;
  const files = list
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  for (const must of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
    if (!files.includes(must)) throw new Error(`the tarball lacks ${must}`);
  }
  for (const [path, conditions] of Object.entries(manifest.exports ?? {})) {
    for (const [condition, target] of Object.entries(conditions)) {
      if (!files.includes(target.replace(/^\.\//, '')))
        throw new Error(`the tarball lacks ${target} (exports["${path}"].${condition})`);
    }
  }
  for (const [pattern, what] of NOT_PUBLISHED) {
    const found = files.find((f) => pattern.test(f));
    if (found) throw new Error(`the tarball ships ${what}: ${found}`);
  }
  for (const bin of Object.values(manifest.bin ?? {}))
    if (!files.includes(bin.replace(/^\.\//, ''))) throw new Error(`the tarball lacks its bin ${bin}`);
  const contents = join(into, `${manifest.name.replace('@harakaflow/', '')}-contents`);
  mkdirSync(contents);
  await run('tar', ['-xzf', tarball, '-C', contents]);
  for (const file of files) {
    if (!/\.([cm]?[jt]s|json|md|sql|txt|map)$|(^|\/)LICENSE$/.test(file) && !file.startsWith('bin/')) continue;
    if (SECRET_TEXT.test(readFileSync(join(contents, 'package', file), 'utf8')))
      throw new Error(`the tarball's ${file} holds a private key or a token`);
  }
  const readme = readFileSync(join(contents, 'package', 'README.md'), 'utf8');
  rmSync(contents, { recursive: true, force: true });
  return { tarball, manifest, files, readme };
}

/** A scratch project holding only fastify, then the tarballs given, installed with a plain `npm install`. */
async function scratch(dir: string, fastify: string, tarballs: Iterable<string>): Promise<void> {
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { fastify } }, null, 2),
  );
  await npm(['install', ...tarballs], dir);
}

async function runScript(dir: string, file: string, script: string, env: Record<string, string> = {}): Promise<void> {
  writeFileSync(join(dir, file), `${script}\nprocess.stdout.write('ok');\n`);
  const { stdout } = await run(process.execPath, [file], {
    cwd: dir,
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  if (stdout.trim() !== 'ok') throw new Error(`${file} did not finish: ${stdout.slice(0, 500)}`);
}

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
async function runExample(dir: string, name: string, readme: string, databaseUrl?: string): Promise<boolean> {
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

type Packed = Map<string, Packed1>;
const fastifyRange = (packed: Packed) => packed.get('@harakaflow/core')!.manifest.peerDependencies!.fastify!;
const pgliteRange = (packed: Packed) =>
  packed.get('@harakaflow/db')!.manifest.peerDependencies!['@electric-sql/pglite']!;

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
  await runScript(dir, 'import.mjs', check.withoutDriver ?? `await import('${name}');`);
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
    await runScript(
      dir,
      `${name.replace('@harakaflow/', '')}-import.mjs`,
      CHECKS[name]!.withoutDriver ?? `await import('${name}');`,
    );
  }
  await npm(['install', `@electric-sql/pglite@${pgliteRange(packed)}`, 'postgres'], dir);
  cacheFilled = true;
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
  npmCache = join(work, 'npm-cache');
  mkdirSync(npmCache);
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
