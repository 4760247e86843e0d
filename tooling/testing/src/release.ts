/**
 * `npx pnpm@10 release` publishes; `npx pnpm@10 release --dry-run` does everything a publish does
 * short of sending (issue 31 item 4).
 *
 * Both first run `verify:packages`: every package built and packed with `pnpm pack` (what `pnpm
 * publish`, which `changeset publish` runs per package, sends: workspace: and catalog: versions
 * rewritten, publishConfig applied), each tarball checked (files: LICENSE, README, the entry, the
 * types of every export, bins; no tests, benchmarks, environment or key files; no private key or
 * token in any text; the manifest: semver version, description, ES module, MIT, engines,
 * repository, public access, `types` first, no `source` condition, no workspace:/catalog: left),
 * installed alone and all together, its README's example run. Then, with --dry-run, it lists
 * what would be published (name@version, files, size) and stops; without it, `changeset publish`.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');
const dryRun = process.argv.slice(2).includes('--dry-run');
const unknown = process.argv.slice(2).filter((a) => a !== '--dry-run');
if (unknown.length) {
  process.stderr.write(`release: unknown argument ${unknown.join(' ')} (only --dry-run)\n`);
  process.exit(2);
}

/** pnpm as this script was started with it (npm_execpath inside a pnpm script), else npx pnpm@10. */
function pnpm(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const execPath = process.env.npm_execpath;
  const [command, argv] =
    execPath && /pnpm/.test(execPath)
      ? [process.execPath, [execPath, ...args]]
      : ['npx', ['--yes', 'pnpm@10', ...args]];
  return new Promise((done, fail) => {
    const child = spawn(command, argv, { cwd: root, env, stdio: 'inherit' });
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

const listing = join(tmpdir(), `hf-release-${process.pid}.json`);
// Every package, whatever PACKAGES says: a release publishes them all.
const status = await pnpm(['verify:packages'], { ...process.env, PACKAGES: undefined, VERIFY_LISTING: listing });
if (status !== 0) {
  process.stderr.write(`release: verify:packages failed: nothing ${dryRun ? 'would be' : 'was'} published\n`);
  rmSync(listing, { force: true });
  process.exit(1);
}
let packages: { name: string; version: string; files: number; bytes: number }[] = [];
try {
  packages = JSON.parse(readFileSync(listing, 'utf8')) as typeof packages;
} catch (error) {
  process.stderr.write(`release: verify:packages wrote no listing (${(error as Error).message})\n`);
  process.exit(1);
}
rmSync(listing, { force: true });
process.stdout.write(
  `\n${dryRun ? 'would publish' : 'publishing'} (changeset publish skips a version the registry already has):\n`,
);
for (const p of packages)
  process.stdout.write(`  ${p.name}@${p.version}  ${p.files} files, ${(p.bytes / 1024).toFixed(1)} kB packed\n`);
if (dryRun) {
  process.stdout.write('dry run: nothing was published\n');
  process.exit(0);
}
process.exit(await pnpm(['exec', 'changeset', 'publish']));
