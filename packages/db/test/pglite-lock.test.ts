// One process at a time on a PGlite data directory (issue 31 item 6): the lock file createDatabase
// takes before it opens PGlite, refused while its holder runs, taken over once it is gone.
import { createDatabase } from '@harakaflow/db';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../src/pglite-lock.js';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const lockModule = JSON.stringify(new URL('../src/pglite-lock.ts', import.meta.url).href);

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

/** This process's lock record as another process reads it ({ pid, started, host, boot?, pidns? }). */
function myRecord(): Record<string, unknown> {
  const dir = newDir();
  const lock = lockDataDir(dir);
  try {
    return JSON.parse(readFileSync(lockOf(dir), 'utf8')) as Record<string, unknown>;
  } finally {
    lock.release();
  }
}

/**
 * Another process contending for the lock of `dir`. With `pauseUntil`, it stops where it has decided
 * that the lock is stale and is about to remove it (printing `paused`), and goes on once that file exists.
 * It prints `locked` or `refused CODE MESSAGE`, then holds what it got until its stdin closes.
 */
function contender(dir: string, pauseUntil?: string) {
  const script = `import { lockDataDir } from ${lockModule};
import { existsSync, writeSync } from 'node:fs';
const pauseUntil = ${JSON.stringify(pauseUntil ?? null)};
const hooks = pauseUntil ? { beforeRemovingStale() {
  writeSync(1, 'paused\\n');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(pauseUntil)) Atomics.wait(cell, 0, 0, 10);
} } : {};
try {
  lockDataDir(${JSON.stringify(dir)}, hooks);
  writeSync(1, 'locked\\n');
} catch (error) {
  writeSync(1, 'refused ' + error.code + ' ' + error.message + '\\n');
}
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`;
  const child: ChildProcess = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  /** The first line of its output that starts with one of `prefixes` (it prints each as soon as it gets there). */
  const line = (...prefixes: string[]) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const found = out.split('\n').find((l) => prefixes.some((p) => l.startsWith(p)));
        if (found !== undefined) {
          child.stdout!.off('data', look);
          resolve(found);
        }
      };
      child.stdout!.on('data', look);
      void exited.then(() => reject(new Error(`contender ${child.pid} exited: ${out}${err}`)));
      look();
    });
  return { pid: child.pid!, line, outcome: () => line('locked', 'refused'), end: () => (child.stdin!.end(), exited) };
}

describe('the PGlite data directory lock', () => {
  it('refuses a second opening while the first is open, naming the directory and the pid, and lets it in once closed', async () => {
    const dir = join(newDir(), 'pglite');
    const first = await createDatabase({ dataDir: dir });
    // Created for this user only, as is the lock.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(lockOf(dir)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(lockOf(dir), 'utf8'))).toMatchObject({
      pid: process.pid,
      started: expect.any(String),
    });
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
      expect(() => lockDataDir(copy)).toThrow(
        expect.objectContaining({
          code: 'HF_DB_DATA_DIR_IN_USE',
          message: expect.stringContaining(`process ${process.pid}`),
        }),
      );
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
    const script = `import { lockDataDir } from ${lockModule};
lockDataDir(${JSON.stringify(dir)});
process.stdout.write('locked\\n');
process.exit(0);`;
    const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(out, out).toContain('locked');
    expect(code).toBe(0);
    expect(existsSync(lockOf(dir))).toBe(false);
  });
  // Review finding 1: two processes that both judged the same lock stale each removed "it"; the later
  // one removed the other's new, live lock and linked its own (two holders).
  it('gives a stale lock to one process only when two take it over at once', async () => {
    const dir = newDir();
    const go = join(newDir(), 'go');
    writeFileSync(lockOf(dir), JSON.stringify({ ...myRecord(), pid: deadPid(), started: 'ticks:1' }));
    // The first has checked the stale lock once more and is about to remove it...
    const first = contender(dir, go);
    expect(await first.line('paused')).toBe('paused');
    // ...when the second one comes.
    const second = contender(dir);
    const secondOutcome = await second.outcome();
    writeFileSync(go, '');
    const firstOutcome = await first.outcome();
    try {
      expect(
        [firstOutcome, secondOutcome].filter((o) => o === 'locked'),
        `${firstOutcome}\n${secondOutcome}`,
      ).toHaveLength(1);
      expect(firstOutcome).toBe('locked');
      expect(secondOutcome).toContain('refused HF_DB_DATA_DIR_IN_USE');
      expect(secondOutcome).toContain(`being taken over by process ${first.pid}`);
      expect(JSON.parse(readFileSync(lockOf(dir), 'utf8'))).toMatchObject({ pid: first.pid });
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
    // Nothing left behind: neither the lock (released at exit) nor a takeover claim.
    expect(readdirSync(dir)).toEqual([]);
  }, 600_000); // a hang guard, not a measurement

  it('goes past a takeover claim its crashed claimant left, and is refused while a live one holds it', () => {
    const mine = myRecord();
    const stale = JSON.stringify({ ...mine, pid: deadPid(), started: 'ticks:1' });
    const claim = (dir: string, level: number) =>
      `${lockOf(dir)}.takeover.${createHash('sha256').update(stale).digest('hex').slice(0, 16)}.${level}`;

    const abandoned = newDir();
    writeFileSync(lockOf(abandoned), stale);
    writeFileSync(claim(abandoned, 0), JSON.stringify({ ...mine, pid: deadPid() }));
    const lock = lockDataDir(abandoned);
    expect(JSON.parse(readFileSync(lockOf(abandoned), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(readdirSync(abandoned)).toEqual([]);

    // A claim by a live process (this one, as far as the lock can tell): it is taking the lock over.
    const busy = newDir();
    writeFileSync(lockOf(busy), stale);
    writeFileSync(claim(busy, 0), JSON.stringify(mine));
    expect(() => lockDataDir(busy)).toThrow(
      expect.objectContaining({
        code: 'HF_DB_DATA_DIR_IN_USE',
        message: expect.stringContaining(`being taken over by process ${process.pid}`),
      }),
    );
    expect(readFileSync(lockOf(busy), 'utf8')).toBe(stale);
  });

  // Review finding 2: a holder in another container or on another machine was judged by a pid of this
  // process's namespace (pid 1 there is not pid 1 here) and its live lock taken over. Another host
  // name is refused; this host name in an earlier boot or another PID namespace is this container's
  // own lock from before a restart, taken over (else a crashed container never starts again unaided).
  it('refuses the lock of a process on another host, whatever its pid here, naming it and the file to remove by hand', () => {
    const mine = myRecord();
    const gone = deadPid();
    const others: Record<string, unknown>[] = [
      { ...mine, pid: gone, host: 'app-container-7' },
      { ...mine, pid: 1, host: 'app-container-7' },
      { ...mine, pid: process.pid, host: 'app-container-7' },
    ];
    for (const other of others) {
      const dir = newDir();
      const text = JSON.stringify(other);
      writeFileSync(lockOf(dir), text);
      const refused = (() => {
        try {
          lockDataDir(dir).release();
          return null;
        } catch (error) {
          return error as Error & { code: string };
        }
      })();
      expect(refused, text).toMatchObject({ code: 'HF_DB_DATA_DIR_IN_USE' });
      expect(refused!.message).toContain(`process ${String(other.pid)} on host ${String(other.host)}`);
      expect(refused!.message).toContain(`remove ${lockOf(dir)} by hand`);
      expect(readFileSync(lockOf(dir), 'utf8'), text).toBe(text);
    }

    // This host name, an earlier boot or another PID namespace (this container before a crash and
    // restart): gone, even with a pid that is alive here (pid 1 of the new namespace), so taken over.
    const restarts: Record<string, unknown>[] = [];
    if (mine.boot) restarts.push({ ...mine, pid: process.pid, boot: '00000000-0000-4000-8000-000000000000' });
    if (mine.pidns)
      restarts.push({ ...mine, pid: process.pid, pidns: 'pid:[1]' }, { ...mine, pid: 1, pidns: 'pid:[1]' });
    for (const earlier of restarts) {
      const dir = newDir();
      writeFileSync(lockOf(dir), JSON.stringify(earlier));
      const lock = lockDataDir(dir);
      expect(JSON.parse(readFileSync(lockOf(dir), 'utf8')), JSON.stringify(earlier)).toEqual(mine);
      lock.release();
    }

    // The same host, boot and namespace, its process gone: taken over.
    const dir = newDir();
    writeFileSync(lockOf(dir), JSON.stringify({ ...mine, pid: gone }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(lockOf(dir), 'utf8'))).toEqual(mine);
    lock.release();

    // A lock of the first format ({ pid, started }) is judged by its pid, as before: live refused, gone taken over.
    const first = newDir();
    writeFileSync(lockOf(first), JSON.stringify({ pid: process.pid, started: mine.started }));
    expect(() => lockDataDir(first)).toThrow(
      expect.objectContaining({
        code: 'HF_DB_DATA_DIR_IN_USE',
        message: expect.stringContaining(`process ${process.pid} (lock file`),
      }),
    );
    writeFileSync(lockOf(first), JSON.stringify({ pid: gone, started: mine.started }));
    lockDataDir(first).release();
    expect(existsSync(lockOf(first))).toBe(false);
  });

  // Review finding 3: the record was written to `harakaflow.lock.<pid>.tmp` with flag 'w', through any symlink planted there.
  it('writes through no symlink planted where its temporary file used to be', () => {
    const dir = newDir();
    const target = join(newDir(), 'victim');
    writeFileSync(target, 'untouched');
    const planted = `${lockOf(dir)}.${process.pid}.tmp`;
    symlinkSync(target, planted);
    const lock = lockDataDir(dir);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(lstatSync(lockOf(dir)).isFile()).toBe(true);
    expect(statSync(lockOf(dir)).mode & 0o777).toBe(0o600);
    lock.release();
    expect(readdirSync(dir)).toEqual([`harakaflow.lock.${process.pid}.tmp`]);
  });
});
