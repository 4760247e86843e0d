// Issue 31 item 2: `start` and the hf-* scripts (tooling/run.mjs) check the configuration before
// anything is built, answer --help without building, and never rebuild for an environment change.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function node(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 240_000 },
      (error, out, err) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out, err }),
    );
  });
}

const CLIS = [
  ['hf-audit', 'packages/audit'],
  ['hf-vault', 'packages/credential-vault'],
  ['hf-rights', 'apps/api', 'cli/rights'],
  ['hf-notify', 'apps/api', 'cli/notify'],
  ['hf-retention', 'apps/api', 'cli/retention'],
] as const;

/**
 * Runs `fn` with one source counted as changed (HF_RUN_STALE, read by tooling/transpile.mjs): a
 * build is then due, and no file is touched that a second copy of the suite may be using.
 */
const stale = (source: string) => ({ HF_RUN_STALE: source });

describe('tooling/run.mjs', () => {
  it('answers --help of every CLI from its source, without building, as the CLI itself does', async () => {
    for (const [name, dir, entry = 'cli'] of CLIS) {
      const help = await node(
        ['tooling/run.mjs', `${dir}/dist/${entry}.js`, '--help'],
        stale(`${dir}/src/${entry}.ts`),
      );
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
  }, 600_000); // a hang guard, not a measurement

  it("refuses a wrong production configuration before building anything, with the app's own messages", async () => {
    const refused = await node(['tooling/run.mjs', 'apps/api/dist/server.js'], {
      NODE_ENV: 'production',
      DATA_DIR: join(root, 'node_modules/.cache/hf-run-test'),
      ...stale('apps/api/src/cli/rights.ts'),
    });
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('HarakaFlow API not started: invalid configuration');
    expect(refused.err).toContain('ADMIN_API_KEY is required when NODE_ENV=production');
    expect(refused.err).not.toMatch(/transpil/);
  }, 600_000); // a hang guard, not a measurement

  it('does not rebuild for an environment change', async () => {
    // packages/quota and what it needs (core, db): none of the files the tests above make stale.
    await node(['tooling/transpile.mjs', 'packages/quota']);
    for (const NODE_ENV of ['production', 'development', 'test']) {
      const again = await node(['tooling/transpile.mjs', 'packages/quota'], {
        NODE_ENV,
        DATABASE_URL: 'postgres://elsewhere/db',
      });
      expect(again.err).toMatch(/^up to date: \d+ files of \d+ packages/);
    }
  }, 600_000); // a hang guard, not a measurement
});
