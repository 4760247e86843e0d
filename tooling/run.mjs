#!/usr/bin/env node
// What `start` and the hf-* scripts run (issue 31 item 2): configuration first, a build only when
// code changed.
//
//   node tooling/run.mjs <package-dir>/dist/<entry>.js [arguments...]
//
// 1. `--help` (or `-h`) of a CLI is answered from its source (its `USAGE` text), without building.
// 2. When a source file of the entry's package, or of a workspace package it needs, is newer than its
//    output (or has none), the reference app's configuration is checked first, with the app's own
//    parser (apps/api/src/config/load.ts loadConfig, bundled from source in memory): a wrong production
//    setting is refused in about a second, before anything is built. Then the changed files are
//    transpiled (tooling/transpile.mjs). Nothing else decides a build: the environment (NODE_ENV,
//    DATABASE_URL...) never does.
// 3. The entry runs in this process, with the arguments as its own.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, staleSources, transpile } from './transpile.mjs';

const started = performance.now();
const [entryArg, ...args] = process.argv.slice(2);
if (!entryArg || !/[/\\]dist[/\\].+\.js$/.test(entryArg)) {
  process.stderr.write('usage: node tooling/run.mjs <package-dir>/dist/<entry>.js [arguments...]\n');
  process.exit(2);
}
const entry = resolve(root, entryArg);
const packageDir = entry.slice(0, entry.lastIndexOf(`${sep}dist${sep}`));
const source = join(packageDir, 'src', relative(join(packageDir, 'dist'), entry).replace(/\.js$/, '.ts'));
const app = resolve(root, 'apps/api');
const isServer = entry === join(app, 'dist', 'server.js');

// 1. --help without building: the CLIs keep their usage in one template literal without
// substitutions, `const USAGE = `...``; tooling/testing/test/run.test.ts holds it to what each prints.
const options = args.indexOf('--') === -1 ? args : args.slice(0, args.indexOf('--'));
if (!isServer && (options.includes('--help') || options.includes('-h'))) {
  const usage = usageOf(source);
  if (usage !== null) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    process.exit(0);
  }
}

// 2. Configuration before a build.
const pending = staleSources([packageDir]);
if (pending.stale.length) {
  if (packageDir === app) await checkConfig(isServer ? 'HarakaFlow API not started: ' : '');
  await transpile(pending, started);
}

// 3. The entry, as if node had been given it.
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(entry).href);

/** The text of `const USAGE = `...`` in a source file; null when there is none without `${`. */
function usageOf(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const match = /^const USAGE = `((?:[^`\\$]|\\.|\$(?!\{))*)`;/m.exec(text);
  if (!match) return null;
  // The template's escapes (\`, \\, \n) as JavaScript reads them.
  return match[1].replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t' })[c] ?? c);
}

/**
 * The app's configuration as server.ts and the app's CLIs read it: apps/api/src/config/load.ts and what
 * it imports, bundled from source (workspace packages through their `source` export condition) in
 * memory, with every other package left to Node at its installed path. About a second under load.
 */
async function checkConfig(prefix) {
  const bundle = await build({
    stdin: {
      contents:
        "export { loadConfig } from './src/config/load.ts'; export { ConfigError } from './src/config/config.ts';",
      resolveDir: app,
      loader: 'ts',
      sourcefile: 'config-check.ts',
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    conditions: ['source'],
    logLevel: 'error',
    plugins: [
      {
        name: 'installed-packages-external',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, async (a) => {
            if (a.path.startsWith('@harakaflow/') || a.pluginData === 'resolving') return undefined;
            if (a.path.startsWith('node:')) return { path: a.path, external: true };
            const found = await b.resolve(a.path, {
              kind: a.kind,
              resolveDir: a.resolveDir,
              importer: a.importer,
              pluginData: 'resolving',
            });
            if (found.errors.length) return { errors: found.errors };
            return { path: found.external ? found.path : pathToFileURL(found.path).href, external: true };
          });
        },
      },
    ],
  });
  // A file, not a data: URL: the packages resolve `new URL('../drizzle', import.meta.url)` as they load.
  const dir = mkdtempSync(join(tmpdir(), 'hf-config-check-'));
  const file = join(dir, 'config-check.mjs');
  writeFileSync(file, bundle.outputFiles[0].contents);
  let loaded;
  try {
    loaded = await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { loadConfig, ConfigError } = loaded;
  try {
    // Silent: the app says itself which development secrets it uses.
    loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${prefix}${error.message}\n`);
    process.exit(1);
  }
}
