import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseError } from './errors.js';

/**
 * One process at a time on a PGlite data directory (issue 31 item 6). PGlite is Postgres in this
 * process, without a postmaster to refuse a second one: a CLI opening the directory of a running
 * app would write beside it and corrupt it. `createDatabase` takes this lock before it opens
 * PGlite and gives it back when the handle closes (and, failing that, when the process exits).
 *
 * The lock is the file `harakaflow.lock` in the directory: `{ pid, started }`, written whole and
 * hard-linked into place (which fails when it exists).
 * A lock whose process is gone (no such pid, or that pid now belongs to a process started at
 * another time) is stale and taken over.
 */
export const LOCK_FILE = 'harakaflow.lock';

interface Holder {
  pid: number;
  /** When the process started: Linux clock ticks since boot from /proc (`ticks:N`), else epoch ms (`ms:N`). */
  started: string;
}

const held = new Map<string, Holder>();
let exitHook = false;

export interface DataDirLock {
  file: string;
  release(): void;
}

/** Takes the lock of `dir` (which exists), or throws HF_DB_DATA_DIR_IN_USE naming the directory and the process holding it. */
export function lockDataDir(dir: string): DataDirLock {
  const file = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, started: startTime(process.pid) ?? `ms:${Math.round(Date.now() - process.uptime() * 1000)}` };
  for (let attempt = 0; ; attempt++) {
    // Written whole, then linked into place: link fails if the lock exists, and a reader never sees half of one.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(me)}\n`, { mode: 0o644 });
    try {
      linkSync(temporary, file);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
    const text = readText(file);
    if (text === null) continue; // released between our attempt and our read
    const holder = parse(text);
    if (holder && alive(holder)) {
      const since = holder.started.startsWith('ms:') ? `, started ${new Date(Number(holder.started.slice(3))).toISOString()}` : '';
      throw new DatabaseError(
        'HF_DB_DATA_DIR_IN_USE',
        `the PGlite data directory ${dir} is in use by process ${holder.pid}${since} (lock file ${file}): PGlite takes one process at a time; stop that process first, or use DATABASE_URL (Postgres) to share the data`,
      );
    }
    // Stale (its process is gone) or unreadable: taken over, unless it changed meanwhile.
    if (attempt >= 3) {
      throw new DatabaseError('HF_DB_DATA_DIR_IN_USE', `the PGlite data directory ${dir} could not be locked: ${file} keeps changing (another process is taking it)`);
    }
    if (readText(file) === text) {
      try {
        unlinkSync(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  held.set(file, me);
  if (!exitHook) {
    exitHook = true;
    // A process that exits without closing its database leaves no lock behind.
    process.on('exit', () => {
      for (const path of [...held.keys()]) releaseFile(path);
    });
  }
  return { file, release: () => releaseFile(file) };
}

function releaseFile(file: string): void {
  const mine = held.get(file);
  if (!mine) return;
  held.delete(file);
  // Only our own lock: one taken over after ours was judged stale is not ours to remove.
  const holder = parse(readText(file) ?? '');
  if (holder?.pid !== mine.pid || holder.started !== mine.started) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function parse(text: string): Holder | null {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    return Number.isInteger(value.pid) && (value.pid as number) > 0 && typeof value.started === 'string' ? (value as Holder) : null;
  } catch {
    return null; // a torn or foreign file: no live holder can be named
  }
}

/** Is the process that wrote this lock still running (and not a later process given the same pid)? */
function alive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.started.startsWith('ticks:')) {
    const now = startTime(holder.pid);
    if (now !== null && now !== holder.started) return false;
  }
  return true;
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22), where /proc exists. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? `ticks:${ticks}` : null;
  } catch {
    return null;
  }
}
