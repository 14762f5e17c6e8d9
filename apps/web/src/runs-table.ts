import type { TableValue } from './filter-expr.js';

/** What `GET /api/v1/workspaces/:ws/runs-table` answers (values as the metrics route encodes them). */
export interface RunsTableRowWire {
  id: string;
  name: string | null;
  project: string;
  state: string;
  createdAt: number;
  updatedAt: number;
  lastStep: number | null;
  segments?: number;
  tags: string[];
  note: string;
  archived: boolean;
  config: Record<string, TableValue>;
  metrics: Record<
    string,
    { last: number | string | null; min: number | string | null; max: number | string | null; step: number }
  >;
  dir?: string;
}

export interface RunsTableWire {
  runs: RunsTableRowWire[];
  configKeys: string[];
  metricKeys: string[];
}

/** `PATCH /experiments/:id/meta`: the team metadata as it now is. */
export interface ExperimentMeta {
  id: string;
  name: string | null;
  tags: string[];
  note: string;
  archived: boolean;
}
