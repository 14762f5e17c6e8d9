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
 * Whether the writer identified by `identity` is alive: on this host, the pid runs and is the
 * same process (same start time, so a reused pid does not count); elsewhere, its heartbeat is
 * younger than HEARTBEAT_TIMEOUT_MS.
 */
export function isWriterAlive(
  identity: ProcessIdentity,
  heartbeatTs: number | undefined,
  now = Date.now(),
): boolean {
  if (identity.host === hostname()) {
    if (!pidRuns(identity.pid)) return false;
    return identity.pidStart === '' || processStartTime(identity.pid) === identity.pidStart;
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
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES') return '';
    throw error;
  }
  // Field 22 (starttime); the command name in field 2 may hold spaces, so count after ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '';
}
