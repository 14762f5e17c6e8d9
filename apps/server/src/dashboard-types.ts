import type { ExperimentInfo, MetricSeries, RunState, ServerInfo } from '@swanlog/protocol';

/** `GET /api/v1/server` as both backends answer it: ServerInfo plus which backend this is. */
export interface DashboardServerInfo extends ServerInfo {
  mode: 'server' | 'watch';
  /** Whether this caller may change team metadata (a write key; never in watch mode). */
  canEdit: boolean;
  /** A dashboard session's token for `X-CSRF-Token` on metadata changes (null otherwise). */
  csrfToken: string | null;
}

/** `PATCH /experiments/:id/meta`: the team metadata as it now is. */
export interface ExperimentMeta {
  id: string;
  name: string | null;
  tags: string[];
  note: string;
  archived: boolean;
}

/** An element of `GET /workspaces/:ws/experiments`: ExperimentInfo plus what the runs list shows. */
export interface DashboardExperiment extends ExperimentInfo {
  /** Number of writer sessions (the first one and every resume). */
  segments: number;
  /** Watch mode only: the run directory. */
  dir?: string;
  /** Watch mode only: from the run directory's sync records. */
  sync?: 'synced' | 'partial' | 'never';
  /** Team metadata (server mode; watch mode has none). */
  tags?: string[];
  note?: string;
  archived?: boolean;
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
  /** The machine and process that wrote the segment (as its writer recorded them). */
  host: string;
  pid: number;
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

/** A config value as a runs-table column shows it: scalars as they are, anything else as JSON. */
export type TableValue = string | number | boolean | null;

/** A metric's summary in the runs table: over the visible series (values encoded as in metrics). */
export interface MetricSummary {
  last: number | string | null;
  min: number | string | null;
  max: number | string | null;
  /** The last visible step. */
  step: number;
}

/** A row of `GET /workspaces/:ws/runs-table`. */
export interface RunsTableRow {
  id: string;
  name: string | null;
  project: string;
  state: RunState;
  /** ms since the epoch */
  createdAt: number;
  /** ms since the epoch: the latest sign of life of any session (or the creation). */
  updatedAt: number;
  lastStep: number | null;
  segments: number;
  tags: string[];
  note: string;
  archived: boolean;
  /** Flattened with `/` (`optimizer/name`). */
  config: Record<string, TableValue>;
  metrics: Record<string, MetricSummary>;
  /** The experiment this one is a copy of (`swanlog copy`, the copy route), or null. */
  copiedFrom: string | null;
  /** Watch mode only: the run directory. */
  dir?: string;
  /** Watch mode only: from the run directory's sync records (as in the experiments list). */
  sync?: 'synced' | 'partial' | 'never';
}

/** `GET /workspaces/:ws/runs-table?project=`: every run of the workspace (or project) in one answer. */
export interface RunsTable {
  runs: RunsTableRow[];
  /** Every flattened config key of the runs, sorted. */
  configKeys: string[];
  /** Every metric key of the runs, sorted. */
  metricKeys: string[];
}

/** `GET /experiments/:id/metrics?key=a&key=b…`: one metrics answer per key, in the order asked. */
export interface MultiKeySeries {
  series: MetricSeries[];
}
