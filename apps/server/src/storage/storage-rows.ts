import type { ExperimentSource, KeyScope } from '@swanlog/protocol';
import type { ApiKeyRecord, ChunkSummaryRecord, ExperimentRecord } from './storage.js';

// Row shapes and their conversion to records, the same for every SQL backend.

export interface ExperimentRow {
  pk: number;
  workspace: string;
  id: string;
  project: string;
  name: string | null;
  created_at: number;
  copied_from: string | null;
  source: string | null;
  tags: string;
  note: string;
  archived: number | boolean;
}

export interface ChunkRow {
  id: number;
  source: string;
  key: string;
  n: number;
  step_min: number;
  step_max: number;
  ts_min: number;
  ts_max: number;
  seq_min: number;
  seq_max: number;
  data?: Buffer;
}

export interface KeyRow {
  id: string;
  hash: string;
  workspace: string;
  scope: KeyScope;
  created_at: number;
  revoked_at: number | null;
}

export const SUMMARY_COLUMNS = 'id, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max';

export function toExperiment(row: ExperimentRow): ExperimentRecord {
  return {
    workspace: row.workspace,
    id: row.id,
    project: row.project,
    name: row.name,
    createdAt: row.created_at,
    copiedFrom: row.copied_from,
    source: row.source === null ? null : (JSON.parse(row.source) as ExperimentSource),
    tags: JSON.parse(row.tags ?? '[]') as string[],
    note: row.note ?? '',
    archived: row.archived === true || row.archived === 1,
  };
}

export function toSummary(r: ChunkRow): ChunkSummaryRecord {
  return {
    id: r.id,
    source: r.source,
    key: r.key,
    n: r.n,
    stepMin: r.step_min,
    stepMax: r.step_max,
    tsMin: r.ts_min,
    tsMax: r.ts_max,
    seqMin: r.seq_min,
    seqMax: r.seq_max,
  };
}

/** A row of SUMMARY_COLUMNS read as an array (a raw statement), in their order. */
export type SummaryColumns = [number, string, string, number, number, number, number, number, number, number];

export function fromSummaryColumns(r: SummaryColumns): ChunkSummaryRecord {
  return {
    id: r[0],
    source: r[1],
    key: r[2],
    n: r[3],
    stepMin: r[4],
    stepMax: r[5],
    tsMin: r[6],
    tsMax: r[7],
    seqMin: r[8],
    seqMax: r[9],
  };
}

export function toKey(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    workspace: r.workspace,
    scope: r.scope,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}
