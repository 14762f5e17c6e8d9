import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createApiKey, startServer } from '@swanlog/server';
import { createRun, RunWriter } from '@swanlog/store';

const cli = new URL('../../apps/cli/bin/swanlog.js', import.meta.url).pathname;
const POINTS = 10_000_000;

/**
 * Issue 5: `GET /experiments/:id/metrics/:key?maxPoints=2000` of a 10^7-point series on the real
 * server (median of 5). The run is written locally with the store writer, then uploaded with
 * `swanlog sync` (the `syncRunDir` engine of @swanlog/client, run as the CLI since bench does not
 * depend on the client).
 */
export async function seriesQueryBench(
  work: string,
): Promise<{ series_query_points: number; series_query_ms: number }> {
  const logdir = join(work, 'series-logs');
  const { dir } = createRun({ logdir, id: 'series-bench', project: 'bench', workspace: null, name: null });
  const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
  const row: Record<string, number> = { loss: 0 };
  for (let step = 0; step < POINTS; step++) {
    row.loss = Math.sin(step / 1000) + (step % 7919 === 0 ? 10 : 0);
    writer.append(row, step);
    if (step % 1_000_000 === 999_999) writer.flush();
  }
  writer.close('finished');
  const dataDir = join(work, 'series-server');
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', log: () => {} });
  const key = createApiKey({ dataDir, workspace: 'bench', scope: 'write' }).key;
  try {
    const id = await syncCli(dir, { ...process.env, SWANLOG_HOST: server.url, SWANLOG_API_KEY: key });
    const url = `${server.url}/api/v1/experiments/${id}/metrics/loss?maxPoints=2000`;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json()) as { total: number };
      times.push(performance.now() - t0);
      if (res.status !== 200 || body.total !== POINTS)
        throw new Error(`metrics query answered ${res.status} with ${body.total} points`);
    }
    times.sort((a, b) => a - b);
    return { series_query_points: POINTS, series_query_ms: Number(times[2]!.toFixed(1)) };
  } finally {
    await server.close();
  }
}

/** Uploads `dir` with `swanlog sync --json` and answers the experiment id. */
function syncCli(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, 'sync', dir, '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`swanlog sync exited ${code}`));
      const parsed = JSON.parse(out) as { experimentId?: string } | { experimentId?: string }[];
      const id = Array.isArray(parsed) ? parsed[0]?.experimentId : parsed.experimentId;
      if (id === undefined) return fail(new Error(`swanlog sync printed no experiment id: ${out}`));
      done(id);
    });
  });
}
