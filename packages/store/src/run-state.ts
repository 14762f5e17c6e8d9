import { isWriterAlive } from './liveness.js';

export type RunState = 'running' | 'finished' | 'crashed' | 'aborted';
export type EndState = 'finished' | 'aborted' | 'crashed';

export interface SessionRow {
  source: string;
  segment: string;
  host: string;
  pid: number;
  pid_start: string;
  started_at: number;
  clock_start: number;
  resumed: number;
  from_step: number | null;
  ended_at: number | null;
  end_state: EndState | null;
}

/** A writer session's state: its stored end, else alive (running) or dead (crashed). */
export function sessionState(row: SessionRow, heartbeatTs: number | undefined): RunState {
  if (row.end_state !== null) return row.end_state;
  return isWriterAlive({ host: row.host, pid: row.pid, pidStart: row.pid_start }, heartbeatTs)
    ? 'running'
    : 'crashed';
}

/** What the run-state rule needs of a session (docs/format.md "Run state"). */
export interface SessionStateInput {
  /** No end is recorded and the writer still lives. */
  alive: boolean;
  /** The recorded end; null while none is. */
  endState: EndState | null;
  /** When the session started, on the run's clock (`clock_start`). */
  clockStart: number;
  /**
   * On the run's clock: when the session ended or, for a dead one without a recorded end, its
   * death time (its last durable write or heartbeat). Null while alive.
   */
  endedAt: number | null;
}

/**
 * The run's state, derived and never stored as final (docs/format.md "Run state"); the local
 * store and the server both answer with it:
 *
 * - no session yet: running for 60 s after creation, then crashed;
 * - any writer alive: running;
 * - a dead session (one that crashed, recorded or not) that no session *started* after: crashed,
 *   since nothing took over from it (a killed train job stays crashed while its eval finishes);
 * - otherwise every death was followed by a later session: the end of the session that ended last.
 */
export function runState(sessions: SessionStateInput[], createdAt: number, now = Date.now()): RunState {
  if (sessions.length === 0) return now - createdAt < 60_000 ? 'running' : 'crashed';
  if (sessions.some((s) => s.alive)) return 'running';
  const endOf = (s: SessionStateInput) => s.endedAt ?? s.clockStart;
  for (const dead of sessions) {
    if (dead.endState !== null && dead.endState !== 'crashed') continue;
    const death = endOf(dead);
    if (!sessions.some((s) => s.clockStart > death)) return 'crashed';
  }
  // Times are on the run's clock (never below anything the session saw), so a session that
  // resumed on a machine whose wall clock is behind still counts as the later one.
  let last = sessions[0]!;
  for (const s of sessions) if (endOf(s) >= endOf(last)) last = s;
  return last.endState ?? 'crashed';
}
