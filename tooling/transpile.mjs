#!/usr/bin/env node
// JavaScript for `start`, the soak and the CLIs, in about a second (issue 28 item 2): every
// workspace package that `apps/api` needs, `src/**/*.ts` → `dist/**/*.js` with esbuild, file by
// file (no bundle), as `tsc -p tsconfig.build.json` lays it out. Type-checking is not skipped, it is
// elsewhere: `pnpm typecheck` and CI (tsc --noEmit), and `pnpm build` (tsc) still writes the
// `.d.ts` files the packed packages ship. The code is written for this (tsconfig's
// `verbatimModuleSyntax` and `isolatedModules`: every file compiles alone).
//
//   node tooling/transpile.mjs [workspace-dir ...]     default: apps/api and what it depends on
//
// Progress goes to stderr; a file whose output is newer than its source is skipped. `tooling/run.mjs`
// (start and the hf-* CLIs) imports it: it checks the app's configuration before anything is built.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Workspace packages: name → directory. */
const workspace = new Map();
for (const group of ['packages', 'apps', 'tooling']) {
  const base = join(root, group);
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    const manifest = join(base, entry.name, 'package.json');
    if (!entry.isDirectory() || !existsSync(manifest)) continue;
    workspace.set(JSON.parse(readFileSync(manifest, 'utf8')).name, join(base, entry.name));
  }
}

/** The asked-for directories and, transitively, the workspace packages they depend on at run time. */
function closure(dirs) {
  const seen = new Set();
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
      const found = workspace.get(name);
      if (found) visit(found);
    }
  };
  for (const dir of dirs) visit(resolve(root, dir));
  return seen;
}

function sources(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts'))
        out.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The source files whose output is missing or older, per package, of these directories and what they need at run time. */
export function staleSources(dirs) {
  const targets = closure(dirs);
  // HF_RUN_STALE=<source>[,<source>...] (paths from the repository root): those count as changed
  // whatever their times, so a test can ask for a build without touching files a second copy of the
  // suite may be using.
  const forced = new Set(
    (process.env.HF_RUN_STALE ?? '')
      .split(',')
      .filter(Boolean)
      .map((f) => resolve(root, f)),
  );
  let total = 0;
  const stale = [];
  for (const dir of targets) {
    const src = join(dir, 'src');
    const files = sources(src);
    total += files.length;
    // Times decide: a source newer than its output (or without one). A file copied in with its old
    // time kept (rsync -a, cp -p, tar x) is not seen: `npx pnpm@10 build` (or removing that
    // package's dist/) rebuilds it. Outputs keep the time they were written at, so the output of
    // `npx pnpm@10 build` counts as current and a suite started after it rewrites nothing.
    const changed = files.filter((file) => {
      const out = join(dir, 'dist', relative(src, file).replace(/\.ts$/, '.js'));
      return forced.has(file) || !existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs;
    });
    if (changed.length) stale.push({ dir, src, changed });
  }
  return { packages: targets.size, total, stale };
}

/** Transpiles what `staleSources` found (nothing when it found nothing); progress on stderr. */
export async function transpile({ packages, total, stale }, started = performance.now()) {
  const written = stale.reduce((n, s) => n + s.changed.length, 0);
  if (written) {
    process.stderr.write(
      `transpiling ${written} changed files of ${stale.length} packages with esbuild (type-checking is \`npx pnpm@10 typecheck\`)...\n`,
    );
    await Promise.all(
      stale.map(async ({ dir, src, changed }) => {
        await build({
          entryPoints: changed,
          outdir: join(dir, 'dist'),
          outbase: src,
          format: 'esm',
          platform: 'node',
          target: 'node20.19',
          sourcemap: true,
          bundle: false,
          logLevel: 'warning',
        });
      }),
    );
  }
  const ms = Math.round(performance.now() - started);
  process.stderr.write(
    `${written ? `transpiled ${written} of` : 'up to date:'} ${total} files of ${packages} packages in ${ms} ms\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const asked = process.argv.slice(2);
  await transpile(staleSources(asked.length ? asked : ['apps/api']), started);
}
