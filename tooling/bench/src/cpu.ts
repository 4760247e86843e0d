// CPU time of the server process's main thread (the event loop), beside process.cpuUsage()'s whole
// process. Node 20 has no process.threadCpuUsage(), so it is read from Linux's
// /proc/self/task/<pid>/stat (the main thread's id is the process id): utime + stime, fields 14 and
// 15, in clock ticks (USER_HZ, 100 on every Linux we run on: 10 ms a tick, so over a 2 s run at
// full load the figure is good to about 1%). Where /proc is missing (macOS, Windows) it is null.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const statPath = `/proc/self/task/${process.pid}/stat`;

/** Ticks per second of /proc's utime and stime (getconf CLK_TCK; Linux's USER_HZ is 100). */
const ticksPerSecond = (() => {
  try {
    const value = Number(
      execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a /proc/<pid>/task/<tid>/stat line, in ticks; null when the line cannot be read. */
export function parseStatTicks(line: string): number | null {
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses:
  // the fields after it start after its last ')'. There, field 3 (state) is index 0, so utime
  // (field 14) is index 11 and stime (field 15) index 12.
  const end = line.lastIndexOf(')');
  if (end < 0) return null;
  const fields = line.slice(end + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) && fields.length > 12 ? utime + stime : null;
}

let available = true;
/** The main thread's CPU time so far in µs, or null where /proc is missing. */
export function mainThreadCpuMicros(): number | null {
  if (!available) return null;
  try {
    const ticks = parseStatTicks(readFileSync(statPath, 'utf8'));
    if (ticks === null) return null;
    return (ticks * 1e6) / ticksPerSecond;
  } catch {
    available = false;
    return null;
  }
}
