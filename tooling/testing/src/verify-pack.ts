/** verify-packages' first step: a package's tarball as a publish would send it, its files and manifest checked. */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pnpm, run } from './verify-install.js';

export interface Manifest {
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

export interface Packed1 {
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
export async function pack(dir: string, into: string): Promise<Packed1> {
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

/**
 * The script lines that import every subpath the packed manifest exports besides "." (`./internals`
 * and any added later), so a subpath whose target or dependencies are missing from the tarball fails
 * as the root would. Patterns (`./*`) and `./package.json` are not modules to import.
 */
export function subpathImports(manifest: Manifest): string {
  return Object.keys(manifest.exports ?? {})
    .filter((path) => path !== '.' && path !== './package.json' && !path.includes('*'))
    .map((path) => `await import('${manifest.name}/${path.replace(/^\.\//, '')}');`)
    .join('\n');
}
