import type { ExperimentInfo, RunState, SessionInfo, SyncStatus } from '@swanlog/protocol';
import {
  type ChunkSummary,
  decodeChunk,
  deepMerge,
  HEARTBEAT_TIMEOUT_MS,
  type JsonObject,
  lastVisibleStepOf,
  type Rewind,
  runState,
  type SessionStateInput,
} from '@swanlog/store';
import type { DashboardExperiment, ExperimentDetails } from './dashboard-types.js';
import type {
  ChunkSummaryRecord,
  ExperimentRecord,
  ExperimentRef,
  RewindRecord,
  SourceRecord,
  Storage,
} from './storage/storage.js';

/** Ranks of an experiment's sources: index in sorted order, so ranks compare as the ids do. */
export function ranksOf(sources: { source: string }[]): Map<string, number> {
  const sorted = sources.map((s) => s.source).sort();
  return new Map(sorted.map((source, rank) => [source, rank]));
}

export function rankedRewinds(rewinds: RewindRecord[], ranks: Map<string, number>): Rewind[] {
  return rewinds.map((r) => ({ ts: r.ts, rank: rankOf(ranks, r.source), seq: r.seq, step: r.step }));
}

export function rankOf(ranks: Map<string, number>, source: string): number {
  const rank = ranks.get(source);
  if (rank === undefined) throw new Error(`source ${source} has data but no session record`);
  return rank;
}

/** A session's state on the server: its end, else running while its heartbeat is fresh. */
export function sessionStateOf(session: SessionInfo, now: number): RunState {
  if (session.endState !== null) return session.endState;
  const lastSign = session.heartbeatAt ?? session.startedAt;
  return now - lastSign < HEARTBEAT_TIMEOUT_MS ? 'running' : 'crashed';
}

/**
 * The run-state rule's view of a session the server holds. A session without an end whose
 * heartbeat went stale died at its last sign of life; a crashed one sent without an end time
 * (older clients) likewise.
 */
export function sessionStateInputOf(session: SessionInfo, now: number): SessionStateInput {
  const alive = sessionStateOf(session, now) === 'running';
  const lastSign = Math.max(session.clockStart, session.heartbeatAt ?? 0);
  return {
    alive,
    endState: session.endState,
    clockStart: session.clockStart,
    endedAt: alive ? null : (session.endedAt ?? lastSign),
  };
}

export function experimentState(record: ExperimentRecord, sources: SourceRecord[], now: number): RunState {
  return runState(
    sources.map((s) => sessionStateInputOf(s.session, now)),
    record.createdAt,
    now,
  );
}

interface Loaded {
  record: ExperimentRecord;
  sources: SourceRecord[];
  summaries: ChunkSummaryRecord[];
  rewinds: Rewind[];
  revisions: Awaited<ReturnType<Storage['configRevisions']>>;
  keyLastSteps: Map<string, number>;
}

async function load(storage: Storage, record: ExperimentRecord): Promise<Loaded> {
  const ref: ExperimentRef = { workspace: record.workspace, id: record.id };
  const sources = await storage.sources(ref);
  const summaries = await storage.chunkSummaries(ref);
  const ranks = ranksOf(sources);
  const rewinds = rankedRewinds(await storage.rewinds(ref), ranks);
  const revisions = await storage.configRevisions(ref);
  const byKey = new Map<string, ChunkSummaryRecord[]>();
  for (const c of summaries) {
    const list = byKey.get(c.key);
    if (list === undefined) byKey.set(c.key, [c]);
    else list.push(c);
  }
  const keyLastSteps = new Map<string, number>();
  for (const key of [...byKey.keys()].sort()) {
    const last = await lastVisibleStep(storage, ref, byKey.get(key)!, rewinds, ranks);
    if (last !== null) keyLastSteps.set(key, last);
  }
  return { record, sources, summaries, rewinds, revisions, keyLastSteps };
}

/** GET /experiments/:id */
export async function experimentInfo(
  storage: Storage,
  record: ExperimentRecord,
  now: number,
): Promise<ExperimentInfo> {
  return infoOf(await load(storage, record), now);
}

/** An element of GET /workspaces/:ws/experiments: the info plus the number of segments. */
export async function experimentListEntry(
  storage: Storage,
  record: ExperimentRecord,
  now: number,
): Promise<DashboardExperiment> {
  const d = await load(storage, record);
  return { ...infoOf(d, now), segments: d.sources.length };
}

/**
 * What the runs table needs of one experiment: its list entry, each key's last visible step, and
 * a version string that changes whenever its points could have (watermarks, rewinds).
 */
export async function experimentTableParts(
  storage: Storage,
  record: ExperimentRecord,
  now: number,
): Promise<{
  entry: DashboardExperiment;
  keyLastSteps: Map<string, number>;
  version: string;
  updatedAt: number;
}> {
  const d = await load(storage, record);
  const version = JSON.stringify([d.sources.map((s) => [s.source, s.watermark]), d.rewinds.length]);
  let updatedAt = record.createdAt;
  for (const { session } of d.sources)
    updatedAt = Math.max(updatedAt, session.endedAt ?? session.heartbeatAt ?? session.startedAt);
  return {
    entry: { ...infoOf(d, now), segments: d.sources.length },
    keyLastSteps: d.keyLastSteps,
    version,
    updatedAt,
  };
}

/** GET /experiments/:id/details: segments (with the first step each wrote), config history, rewinds. */
export async function experimentDetails(
  storage: Storage,
  record: ExperimentRecord,
  now: number,
): Promise<ExperimentDetails> {
  const d = await load(storage, record);
  const firstSteps = new Map<string, number>();
  for (const c of d.summaries) {
    const first = firstSteps.get(c.source);
    if (first === undefined || c.stepMin < first) firstSteps.set(c.source, c.stepMin);
  }
  const segments = d.sources
    .map((s) => ({
      id: s.session.segment,
      source: s.source,
      startedAt: s.session.startedAt,
      endedAt: s.session.endedAt,
      resumed: s.session.resumed,
      fromStep: s.session.fromStep,
      state: sessionStateOf(s.session, now),
      firstStep: firstSteps.get(s.source) ?? null,
      host: s.session.host,
      pid: s.session.pid,
    }))
    .sort((a, b) => a.startedAt - b.startedAt || (a.source < b.source ? -1 : 1));
  return {
    segments,
    configRevisions: d.revisions.map((r) => ({ ts: r.ts, source: r.source, patch: r.patch })),
    rewinds: d.rewinds.map((r) => ({ step: r.step, ts: r.ts })).sort((a, b) => a.ts - b.ts),
  };
}

function infoOf(d: Loaded, now: number): ExperimentInfo {
  const record = d.record;
  return {
    id: record.id,
    workspace: record.workspace,
    project: record.project,
    name: record.name,
    state: experimentState(record, d.sources, now),
    config: configOf(d.revisions),
    createdAt: new Date(record.createdAt).toISOString(),
    lastStep: maxOf(d.keyLastSteps),
    keys: [...new Set(d.summaries.map((c) => c.key))].sort(),
    copiedFrom: record.copiedFrom,
    source: record.source,
  };
}

/** GET /experiments/:id/sync */
export async function syncStatus(
  storage: Storage,
  record: ExperimentRecord,
  now: number,
): Promise<SyncStatus> {
  const d = await load(storage, record);
  const watermarks: Record<string, number> = {};
  const sessions: Record<string, SessionInfo> = {};
  let maxTs = 0;
  for (const s of d.sources) {
    watermarks[s.source] = s.watermark;
    sessions[s.source] = s.session;
    maxTs = Math.max(maxTs, s.session.clockStart, s.session.endedAt ?? 0);
  }
  for (const c of d.summaries) maxTs = Math.max(maxTs, c.tsMax);
  for (const r of d.rewinds) maxTs = Math.max(maxTs, r.ts);
  for (const r of d.revisions) maxTs = Math.max(maxTs, r.ts);
  return {
    experimentId: record.id,
    watermarks,
    sessions,
    configRevisions: d.revisions.map((r) => `${r.ts}:${r.source ?? ''}`),
    config: configOf(d.revisions),
    lastStep: maxOf(d.keyLastSteps),
    keyLastSteps: Object.fromEntries(d.keyLastSteps),
    maxTs,
    state: experimentState(record, d.sources, now),
  };
}

export function configOf(revisions: { patch: Record<string, unknown> }[]): JsonObject {
  return revisions.reduce<JsonObject>((acc, r) => deepMerge(acc, r.patch), {});
}

class NeedChunk extends Error {
  constructor(readonly chunkId: number) {
    super(`chunk ${chunkId} is needed`);
  }
}

/**
 * `lastVisibleStepOf` over stored summaries. Its decode callback is synchronous while storage may
 * not be, so a chunk it needs is fetched and the (cheap, summary-only) computation is repeated;
 * only chunks that straddle a rewind are ever fetched.
 */
async function lastVisibleStep(
  storage: Storage,
  ref: ExperimentRef,
  summaries: ChunkSummaryRecord[],
  rewinds: Rewind[],
  ranks: Map<string, number>,
): Promise<number | null> {
  const loaded = new Map<number, ReturnType<typeof decodeChunk>>();
  const chunks: ChunkSummary[] = summaries.map((c) => ({
    rank: rankOf(ranks, c.source),
    stepMax: c.stepMax,
    tsMin: c.tsMin,
    seqMin: c.seqMin,
    decode: () => {
      const points = loaded.get(c.id);
      if (points === undefined) throw new NeedChunk(c.id);
      return points;
    },
  }));
  for (;;) {
    try {
      return lastVisibleStepOf(chunks, rewinds);
    } catch (error) {
      if (!(error instanceof NeedChunk)) throw error;
      const data = (await storage.chunkData(ref, [error.chunkId])).get(error.chunkId);
      if (data === undefined) throw new Error(`chunk ${error.chunkId} vanished`);
      loaded.set(error.chunkId, decodeChunk(data));
    }
  }
}

function maxOf(steps: Map<string, number>): number | null {
  let max: number | null = null;
  for (const s of steps.values()) if (max === null || s > max) max = s;
  return max;
}
