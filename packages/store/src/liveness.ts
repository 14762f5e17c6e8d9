import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** How long a heartbeat from another host keeps a writer alive. */
export const HEARTBEAT_TIMEOUT_MS = 120_000;
/** How often a writer beats. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Start time of the process from /proc (clock ticks since boot), '' where unknown. */
  pidStart: string;
}

export function currentProcess(): ProcessIdentity {
  return { host: hostname(), pid: process.pid, pidStart: processStartTime(process.pid) };
}

/**
 * Whether the writer identified by `identity` is alive: on this host, the pid runs, is not a
 * zombie (`/proc/<pid>/stat` state Z or X: killed but not yet reaped by its parent, so it will
 * never write again) and is the same process (same start time, so a reused pid does not count);
 * elsewhere, its heartbeat is younger than HEARTBEAT_TIMEOUT_MS.
 */
export function isWriterAlive(
  identity: ProcessIdentity,
  heartbeatTs: number | undefined,
  now = Date.now(),
): boolean {
  if (identity.host === hostname()) {
    if (!pidRuns(identity.pid)) return false;
    const stat = processStat(identity.pid);
    // No /proc entry: not Linux (then no start time was recorded either, and the pid running is
    // all we can know), or the process exited between the two checks.
    if (stat === undefined) return identity.pidStart === '';
    if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
    return identity.pidStart === '' || stat.startTime === identity.pidStart;
  }
  return heartbeatTs !== undefined && now - heartbeatTs < HEARTBEAT_TIMEOUT_MS;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function processStartTime(pid: number): string {
  return processStat(pid)?.startTime ?? '';
}

/** State (field 3) and start time (field 22) of `/proc/<pid>/stat`; undefined where unreadable. */
function processStat(pid: number): { state: string; startTime: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES') return undefined;
    throw error;
  }
  // The command name in field 2 may hold spaces and parentheses, so count after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}
