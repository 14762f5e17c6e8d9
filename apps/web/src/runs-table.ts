import type { ExperimentMeta, RunsTable, RunsTableRow } from '@swanlog/server';

// The answers of `GET /api/v1/workspaces/:ws/runs-table` and `PATCH /experiments/:id/meta`, as the
// server types them (values as the metrics route encodes them).
export type RunsTableRowWire = RunsTableRow;
export type RunsTableWire = RunsTable;
export type { ExperimentMeta };
