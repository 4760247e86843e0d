/**
 * `pnpm verify:packages` (issue 19 item 1): every package under packages/ installs and works on its
 * own, as a user gets it from the registry. For each one:
 *
 *   1. `pnpm pack` makes its tarball (workspace: and catalog: versions rewritten, publishConfig applied);
 *      the tarball's package.json is checked: license, engines, repository, files, public access,
 *      `types` first in every export and no `source` condition, no workspace:/catalog: left.
 *   2. A scratch project holding only fastify, the package's required peers and the tarballs of the
 *      package and of the siblings it depends on is installed with npm. No database driver may be
 *      in it (they are optional peers of @harakaflow/db), and the package must import.
 *   3. The embedded driver is then installed, as an app that calls createDatabase does, and a script
 *      migrates, registers the plugin, gets `ready()` and uses it once.
 *
 * Prints one line per package, then "N passed, N failed"; exits 1 when any failed.
 * Run the build first (the root script does); PACKAGES=a,b checks only those.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
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
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'], { cwd, maxBuffer: 1 << 24, timeout: 300_000 });

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

async function verify(name: string, packed: Map<string, { tarball: string; manifest: Manifest }>, work: string): Promise<void> {
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
  const dependencies: Record<string, string> = { fastify: packed.get('@harakaflow/core')!.manifest.peerDependencies!.fastify! };
  for (const [pkg, tarball] of tarballs) {
    dependencies[pkg] = `file:${tarball}`;
    const m = packed.get(pkg)!.manifest;
    for (const [peer, range] of Object.entries(m.peerDependencies ?? {})) if (!m.peerDependenciesMeta?.[peer]?.optional) dependencies[peer] ??= range;
  }
  const dir = join(work, name.replace('@harakaflow/', ''));
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies }, null, 2));
  await npm(['install'], dir);
  for (const driver of ['@electric-sql/pglite', 'postgres']) {
    if (existsSync(join(dir, 'node_modules', driver))) throw new Error(`installing it alone brought the database driver ${driver}`);
  }
  writeFileSync(join(dir, 'import.mjs'), `${check.withoutDriver ?? `await import('${name}');`}\nprocess.stdout.write('ok');\n`);
  const first = await run(process.execPath, ['import.mjs'], { cwd: dir, timeout: 60_000 });
  if (first.stdout !== 'ok') throw new Error('importing it without a driver failed');
  if (check.script) {
    const db = packed.get('@harakaflow/db')!.manifest;
    await npm(['install', `@electric-sql/pglite@${db.peerDependencies!['@electric-sql/pglite']}`], dir);
    writeFileSync(join(dir, 'check.mjs'), `${check.script}\nprocess.stdout.write('ok');\n`);
    const second = await run(process.execPath, ['check.mjs'], { cwd: dir, timeout: 120_000 });
    if (second.stdout.trim() !== 'ok') throw new Error(`its check did not finish: ${second.stdout.slice(0, 500)}`);
  }
}

async function main(): Promise<void> {
  const only = process.env.PACKAGES?.split(',').map((p) => p.trim()).filter(Boolean);
  const dirs = readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)).filter((d) => existsSync(join(d, 'package.json')));
  const work = mkdtempSync(join(tmpdir(), 'hf-verify-packages-'));
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir);
  const packed = new Map<string, { tarball: string; manifest: Manifest }>();
  const results: { name: string; error?: string; ms: number }[] = [];
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
    const queue = [...names];
    const worker = async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const started = Date.now();
        try {
          if (packErrors.has(name)) throw new Error(packErrors.get(name));
          await verify(name, packed, work);
          results.push({ name, ms: Date.now() - started });
        } catch (error) {
          const e = error as Error & { stderr?: string };
          results.push({ name, error: `${e.message.split('\n')[0]}${e.stderr ? `\n    ${e.stderr.trim().split('\n').slice(-6).join('\n    ')}` : ''}`, ms: Date.now() - started });
        }
      }
    };
    await Promise.all(Array.from({ length: Number(process.env.VERIFY_CONCURRENCY ?? 3) }, worker));
  } finally {
    if (!process.env.KEEP_VERIFY_DIR) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`kept ${work}\n`);
  }
  results.sort((a, b) => a.name.localeCompare(b.name));
  for (const r of results) process.stdout.write(`${r.error ? 'FAIL' : 'ok  '} ${r.name} (${(r.ms / 1000).toFixed(1)} s)${r.error ? `: ${r.error}` : ''}\n`);
  const failed = results.filter((r) => r.error).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  process.exitCode = failed ? 1 : 0;
}

await main();
