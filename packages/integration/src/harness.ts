import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeValue, type MetricSeries } from '@swanlog/protocol';
import { createApiKey, startServer } from '@swanlog/server';
import { RunReader } from '@swanlog/store';

export const CLI_BIN = new URL('../../../apps/cli/bin/swanlog.js', import.meta.url).pathname;

/** A temp directory for a test file, removed by `remove()`. */
export function tempDir(prefix = 'swanlog-it-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A free loopback port (for a server that starts later on a known address). */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  key: string;
  readKey: string;
  close: () => Promise<void>;
}

/** A real server on 127.0.0.1 with a write key and a read key of workspace `ws`. */
export async function startTestServer(dataDir: string, port = 0): Promise<TestServer> {
  const server = await startServer({ dataDir, port, host: '127.0.0.1', log: () => {} });
  const key = createApiKey({ dataDir, workspace: 'ws', scope: 'write' }).key;
  const readKey = createApiKey({ dataDir, workspace: 'ws', scope: 'read' }).key;
  return { url: server.url, port: server.port, dataDir, key, readKey, close: () => server.close() };
}

export async function getJson<T>(server: TestServer, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.key}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** Every point (superseded included) of every key, as the server answers it. */
export async function serverPoints(
  server: TestServer,
  experimentId: string,
): Promise<Record<string, string[]>> {
  const exp = await getJson<{ keys: string[] }>(server, `/api/v1/experiments/${experimentId}`);
  const out: Record<string, string[]> = {};
  for (const key of exp.body.keys) {
    const s = await getJson<MetricSeries>(
      server,
      `/api/v1/experiments/${experimentId}/metrics/${encodeURIComponent(key)}?superseded=1&maxPoints=1000000`,
    );
    out[key] = s.body.points.map((p) => `${p.step}:${decodeValue(p.value)}:${p.superseded === true}`);
  }
  return out;
}

/** The same, read from local run directories (several directories: their union, as one experiment). */
export function localPoints(dirs: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const dir of dirs) {
    const reader = RunReader.open(dir);
    try {
      for (const key of reader.keys()) {
        const s = reader.series(key, { superseded: true });
        out[key] = Array.from(s.steps, (step, i) => `${step}:${s.values[i]}:${s.superseded?.[i] === 1}`);
      }
    } finally {
      reader.close();
    }
  }
  return out;
}

/**
 * Runs the swanlog CLI to completion, asynchronously: the test's server lives in this process, so
 * a synchronous spawn would keep it from answering the child.
 */
export function swanlog(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}
