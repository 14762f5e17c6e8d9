/**
 * Wire types of the swanlog HTTP API (/api/v1). The read API is DESIGN.md's; the write API is
 * documented in docs/api.md. Every error answer is `ErrorBody` with the status from ERROR_STATUS.
 */
import type { EncodedValue } from './encode-value.js';
import type { ErrorCode } from './error-codes.js';

export const API_PREFIX = '/api/v1';
/** Content type of an ingest batch (see ingest-batch.ts). */
export const BATCH_CONTENT_TYPE = 'application/vnd.swanlog.batch';
/** Largest request body the server takes. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Largest JSON body (everything but ingest batches). */
export const MAX_JSON_BYTES = 1024 * 1024;
/**
 * Largest JSON header of an ingest batch. The server parses and validates a header in one go on
 * its event loop, so this (with MAX_BATCH_HEADER_VALUES) bounds how long one request can hold
 * every other; the client cuts batches to fit. 8 MiB holds one log call of 10,000 keys of 255
 * two-byte characters, or of 50,000 keys of 100 ASCII characters.
 */
export const MAX_BATCH_HEADER_BYTES = 8 * 1024 * 1024;
/** How deeply an ingest batch header may nest; its schema needs 5 levels. */
export const MAX_BATCH_HEADER_DEPTH = 8;
/**
 * How many values (objects, arrays and separators, see `measureJson`) an ingest batch header may
 * hold. A chunk entry takes 4, so this leaves room for the 100,000 chunks a source may send; it
 * keeps 8 MiB of `{},{},…` (millions of objects, most of a second to parse) out.
 */
export const MAX_BATCH_HEADER_VALUES = 500_000;

export type RunState = 'running' | 'finished' | 'crashed' | 'aborted';
export type KeyScope = 'read' | 'write';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  hint?: string;
  /** CONFLICT on ingest: the server's watermarks, so the client can resume from them. */
  watermarks?: Record<string, number>;
}

/** GET /api/v1/server */
export interface ServerInfo {
  /** Stable id of this server's data directory; sync records are keyed by it, not by URL. */
  instanceId: string;
  version: string;
  /** Base URL for links (--public-url), or null when the server does not know it. */
  publicUrl: string | null;
  /** The workspace of the key that asked. */
  workspace: string;
  scope: KeyScope;
  /**
   * The chunk codec versions ingest accepts (docs/format.md "Chunk encoding"). Absent from servers
   * older than format version 2, which accept codec 1 only: sync re-encodes chunks for them.
   */
  chunkEncodings?: number[];
}

/** GET /api/v1/experiments/:id (DESIGN.md) */
export interface ExperimentInfo {
  id: string;
  workspace: string;
  project: string;
  name: string | null;
  state: RunState;
  config: Record<string, unknown>;
  /** ISO 8601 */
  createdAt: string;
  /** null for an empty run */
  lastStep: number | null;
  keys: string[];
  copiedFrom: string | null;
  /** Where an imported run came from (`swanlog import`); null for runs swanlog wrote. */
  source: ExperimentSource | null;
}

/** The origin of an imported run: the other tracker's kind, the path read, its own run id. */
export interface ExperimentSource {
  kind: string;
  path: string;
  id: string;
  /** Offsets added to the steps of source sessions whose steps restarted (W&B offline resumes). */
  stepOffsets?: Record<string, number>;
}

/** POST /api/v1/experiments */
export interface CreateExperimentRequest {
  /**
   * Idempotency key: the same key in one workspace always answers the same experiment. Sync
   * derives it from the run directory, so a killed or repeated sync never makes a second one.
   */
  requestKey: string;
  /** The id wanted; used when free in the workspace, else a fresh id is made (unless exactId). */
  requestedId?: string;
  /** With requestedId: take that id or fail with RUN_EXISTS. */
  exactId?: boolean;
  project: string;
  name?: string | null;
  /** ms since the epoch; default now */
  createdAt?: number;
  copiedFrom?: string | null;
  /** Sent only for imported runs, so syncing other runs works with servers that predate it. */
  source?: ExperimentSource | null;
}

export interface CreateExperimentResponse {
  experiment: ExperimentInfo;
  /** false when the request key (or exact id) already named this experiment */
  created: boolean;
}

/** POST /api/v1/experiments/:id/copy */
export interface CopyExperimentRequest {
  requestKey: string;
  requestedId?: string;
}

/** A writer session as the server keeps it (one per source). */
export interface SessionInfo {
  segment: string;
  host: string;
  pid: number;
  startedAt: number;
  clockStart: number;
  resumed: boolean;
  fromStep: number | null;
  endedAt: number | null;
  endState: 'finished' | 'aborted' | 'crashed' | null;
  /** Last sign of life seen by the uploader (ms); a session without an end is running while this is younger than 2 minutes. */
  heartbeatAt: number | null;
}

/** GET /api/v1/experiments/:id/sync: what a client needs to upload the rest or resume. */
export interface SyncStatus {
  experimentId: string;
  /** Per source: the highest sequence number stored (-1: nothing). */
  watermarks: Record<string, number>;
  sessions: Record<string, SessionInfo>;
  /** Config revisions stored, as `${ts}:${source ?? ''}` keys. */
  configRevisions: string[];
  config: Record<string, unknown>;
  lastStep: number | null;
  /** Per key, the last visible step. */
  keyLastSteps: Record<string, number>;
  /** Highest clock timestamp stored; a resuming writer starts above it. */
  maxTs: number;
  state: RunState;
}

/** POST /api/v1/experiments/:id/config */
export interface ConfigRevisionsRequest {
  revisions: { ts: number; source: string | null; patch: Record<string, unknown> }[];
}

/** Answer to an ingest batch. */
export interface IngestResponse {
  watermarks: Record<string, number>;
  /** Points stored by this request (0 when it was a repeat of one already applied). */
  stored: number;
}

/** GET /api/v1/experiments/:id/metrics/:key */
export interface MetricPoint {
  step: number;
  value: EncodedValue;
  ts: number;
  superseded?: true;
}

export interface MetricSeries {
  key: string;
  points: MetricPoint[];
  /** Visible points in the asked range before downsampling. */
  total: number;
  /** True when points were dropped to honour maxPoints (each bucket keeps its extremes). */
  downsampled: boolean;
}

/** GET /api/v1/workspaces/:ws/projects */
export interface ProjectList {
  projects: { name: string; experiments: number }[];
}

/** GET /api/v1/workspaces/:ws/experiments?project= */
export interface ExperimentList {
  experiments: ExperimentInfo[];
}
