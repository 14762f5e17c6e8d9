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

/** What the run-state rule needs of a session. */
export interface SessionStateInput {
  state: RunState;
  /** No end recorded yet. */
  open: boolean;
  /** On the run's clock; null while open. */
  endedAt: number | null;
}

/**
 * The run's state, derived and never stored as final: running while any writer lives; crashed
 * when a writer died without ending; otherwise how the last session ended. The local store and
 * the server both use it.
 */
export function runState(sessions: SessionStateInput[], createdAt: number, now = Date.now()): RunState {
  if (sessions.length === 0) return now - createdAt < 60_000 ? 'running' : 'crashed';
  if (sessions.some((s) => s.state === 'running')) return 'running';
  if (sessions.some((s) => s.open)) return 'crashed';
  // endedAt is on the run's clock (never below anything the session saw), so a session that
  // resumed on a machine whose wall clock is behind still counts as the later one.
  let last = sessions[0]!;
  for (const s of sessions) if ((s.endedAt ?? 0) >= (last.endedAt ?? 0)) last = s;
  return last.state;
}
