// Issue 31 item 6: hf-rights, hf-notify and hf-retention refuse the PGlite data directory a running
// app holds (PGlite takes one process: a second would corrupt it), naming the directory and the
// pid; once the app is closed they work; a dead process's lock is taken over.
import { createDatabase } from '@harakaflow/db';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectDataDirRefused, fromDist, seedPglite } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dataDir = mkdtempSync(join(tmpdir(), 'hf-cli-lock-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const pglite = join(dataDir, 'pglite');
// The app's PGlite directory, already made (no initdb in every process that opens it first).
beforeAll(() => seedPglite(pglite));

/** A CLI as `npx pnpm@10 hf-*` runs it (its transpiled JavaScript), on the app's PGlite under DATA_DIR (development: secrets generated there). */
function cli(name: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...fromDist(fileURLToPath(new URL(`../src/cli/${name}.ts`, import.meta.url))), ...args],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'error' },
        timeout: 240_000, // a hang guard
      },
      (error, out, err) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out, err }),
    );
  });
}

describe('the app CLIs and the PGlite directory of a running app', () => {
  it('refuse it while the app holds it, naming the directory and the pid (exit 1)', async () => {
    const app = await createDatabase({ dataDir: pglite });
    try {
      for (const [name, args] of [
        ['rights', ['list']],
        ['notify', ['counts']],
        ['retention', ['run', '--dry-run']],
      ] as const) {
        const refused = await cli(name, [...args]);
        expectDataDirRefused(refused, pglite, 1, `hf-${name}: ${refused.err}`);
      }
    } finally {
      await app.close();
    }
  }, 600_000);

  it('work once it is closed, and take over the lock a dead process left', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    mkdirSync(pglite, { recursive: true });
    writeFileSync(join(pglite, 'harakaflow.lock'), JSON.stringify({ pid: Number(gone), started: 'ticks:1' }));
    const counts = await cli('notify', ['counts', '--json']);
    expect(counts.code, counts.err).toBe(0);
    expect(JSON.parse(counts.out)).toMatchObject({ pending: expect.any(Number) });
    expect(existsSync(join(pglite, 'harakaflow.lock'))).toBe(false);
  }, 600_000);
});
