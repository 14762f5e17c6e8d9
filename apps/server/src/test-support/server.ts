import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_CONTENT_TYPE, type BatchSource, encodeBatch, type SessionInfo } from '@swanlog/protocol';
import { type ChunkPoints, encodeChunk } from '@swanlog/store';
import { createApiKey } from '../api-keys.js';
import { type RunningServer, startServer } from '../start-server.js';

/** A parsed JSON answer; tests assert on its shape directly. */
// biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field with deepEqual
export type Json = any;

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** Write and read keys of workspace `ws`, and a write key of workspace `other`. */
  writeKey: string;
  readKey: string;
  otherKey: string;
  logged: string[];
  request(path: string, init?: RequestOptions): Promise<{ status: number; body: Json; headers: Headers }>;
  close(): Promise<void>;
}

export interface RequestOptions {
  key?: string | null;
  method?: string;
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

/** A real server on 127.0.0.1 port 0 over a temp data directory, with three keys. */
export async function startTestServer(): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'swanlog-server-test-'));
  const logged: string[] = [];
  const server = await startServer({ dataDir, port: 0, log: (m) => logged.push(m) });
  const writeKey = createApiKey({ dataDir, workspace: 'ws', scope: 'write' }).key;
  const readKey = createApiKey({ dataDir, workspace: 'ws', scope: 'read' }).key;
  const otherKey = createApiKey({ dataDir, workspace: 'other', scope: 'write' }).key;
  return {
    server,
    dataDir,
    writeKey,
    readKey,
    otherKey,
    logged,
    async request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      const key = init.key === undefined ? writeKey : init.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON: keep the text for the assertion message
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function session(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    segment: 'seg',
    host: 'elsewhere',
    pid: 1,
    startedAt: Date.now(),
    clockStart: 1000,
    resumed: false,
    fromStep: null,
    endedAt: null,
    endState: null,
    heartbeatAt: Date.now(),
    ...overrides,
  };
}

/** Points of one chunk from [step, value, seq] triples; ts = 1000 + seq. */
export function points(rows: [number, number, number][]): ChunkPoints {
  return {
    steps: Float64Array.from(rows.map((r) => r[0])),
    values: Float64Array.from(rows.map((r) => r[1])),
    ts: Float64Array.from(rows.map((r) => 1000 + r[2])),
    seqs: Float64Array.from(rows.map((r) => r[2])),
  };
}

export interface TestSource {
  source: string;
  fromSeq: number;
  toSeq: number;
  session?: SessionInfo;
  rewinds?: BatchSource['rewinds'];
  chunks?: { key: string; points: ChunkPoints }[];
}

/** An ingest batch body from decoded points. */
export function batch(sources: TestSource[]): Buffer {
  const blobs: Uint8Array[] = [];
  const header = {
    sources: sources.map((s) => ({
      source: s.source,
      fromSeq: s.fromSeq,
      toSeq: s.toSeq,
      session: s.session ?? session(),
      rewinds: s.rewinds ?? [],
      chunks: (s.chunks ?? []).map((c) => {
        const blob = encodeChunk(c.points);
        blobs.push(blob);
        return { key: c.key, n: c.points.steps.length, bytes: blob.length };
      }),
    })),
  };
  return encodeBatch(header, blobs);
}

export const batchHeaders = { 'content-type': BATCH_CONTENT_TYPE };
