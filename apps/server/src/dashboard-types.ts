import type { ExperimentInfo, RunState, ServerInfo } from '@swanlog/protocol';

/** `GET /api/v1/server` as both backends answer it: ServerInfo plus which backend this is. */
export interface DashboardServerInfo extends ServerInfo {
  mode: 'server' | 'watch';
}

/** An element of `GET /workspaces/:ws/experiments`: ExperimentInfo plus what the runs list shows. */
export interface DashboardExperiment extends ExperimentInfo {
  /** Number of writer sessions (the first one and every resume). */
  segments: number;
  /** Watch mode only: the run directory. */
  dir?: string;
  /** Watch mode only: from the run directory's sync records. */
  sync?: 'synced' | 'partial' | 'never';
}

export interface DashboardExperimentList {
  experiments: DashboardExperiment[];
}

export interface SegmentDetails {
  id: string;
  source: string;
  /** ms since the epoch */
  startedAt: number;
  endedAt: number | null;
  resumed: boolean;
  fromStep: number | null;
  state: RunState;
  /** The smallest step this segment wrote, or null when it wrote none. */
  firstStep: number | null;
}

/** `GET /experiments/:id/details`: what the charts mark on their x axis, and the config history. */
export interface ExperimentDetails {
  segments: SegmentDetails[];
  configRevisions: { ts: number; source: string | null; patch: Record<string, unknown> }[];
  rewinds: { step: number; ts: number }[];
}

/** A run directory `swanlog watch` could not read (`GET /workspaces/local/problems`). */
export interface RunProblem {
  dir: string;
  code: string;
  message: string;
}
