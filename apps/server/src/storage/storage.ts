import type { ExperimentSource, KeyScope, SessionInfo } from '@swanlog/protocol';
import type { ChunkPoints } from '@swanlog/store';
import type { ChunkFacts } from '../ingest-chunk.js';

/** A value or a promise of it: SQLite answers synchronously, PostgreSQL will not. */
export type MaybePromise<T> = T | Promise<T>;

/** One experiment, addressed by (workspace, id). */
export interface ExperimentRef {
  workspace: string;
  id: string;
}

export interface ExperimentRecord {
  workspace: string;
  id: string;
  project: string;
  name: string | null;
  /** ms since the epoch */
  createdAt: number;
  copiedFrom: string | null;
  /** The origin of an imported run. */
  source: ExperimentSource | null;
  /** Team metadata, set from the dashboard or the API (`updateExperimentMeta`). */
  tags: string[];
  note: string;
  /** Hidden from the runs list unless asked for; undone by setting it false. */
  archived: boolean;
}

/** A change of an experiment's team metadata: only the fields given change. */
export interface ExperimentMetaPatch {
  name?: string | null;
  tags?: string[];
  note?: string;
  archived?: boolean;
}

export interface CreateExperimentInput {
  /** Idempotency key, unique per workspace (shared by creates and copies). */
  requestKey: string;
  requestedId?: string;
  /** With requestedId: take exactly that id or throw RUN_EXISTS. */
  exactId?: boolean;
  project: string;
  name: string | null;
  createdAt: number;
  copiedFrom: string | null;
  source?: ExperimentSource | null;
}

export interface CopyExperimentInput {
  requestKey: string;
  requestedId?: string;
  /** Creation time of the copy, also the end time given to sessions that were open. */
  now: number;
}

export interface CreateResult {
  experiment: ExperimentRecord;
  created: boolean;
}

/** Per writer session (source): the highest sequence number stored and its session record. */
export interface SourceRecord {
  source: string;
  watermark: number;
  session: SessionInfo;
}

/**
 * One checked chunk of an ingest batch: its points, or its received bytes (checked to decode to
 * sound points) with the facts stored beside it. A parsed batch keeps the points only of chunks
 * small enough to be appended to another (`appendsTo`); a larger one is decoded again only in the
 * rare case that a small one is appended to it.
 */
export interface IngestChunk {
  key: string;
  points?: ChunkPoints;
  /** The chunk as received, stored as is when nothing is appended to it. */
  encoded?: Uint8Array;
  /** Its summary columns and block summaries, when computed while its batch was checked. */
  facts?: ChunkFacts;
}

export interface IngestSource {
  source: string;
  fromSeq: number;
  toSeq: number;
  session: SessionInfo;
  rewinds: { seq: number; ts: number; step: number }[];
  chunks: IngestChunk[];
}

export type IngestResult =
  | { status: 'stored'; watermarks: Record<string, number>; stored: number }
  | { status: 'conflict'; watermarks: Record<string, number> };

/** A chunk row's summary columns: n, step range, first and last timestamp and seq. */
export interface ChunkColumns {
  n: number;
  stepMin: number;
  stepMax: number;
  tsMin: number;
  tsMax: number;
  seqMin: number;
  seqMax: number;
}

export interface ChunkSummaryRecord extends ChunkColumns {
  /** Opaque, stable while the chunk exists. */
  id: number;
  source: string;
  key: string;
}

export interface ChunkRecord extends ChunkSummaryRecord {
  /** The points in the run-directory chunk codec. */
  data: Uint8Array;
}

export interface RewindRecord {
  source: string;
  seq: number;
  ts: number;
  step: number;
}

export interface ConfigRevisionRecord {
  ts: number;
  source: string | null;
  patch: Record<string, unknown>;
}

export interface ApiKeyRecord {
  id: string;
  workspace: string;
  scope: KeyScope;
  createdAt: number;
  revokedAt: number | null;
}

export interface NewApiKey {
  id: string;
  /** sha256 of the key, hex. The key itself is never stored. */
  hash: string;
  workspace: string;
  scope: KeyScope;
  createdAt: number;
}

/**
 * Everything the server keeps. Backend-agnostic: the HTTP core talks only to this interface, and
 * `storage-contract.ts` is the test suite every backend passes. Methods that take an
 * `ExperimentRef` throw `RUN_NOT_FOUND` when the experiment does not exist in that workspace.
 */
export interface Storage {
  /** Made once per data directory / database; sync records are keyed by it. */
  instanceId(): MaybePromise<string>;

  /** Idempotent per (workspace, requestKey); see docs/api.md "Create an experiment". */
  createExperiment(workspace: string, input: CreateExperimentInput): MaybePromise<CreateResult>;
  getExperiment(ref: ExperimentRef): MaybePromise<ExperimentRecord | undefined>;
  /** Newest first; only `project` when given. */
  listExperiments(workspace: string, project?: string): MaybePromise<ExperimentRecord[]>;
  listProjects(workspace: string): MaybePromise<{ name: string; experiments: number }[]>;
  /** A new experiment with the same points, rewinds, sessions (open ones crashed) and config. */
  copyExperiment(ref: ExperimentRef, input: CopyExperimentInput): MaybePromise<CreateResult>;
  /** Changes the given metadata fields; answers the experiment as it now is. */
  updateExperimentMeta(ref: ExperimentRef, patch: ExperimentMetaPatch): MaybePromise<ExperimentRecord>;
  /**
   * Removes the experiment and all its rows, keeping a tombstone of its id (`deletedAt`), so the
   * id is never given again and a later sync of it is told so. False when there was none.
   */
  deleteExperiment(ref: ExperimentRef, now: number): MaybePromise<boolean>;
  /** When the experiment `ref` names was deleted, or undefined when it never was. */
  deletedAt(ref: ExperimentRef): MaybePromise<number | undefined>;
  /** Gives the space of deleted rows back to the file system (SQLite VACUUM; PostgreSQL VACUUM). */
  vacuum(): MaybePromise<void>;

  /**
   * Applies the watermark rule to every source of a batch in one transaction: all sources are
   * applied or repeats, else nothing but a conflict is answered. Session records are kept
   * newest-wins even for repeats.
   */
  ingest(ref: ExperimentRef, sources: IngestSource[]): MaybePromise<IngestResult>;
  sources(ref: ExperimentRef): MaybePromise<SourceRecord[]>;
  /** Every metric key, sorted. */
  keys(ref: ExperimentRef): MaybePromise<string[]>;
  /** Summaries of every chunk (of one key when given). */
  chunkSummaries(ref: ExperimentRef, key?: string): MaybePromise<ChunkSummaryRecord[]>;
  /** Chunks of `key` with any point in [from, to] (by their step range). */
  chunks(
    ref: ExperimentRef,
    key: string,
    range?: { from?: number; to?: number },
  ): MaybePromise<ChunkRecord[]>;
  /** The data of the given chunks, by id. */
  chunkData(ref: ExperimentRef, ids: number[]): MaybePromise<Map<number, Uint8Array>>;
  /**
   * The block summaries (`block-summary.ts`) of the given chunks, by id, made when each chunk was
   * stored. A chunk without one is left out (the reader decodes it instead).
   */
  chunkBlocks(ref: ExperimentRef, ids: number[]): MaybePromise<Map<number, Float64Array>>;
  rewinds(ref: ExperimentRef): MaybePromise<RewindRecord[]>;

  /** Adds the revisions not known yet (by (ts, source)); answers how many were new. */
  addConfigRevisions(ref: ExperimentRef, revisions: ConfigRevisionRecord[]): MaybePromise<number>;
  /** Ordered by (ts, source), a null source first. */
  configRevisions(ref: ExperimentRef): MaybePromise<ConfigRevisionRecord[]>;

  addApiKey(key: NewApiKey): MaybePromise<void>;
  /** The key with that hash, revoked or not. */
  findApiKeyByHash(hash: string): MaybePromise<(ApiKeyRecord & { hash: string }) | undefined>;
  /** Revokes by id or by hash; false when no such key exists. Already revoked keys answer true. */
  revokeApiKey(idOrHash: string, now: number): MaybePromise<boolean>;
  listApiKeys(): MaybePromise<ApiKeyRecord[]>;

  /** Dashboard sessions: a cookie token's hash standing for an API key until `expiresAt`. */
  addDashboardSession(tokenHash: string, keyId: string, expiresAt: number): MaybePromise<void>;
  /** The unrevoked key behind an unexpired session token hash. */
  findDashboardSession(tokenHash: string, now: number): MaybePromise<ApiKeyRecord | undefined>;
  deleteDashboardSession(tokenHash: string): MaybePromise<void>;

  close(): MaybePromise<void>;
}
