// Issue 31 item 2: `start` and the hf-* scripts (tooling/run.mjs) check the configuration before
// anything is built, answer --help without building, and never rebuild for an environment change.
import { execFile } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function node(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 240_000 }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out, err }),
    );
  });
}

const CLIS = [
  ['hf-audit', 'packages/audit'],
  ['hf-vault', 'packages/credential-vault'],
  ['hf-rights', 'apps/api', 'rights-cli'],
  ['hf-notify', 'apps/api', 'notify-cli'],
  ['hf-retention', 'apps/api', 'retention-cli'],
] as const;

/** Makes one output file older than its source for the length of `fn`: a build is then due. */
async function withStale<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const { atime, mtime } = statSync(file);
  utimesSync(file, new Date(0), new Date(0));
  try {
    return await fn();
  } finally {
    // Its content is the source's: the original time makes it current again.
    utimesSync(file, atime, mtime);
  }
}

describe('tooling/run.mjs', () => {
  it('answers --help of every CLI from its source, without building, as the CLI itself does', async () => {
    for (const [name, dir, entry = 'cli'] of CLIS) {
      const dist = join(root, dir, 'dist', `${entry}.js`);
      const help = await withStale(dist, () => node(['tooling/run.mjs', `${dir}/dist/${entry}.js`, '--help']));
      expect(help.code, help.err).toBe(0);
      expect(help.out).toMatch(new RegExp(`^usage: ${name}`));
      expect(help.err).not.toMatch(/transpil/);
    }
    // The text is the CLI's own (the two that answer --help before loading the app: quick through tsx).
    for (const [, dir] of CLIS.slice(0, 2)) {
      const own = await node(['--conditions=source', '--import', tsx, join(dir, 'src/cli.ts'), '--help']);
      expect(own.code, own.err).toBe(0);
      const given = await node(['tooling/run.mjs', `${dir}/dist/cli.js`, '--help']);
      expect(given.out).toBe(own.out);
    }
  }, 300_000);

  it('refuses a wrong production configuration before building anything, with the app\'s own messages', async () => {
    // rights-cli.js is not what the server loads: a concurrent start is not disturbed.
    const refused = await withStale(join(root, 'apps/api/dist/rights-cli.js'), () =>
      node(['tooling/run.mjs', 'apps/api/dist/server.js'], { NODE_ENV: 'production', DATA_DIR: join(root, 'node_modules/.cache/hf-run-test') }),
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('HarakaFlow API not started: invalid configuration');
    expect(refused.err).toContain('ADMIN_API_KEY is required when NODE_ENV=production');
    expect(refused.err).not.toMatch(/transpil/);
  }, 300_000);

  it('does not rebuild for an environment change', async () => {
    // packages/quota and what it needs (core, db): none of the files the tests above make stale.
    await node(['tooling/transpile.mjs', 'packages/quota']);
    for (const NODE_ENV of ['production', 'development', 'test']) {
      const again = await node(['tooling/transpile.mjs', 'packages/quota'], { NODE_ENV, DATABASE_URL: 'postgres://elsewhere/db' });
      expect(again.err).toMatch(/^up to date: \d+ files of \d+ packages/);
    }
  }, 300_000);
});
