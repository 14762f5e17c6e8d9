import { join } from 'node:path';
import {
  type BatchChunk,
  type BatchHeader,
  encodeBatch,
  isSwanlogError,
  MAX_BATCH_HEADER_BYTES,
  type SessionInfo,
  SwanlogError,
  type SyncStatus,
} from '@swanlog/protocol';
import {
  CHUNK_CODEC_VERSIONS,
  decodeChunk,
  encodeChunk,
  type RunMeta,
  type RunReader,
  type RunState,
  WRITERS_DIR,
} from '@swanlog/store';
import type { SwanlogClient } from './create-client.js';
import { type BatchBudget, countIn, dataOf, nextBatchEnd, pointsOf, sliceOf } from './cut-batches.js';
import { readWriterSnapshot, type WriterSnapshot } from './read-writer-snapshot.js';

/** What sync needs of the local run, read once per call. */
export interface LocalRun {
  dir: string;
  meta: RunMeta;
  running: boolean;
  sessions: { source: string; session: Omit<SessionInfo, 'heartbeatAt'>; state: RunState }[];
  revisions: { ts: number; source: string | null; patch: Record<string, unknown> }[];
}

export function readLocalRun(reader: RunReader): LocalRun {
  reader.writerFiles(); // opens (and so checks) every writer file before anything is uploaded
  const inputs = new Map(reader.sessionStates().map((s) => [s.source, s.input]));
  const sessions = reader.sessionRows().map((row) => {
    const input = inputs.get(row.source);
    const state: RunState = row.end_state ?? (input?.alive === true ? 'running' : 'crashed');
    return {
      source: row.source,
      state,
      session: {
        segment: row.segment,
        host: row.host,
        pid: row.pid,
        startedAt: row.started_at,
        clockStart: row.clock_start,
        resumed: row.resumed === 1,
        fromStep: row.from_step,
        // A session that died without an end goes up as crashed at its death time, so the
        // server's run-state rule sees what the local one does.
        endedAt: row.ended_at ?? (state === 'crashed' ? (input?.endedAt ?? row.clock_start) : null),
        endState: row.end_state ?? (state === 'crashed' ? ('crashed' as const) : null),
      },
    };
  });
  return {
    dir: reader.dir,
    meta: reader.meta,
    running: sessions.some((s) => s.state === 'running') || reader.state() === 'running',
    sessions,
    revisions: reader.configRevisions().map((r) => ({
      ts: r.ts,
      source: r.revision === 1 ? null : r.source,
      patch: r.patch,
    })),
  };
}

export interface UploadOptions {
  client: SwanlogClient;
  experimentId: string;
  reader: RunReader;
  local: LocalRun;
  /** What one ingest request may carry. */
  budget: BatchBudget;
  onProgress?: (uploaded: number, total: number) => void;
  /** Called once, before the first write request. */
  beforeWrite?: () => void;
}

export interface UploadResult {
  /** Points the server stored because of this call. */
  points: number;
  /** How many of those points are superseded in the run's visible series (docs/format.md). */
  superseded: number;
  /** Anything new went up: points, a session end or heartbeat, config revisions. */
  changed: boolean;
  complete: boolean;
}

/** Gives up after this many conflicts in a row that did not move the server's watermark. */
const MAX_CONFLICTS = 20;
/** A heartbeat this much newer than the server's goes up even when nothing else is new. */
const HEARTBEAT_RESEND_MS = 15_000;

export async function uploadRun(input: UploadOptions): Promise<UploadResult> {
  let wrote = false;
  const options: UploadOptions = {
    ...input,
    beforeWrite: () => {
      if (!wrote) input.beforeWrite?.();
      wrote = true;
    },
  };
  const { client, experimentId, local } = options;
  const status = await client.syncStatus(experimentId);
  const progress = { uploaded: 0, total: 0 };
  let changed = false;
  const maxSeqs = new Map<string, number>();
  const sessions = new Map<string, SessionInfo>();
  const ranges: Record<string, { after: number; upTo: number }> = {};
  for (const s of local.sessions) {
    const r = await uploadSource(options, s, status, progress);
    ranges[s.source] = { after: status.watermarks[s.source] ?? -1, upTo: r.upTo };
    maxSeqs.set(s.source, r.maxSeq);
    sessions.set(s.source, r.session);
    changed ||= r.changed;
  }
  const stored = new Set(status.configRevisions);
  if (local.revisions.some((r) => !stored.has(revisionKey(r)))) {
    options.beforeWrite?.();
    await client.postConfig(experimentId, { revisions: local.revisions });
    changed = true;
  }
  // The final status is asked for first; the superseded count (a read of the local chunks'
  // summaries) is worked out while it is on its way.
  const final = changed ? client.syncStatus(experimentId) : undefined;
  final?.catch(() => undefined); // awaited below
  // Counted over the seq ranges this call moved the watermarks across; never more than it stored.
  const superseded =
    progress.uploaded === 0 ? 0 : Math.min(progress.uploaded, options.reader.supersededCount(ranges));
  const after = final === undefined ? status : await final;
  const complete =
    !local.running &&
    local.sessions.every((s) => {
      const server = after.sessions[s.source];
      const ended = sessions.get(s.source)!.endState;
      return (
        (after.watermarks[s.source] ?? -1) >= maxSeqs.get(s.source)! &&
        (ended === null || (server !== undefined && server.endState === ended))
      );
    }) &&
    local.revisions.every((r) => after.configRevisions.includes(revisionKey(r)));
  return { points: progress.uploaded, superseded, changed: changed || progress.uploaded > 0, complete };
}

function revisionKey(r: { ts: number; source: string | null }): string {
  return `${r.ts}:${r.source ?? ''}`;
}

interface SourceResult {
  maxSeq: number;
  /** The server's watermark for the source when this call ends. */
  upTo: number;
  session: SessionInfo;
  changed: boolean;
}

/** Uploads one writer session from the server's watermark to what the writer file holds now. */
async function uploadSource(
  options: UploadOptions,
  local: LocalRun['sessions'][number],
  status: SyncStatus,
  progress: { uploaded: number; total: number },
): Promise<SourceResult> {
  const { client, experimentId } = options;
  const path = join(options.reader.dir, WRITERS_DIR, `${local.source}.sqlite`);
  let w = status.watermarks[local.source] ?? -1;
  let floor = w;
  // A server older than format version 2 accepts codec 1 only: the chunks go up re-encoded.
  const codecs = (await client.serverInfo()).chunkEncodings ?? [1];
  // A server taking every codec gets the chunks as stored, so the snapshot may be read lazily: a
  // live writer's WAL file chunk by chunk as batches are built (readWriterSnapshot says when).
  const lazy = CHUNK_CODEC_VERSIONS.every((v) => codecs.includes(v));
  const read = (after: number) =>
    lazy ? readWriterSnapshot(path, after, { lazy }) : withCodecs(readWriterSnapshot(path, after), codecs);
  let snap = read(floor);
  try {
    const session: SessionInfo = {
      ...local.session,
      heartbeatAt: snap.heartbeat ?? (local.state === 'running' ? Date.now() : null),
    };
    let sendSession = !sameSession(status.sessions[local.source], session);
    const pending = countIn(snap.keys, w, snap.maxSeq);
    progress.total += pending;
    options.onProgress?.(progress.uploaded, progress.total);
    let changed = false;
    let conflicts = 0;
    // The next batch is encoded while the current request is in flight (client and server then
    // work at once); it is used only when the server's watermark ends where this batch ends.
    let prepared: { from: number; to: number; body: Buffer } | undefined;
    const prepare = (from: number) => {
      const to = from >= snap.maxSeq ? from : nextBatchEnd(snap.keys, from, snap.maxSeq, options.budget);
      return { from, to, body: buildBatch(local.source, session, snap, from, to) };
    };
    while (w < snap.maxSeq || sendSession) {
      const batch = prepared?.from === w ? prepared : prepare(w);
      prepared = undefined;
      const { to, body } = batch;
      options.beforeWrite?.();
      try {
        const inflight = client.ingest(experimentId, body);
        inflight.catch(() => undefined); // handled below; avoids an unhandled rejection while preparing
        if (to < snap.maxSeq) {
          // Let the request reach the socket before spending the CPU on the next one.
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
          snap.settle(); // a staged snapshot reads the rest now, while the first batch is on its way
          prepared = prepare(to);
        } else snap.settle();
        const res = await inflight;
        progress.uploaded += res.stored;
        changed ||= res.stored > 0 || sendSession;
        sendSession = false;
        conflicts = 0;
        w = Math.max(to, res.watermarks[local.source] ?? to);
        options.onProgress?.(progress.uploaded, progress.total);
      } catch (error) {
        if (!isSwanlogError(error, 'CONFLICT')) throw error;
        // Another upload moved the watermark (or ours was stale): continue from the server's. Only
        // conflicts that leave the watermark where it was count towards giving up.
        const before = w;
        w = (await client.syncStatus(experimentId)).watermarks[local.source] ?? -1;
        conflicts = w === before ? conflicts + 1 : 0;
        if (conflicts > MAX_CONFLICTS) throw error;
        if (w < floor) {
          floor = w;
          snap.close();
          snap = read(floor);
        }
      }
    }
    return { maxSeq: snap.maxSeq, upTo: w, session, changed };
  } finally {
    snap.close();
  }
}

/**
 * The snapshot with every chunk in a codec the server accepts: chunks go up as stored when it
 * accepts their codec, else re-encoded with codec 1 (which every server accepts), bit for bit the
 * same points. Re-encoding here, before batches are cut, keeps the batch budget counting the bytes
 * that are sent.
 */
export function withCodecs(snap: WriterSnapshot, codecs: readonly number[]): WriterSnapshot {
  for (const k of snap.keys) {
    for (const c of k.chunks) {
      const data = dataOf(c);
      if (codecs.includes(data[0]!)) continue;
      c.data = encodeChunk(decodeChunk(data), c.n, 1);
      c.bytes = c.data.length;
      c.points = undefined;
    }
  }
  return snap;
}

/**
 * The ingest body for (from, to] of one source: the chunks holding those points (a stored chunk
 * as is when all its points are in; the cut part of one that a boundary cuts), the rewinds in
 * range, the session.
 */
export function buildBatch(
  source: string,
  session: SessionInfo,
  snap: Pick<WriterSnapshot, 'keys' | 'rewinds'>,
  from: number,
  to: number,
): Buffer {
  const chunks: BatchChunk[] = [];
  const blobs: Buffer[] = [];
  for (const k of snap.keys) {
    for (const c of k.chunks) {
      const [lo, hi] = sliceOf(c, from, to);
      if (hi <= lo) continue;
      let blob = dataOf(c);
      if (hi - lo !== c.n) {
        // The cut part keeps the codec of the chunk it comes from (withCodecs chose it).
        const p = pointsOf(c);
        blob = encodeChunk(
          {
            steps: p.steps.subarray(lo, hi),
            values: p.values.subarray(lo, hi),
            ts: p.ts.subarray(lo, hi),
            seqs: p.seqs.subarray(lo, hi),
          },
          hi - lo,
          blob[0],
        );
      }
      chunks.push({ key: k.key, n: hi - lo, bytes: blob.length });
      blobs.push(blob);
    }
  }
  const header: BatchHeader = {
    sources: [
      {
        source,
        fromSeq: from,
        toSeq: to,
        session,
        rewinds: snap.rewinds.filter((r) => r.seq > from && r.seq <= to),
        chunks,
      },
    ],
  };
  const body = encodeBatch(header, blobs);
  // The cutter keeps chunk entries within the header limit; only one log call of too many keys
  // (one seq is never split) or a great many rewinds can still be over it.
  const headerBytes = body.readUInt32LE(4);
  if (headerBytes > MAX_BATCH_HEADER_BYTES)
    throw new SwanlogError(
      'PAYLOAD_TOO_LARGE',
      `source ${source}: the batch of seqs (${from}, ${to}] needs a header of ${headerBytes} bytes (${chunks.length} chunks, ${header.sources[0]!.rewinds.length} rewinds), more than the server's ${MAX_BATCH_HEADER_BYTES}`,
      {
        hint: 'a log call of this many keys cannot be uploaded: log fewer keys per call, or shorter key names',
      },
    );
  return body;
}

function sameSession(server: SessionInfo | undefined, local: SessionInfo): boolean {
  if (server === undefined) return false;
  if (server.endState !== local.endState || server.endedAt !== local.endedAt) return false;
  if (local.heartbeatAt === null) return true;
  return server.heartbeatAt !== null && local.heartbeatAt - server.heartbeatAt < HEARTBEAT_RESEND_MS;
}
