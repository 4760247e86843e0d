import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseError } from './errors.js';

/**
 * One process at a time on a PGlite data directory (issue 31 item 6). PGlite is Postgres in this
 * process, without a postmaster to refuse a second one: a CLI opening the directory of a running
 * app would write beside it and corrupt it. `createDatabase` takes this lock before it opens
 * PGlite and gives it back when the handle closes (and, failing that, when the process exits).
 *
 * The lock is the file `harakaflow.lock` in the directory: `{ pid, started, host, boot?, pidns? }`,
 * written whole to a new file of a random name (O_EXCL, so a planted symlink is not followed) and
 * hard-linked into place (which fails when it exists).
 *
 * Whether its holder still runs can be checked only from where it runs. A lock written under
 * another host name (another container on a shared volume, another machine) is live to this
 * process: refused, naming the holder, to be removed by hand once that holder is known to be
 * stopped. Under this host name, a lock of an earlier boot (/proc/sys/kernel/random/boot_id) or of
 * another PID namespace (/proc/self/ns/pid: this container before its restart) is stale; in this
 * boot and namespace, a lock whose process is gone (no such pid, or that pid now belongs to a
 * process started at another time) is stale. A stale lock is taken over. A lock of the first format
 * (`{ pid, started }`, no host) is judged by its pid alone, as then.
 *
 * Taking over is exclusive, see `removeStale`.
 */
export const LOCK_FILE = 'harakaflow.lock';

interface Holder {
  pid: number;
  /** When the process started: Linux clock ticks since boot from /proc (`ticks:N`), else epoch ms (`ms:N`). */
  started: string;
  /** Absent in a lock of the first format. */
  host?: string;
  boot?: string;
  pidns?: string;
}

/** For tests only: called under the takeover claim, between the last check of a stale lock and its removal. */
export interface LockHooks {
  beforeRemovingStale?: () => void;
}

const held = new Map<string, Holder>();
let exitHook = false;
/** Levels of claims on one stale lock (see `removeStale`): each one above the first exists only because a claimant crashed. */
const MAX_CLAIMS = 8;

export interface DataDirLock {
  file: string;
  release(): void;
}

/** Takes the lock of `dir` (which exists), or throws HF_DB_DATA_DIR_IN_USE naming the directory and the process holding it. */
export function lockDataDir(dir: string, hooks: LockHooks = {}): DataDirLock {
  const file = join(dir, LOCK_FILE);
  const me = whoAmI();
  const record = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; ; attempt++) {
    if (place(file, record)) break;
    const text = readText(file);
    if (text === null) continue; // released between our attempt and our read
    const holder = parse(text);
    const state = holder ? judge(holder, me) : 'gone';
    if (holder && state !== 'gone') throw inUse(dir, file, holder, state, me);
    // Stale (its process is gone) or unreadable: taken over, unless it changed meanwhile.
    if (attempt >= 3) {
      throw new DatabaseError(
        'HF_DB_DATA_DIR_IN_USE',
        `the PGlite data directory ${dir} could not be locked: ${file} keeps changing (another process is taking it)`,
      );
    }
    removeStale(dir, file, text, me, record, hooks);
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

/**
 * Removes the lock `file` if it still reads `stale`, exclusively.
 *
 * Read-then-unlink alone is not: two processes that both judged the same lock stale could each
 * re-read it, one take it over, and the other, a moment later, unlink the new live lock and link
 * its own (two holders). So the re-read and the unlink happen under a claim: the file
 * `harakaflow.lock.takeover.<hash of stale>.<level>`, created whole with link (fails if it exists).
 * Why that is exclusive:
 * - The claim is on this stale content. While the lock reads `stale` nothing else can change it:
 *   link cannot replace a file, its writer is gone (that is why it is stale), and unlinking it is
 *   done only under a claim on it. A claim is removed only by its claimant when done, so while the
 *   lock reads `stale` at most one live process holds a claim on it, and it finds the lock
 *   unchanged between its re-read and its unlink.
 * - A claimant that crashed leaves its claim. Deleting it would be check-then-act again (a stale
 *   claim re-read, then a new claim unlinked in its place), so no one deletes another's claim while
 *   the lock can still read `stale`: the next claimant takes the next level instead, and only if the
 *   claim below is judged gone exactly as a lock is (its pid dead or reused where that can be
 *   checked). A claimant that cannot be checked (another host or namespace), or is alive, blocks:
 *   no age rule, since a paused process (SIGSTOP, a suspended VM) resumes at any age.
 * - Once the lock no longer reads `stale`, it never will again (the same content would be the same
 *   dead process, or the same junk, and as stale), so claims on it are inert: a late claimant re-reads, finds another lock and
 *   unlinks nothing. Only then are the abandoned claims below ours removed.
 */
function removeStale(dir: string, file: string, stale: string, me: Holder, record: string, hooks: LockHooks): void {
  const base = `${file}.takeover.${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  for (let level = 0, vanished = 0; level < MAX_CLAIMS; level++) {
    const claim = `${base}.${level}`;
    if (place(claim, record)) {
      try {
        if (readText(file) === stale) {
          hooks.beforeRemovingStale?.();
          unlinkQuietly(file);
        }
        for (let below = 0; below < level; below++) unlinkQuietly(`${base}.${below}`);
      } finally {
        unlinkQuietly(claim);
      }
      return;
    }
    const text = readText(claim);
    if (text === null) {
      // Its claimant finished between our attempt and our read: this level again (bounded, as the lock's own loop is).
      if (++vanished > 3)
        throw new DatabaseError(
          'HF_DB_DATA_DIR_IN_USE',
          `the PGlite data directory ${dir} could not be locked: ${file} keeps changing (another process is taking it)`,
        );
      level--;
      continue;
    }
    const claimant = parse(text);
    const state = claimant ? judge(claimant, me) : 'gone';
    if (!claimant || state === 'gone') continue; // abandoned: the next level
    const where =
      state === 'live'
        ? 'try again'
        : `it runs ${state} (host ${claimant.host ?? '?'}): whether it still runs cannot be checked from here; once it is known to be stopped, remove ${claim} by hand`;
    throw new DatabaseError(
      'HF_DB_DATA_DIR_IN_USE',
      `the PGlite data directory ${dir} is being taken over by process ${claimant.pid} (claim ${claim}): ${where}`,
    );
  }
  throw new DatabaseError(
    'HF_DB_DATA_DIR_IN_USE',
    `the PGlite data directory ${dir} could not be locked: the takeover of its stale lock ${file} was abandoned too often (files ${base}.*); remove them by hand`,
  );
}

/** Writes `text` to `path` whole, unless `path` exists (false). */
function place(path: string, text: string): boolean {
  // A new file of an unpredictable name, opened O_EXCL: a symlink planted beside it is never written through.
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(temporary);
  }
}

function releaseFile(file: string): void {
  const mine = held.get(file);
  if (!mine) return;
  held.delete(file);
  // Only our own lock: one taken over after ours was judged stale is not ours to remove.
  const holder = parse(readText(file) ?? '');
  if (!holder || !sameProcess(holder, mine)) return;
  unlinkQuietly(file);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
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
    const optional = (v: unknown) => v === undefined || typeof v === 'string';
    return Number.isInteger(value.pid) &&
      (value.pid as number) > 0 &&
      typeof value.started === 'string' &&
      optional(value.host) &&
      optional(value.boot) &&
      optional(value.pidns)
      ? (value as Holder)
      : null;
  } catch {
    return null; // a torn or foreign file: no live holder can be named
  }
}

function whoAmI(): Holder {
  const me: Holder = {
    pid: process.pid,
    started: startTime(process.pid) ?? `ms:${Math.round(Date.now() - process.uptime() * 1000)}`,
    host: hostname(),
  };
  const boot = readOptional(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const pidns = readOptional(() => readlinkSync('/proc/self/ns/pid'));
  if (boot) me.boot = boot;
  if (pidns) me.pidns = pidns;
  return me;
}

function readOptional(read: () => string): string | undefined {
  try {
    return read() || undefined;
  } catch {
    return undefined; // not Linux, or /proc hidden: the field is left out
  }
}

function sameProcess(a: Holder, b: Holder): boolean {
  return a.pid === b.pid && a.started === b.started && a.host === b.host && a.boot === b.boot && a.pidns === b.pidns;
}

/**
 * 'live', 'gone', or where it runs when that cannot be checked from here (then it counts as live).
 * Under this host name, a lock of an earlier boot, or of another PID namespace, names a process that
 * is gone: a container restarted after a crash keeps its host name and gets a new PID namespace, and
 * must take back the lock its previous run left (else it never starts again without a hand). Two
 * processes that share a data directory from different PID namespaces under one host name are not
 * supported (the README says so); another container (`docker compose run`, a second pod) has its own.
 */
function judge(holder: Holder, me: Holder): string {
  // A lock of the first format (no host) is judged by its pid, as it was then.
  if (holder.host !== undefined && holder.host !== me.host) return 'on another host';
  if (holder.boot && me.boot && holder.boot !== me.boot) return 'gone';
  if (holder.pidns && me.pidns && holder.pidns !== me.pidns) return 'gone';
  return alive(holder) ? 'live' : 'gone';
}

function inUse(dir: string, file: string, holder: Holder, state: string, me: Holder): DatabaseError {
  if (state !== 'live') {
    return new DatabaseError(
      'HF_DB_DATA_DIR_IN_USE',
      `the PGlite data directory ${dir} is in use by process ${holder.pid} on host ${holder.host ?? '?'} (lock file ${file}), which runs ${state}: whether it still runs cannot be checked from here (host ${me.host}). PGlite takes one process at a time: stop that process first, or, once it is known to be stopped, remove ${file} by hand`,
    );
  }
  const since = holder.started.startsWith('ms:')
    ? `, started ${new Date(Number(holder.started.slice(3))).toISOString()}`
    : '';
  return new DatabaseError(
    'HF_DB_DATA_DIR_IN_USE',
    `the PGlite data directory ${dir} is in use by process ${holder.pid}${since} (lock file ${file}): PGlite takes one process at a time; stop that process first, or use DATABASE_URL (Postgres) to share the data`,
  );
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
