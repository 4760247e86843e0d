// One process at a time on a PGlite data directory (issue 31 item 6): the lock file createDatabase
// takes before it opens PGlite, refused while its holder runs, taken over once it is gone.
import { createDatabase } from '@harakaflow/db';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../src/pglite-lock.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'hf-pglite-lock-'));
  dirs.push(dir);
  return dir;
};
const lockOf = (dir: string) => join(dir, 'harakaflow.lock');

/** The pid of a process that has exited: nothing runs under it (until the system reuses it). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('the PGlite data directory lock', () => {
  it('refuses a second opening while the first is open, naming the directory and the pid, and lets it in once closed', async () => {
    const dir = newDir();
    const first = await createDatabase({ dataDir: dir });
    expect(JSON.parse(readFileSync(lockOf(dir), 'utf8'))).toMatchObject({ pid: process.pid, started: expect.any(String) });
    const refused = await createDatabase({ dataDir: dir }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'DatabaseError', code: 'HF_DB_DATA_DIR_IN_USE' });
    expect((refused as Error).message).toContain(dir);
    expect((refused as Error).message).toContain(`process ${process.pid}`);
    await first.close();
    expect(existsSync(lockOf(dir))).toBe(false);

    const second = await createDatabase({ dataDir: dir });
    expect(await second.ping()).toBe(true);
    await second.close();
    expect(existsSync(lockOf(dir))).toBe(false);
  });

  // The cases below take the lock as createDatabase does, without opening PGlite each time.
  it('is refused to another process while this one holds it', () => {
    const dir = newDir();
    const lock = lockDataDir(dir);
    try {
      // The holder's record as another process reads it: this process is alive and started when it says.
      const holder = JSON.parse(readFileSync(lockOf(dir), 'utf8')) as { pid: number; started: string };
      const copy = newDir();
      writeFileSync(lockOf(copy), JSON.stringify(holder));
      expect(() => lockDataDir(copy)).toThrow(expect.objectContaining({ code: 'HF_DB_DATA_DIR_IN_USE', message: expect.stringContaining(`process ${process.pid}`) }));
      // It stays the holder's.
      expect(JSON.parse(readFileSync(lockOf(copy), 'utf8'))).toEqual(holder);
    } finally {
      lock.release();
    }
    expect(existsSync(lockOf(dir))).toBe(false);
  });

  it('takes over the stale lock of a process that is gone, of a pid now given to a later process, and an unreadable one', () => {
    const dir = newDir();
    writeFileSync(lockOf(dir), JSON.stringify({ pid: deadPid(), started: 'ticks:1' }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(lockOf(dir), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(existsSync(lockOf(dir))).toBe(false);

    // A running process (this one's pid) whose start time differs from the lock's: the pid was reused.
    if (existsSync(`/proc/${process.pid}/stat`)) {
      const reused = newDir();
      writeFileSync(lockOf(reused), JSON.stringify({ pid: process.pid, started: 'ticks:0' }));
      lockDataDir(reused).release();
    }

    // A torn or foreign file names no live holder either.
    const garbled = newDir();
    writeFileSync(lockOf(garbled), 'not json');
    lockDataDir(garbled).release();
    expect(existsSync(lockOf(garbled))).toBe(false);
  });

  it('does not remove a lock taken over from it after it was judged stale', () => {
    const dir = newDir();
    const lock = lockDataDir(dir);
    const other = JSON.stringify({ pid: process.ppid, started: 'ms:0' });
    writeFileSync(lockOf(dir), other);
    lock.release();
    expect(readFileSync(lockOf(dir), 'utf8')).toBe(other);
  });

  it('is given back when the holding process exits without releasing it', async () => {
    const dir = newDir();
    // A child that takes the lock and exits; its lock must not outlive it.
    const script = `import { lockDataDir } from ${JSON.stringify(new URL('../src/pglite-lock.ts', import.meta.url).href)};
lockDataDir(${JSON.stringify(dir)});
process.stdout.write('locked\\n');
process.exit(0);`;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(out, out).toContain('locked');
    expect(code).toBe(0);
    expect(existsSync(lockOf(dir))).toBe(false);
  });
});
