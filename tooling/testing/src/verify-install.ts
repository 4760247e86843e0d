/** The commands verify-packages runs (pnpm, npm with this run's own cache) and its scratch projects. */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export const pnpm = async (args: string[], cwd: string) => {
  // Inside a pnpm script npm_execpath is pnpm itself; elsewhere go through npx as the README does.
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath)) return run(process.execPath, [execPath, ...args], { cwd, maxBuffer: 1 << 24 });
  return run('npx', ['--yes', 'pnpm@10', ...args], { cwd, maxBuffer: 1 << 24 });
};
/** An npm cache of this run's own, empty when it starts (set by main). */
let npmCache = '';
/** Points npm at this run's own cache (an empty directory, made by main). */
export function useNpmCache(dir: string): void {
  npmCache = dir;
}
/**
 * Online until this run's cache holds what the registry served in this run (the whole set's install,
 * made first): every version is resolved against the registry as it is today, and the single
 * installs after it reuse those answers instead of asking again for each of ~150 packages.
 */
let cacheFilled = false;
/** The whole set is installed: the single installs after it reuse this run's cache (--prefer-offline). */
export function markCacheFilled(): void {
  cacheFilled = true;
}
export const npm = (args: string[], cwd: string) =>
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

/** A scratch project holding only fastify, then the tarballs given, installed with a plain `npm install`. */
export async function scratch(dir: string, fastify: string, tarballs: Iterable<string>): Promise<void> {
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { fastify } }, null, 2),
  );
  await npm(['install', ...tarballs], dir);
}

export async function runScript(
  dir: string,
  file: string,
  script: string,
  env: Record<string, string> = {},
): Promise<void> {
  writeFileSync(join(dir, file), `${script}\nprocess.stdout.write('ok');\n`);
  const { stdout } = await run(process.execPath, [file], {
    cwd: dir,
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  if (stdout.trim() !== 'ok') throw new Error(`${file} did not finish: ${stdout.slice(0, 500)}`);
}
