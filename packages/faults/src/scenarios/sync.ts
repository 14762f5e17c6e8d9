// Scenario 2: `swanlog sync` SIGKILLed at random moments of an upload in progress, a server
// stopped and restarted mid-sync, and a proxy that cuts, stalls and truncates connections. After
// re-syncing, the server holds exactly the local series (superseded points included), one
// experiment, and one more sync uploads nothing.
import { join } from 'node:path';
import { describeError, range } from '../support/check-run.js';
import { describe, hasStack, type ProcResult, runCli, sleep, startCli } from '../support/procs.js';
import { writeRun } from '../support/runs.js';
import { diffSeries, localSeries, pointCount, serverSeries } from '../support/series.js';
import {
  type FaultServer,
  type ProxyFault,
  startFaultProxy,
  startFaultServer,
  syncEnv,
} from '../support/server.js';
import { tempDir } from '../support/temp.js';
import type { ScenarioContext, ScenarioResult } from '../support/types.js';

interface SyncEntry {
  experimentId?: string;
  action?: string;
  uploaded?: { points: number };
  complete?: boolean;
  error?: { code: string; message: string };
}

function entries(r: ProcResult): SyncEntry[] {
  try {
    return JSON.parse(r.stdout) as SyncEntry[];
  } catch {
    return [];
  }
}

async function progressOf(server: FaultServer, id: string): Promise<number> {
  try {
    const s = await server.client.syncStatus(id);
    return Object.values(s.watermarks).reduce((a, b) => a + Math.max(0, b + 1), 0);
  } catch {
    return -1;
  }
}

/**
 * The final check of one run: a sync that ends complete, exactly the local series on the server,
 * one experiment in the project, and one more sync that uploads nothing. Returns problems.
 */
export async function assertExact(
  server: FaultServer,
  dir: string,
  id: string,
  project: string,
  r: ScenarioResult,
  env: Record<string, string> = {},
): Promise<string | undefined> {
  const final = await runCli(['sync', '--json', dir], { env: syncEnv(server, env) });
  const e = entries(final)[0];
  if (final.code !== 0 || e?.complete !== true) return `final sync: ${describe(final)}`;
  if (e.experimentId !== id) return `final sync went to ${e.experimentId}, expected ${id}`;
  const local = localSeries(dir);
  const remote = await serverSeries(server.client, id);
  const d = diffSeries(local, remote);
  r.lost += d.lost;
  r.duplicated += d.extra;
  if (d.first !== undefined) return `server ≠ local (${d.lost} lost, ${d.extra} extra; first: ${d.first})`;
  const list = await server.client.listExperiments('ws', project);
  const ids = list.experiments.map((x) => x.id);
  if (ids.length !== 1 || ids[0] !== id) return `experiments of ${project}: ${JSON.stringify(ids)}`;
  const again = await runCli(['sync', '--json', dir], { env: syncEnv(server) });
  const a = entries(again)[0];
  if (again.code !== 0 || a?.action !== 'up-to-date' || a.uploaded?.points !== 0) {
    return `one more sync uploaded something: ${describe(again)}`;
  }
  return undefined;
}

export async function syncScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r: ScenarioResult = {
    name: 'sync: kill/restart/proxy',
    trials: 0,
    survived: 0,
    lost: 0,
    duplicated: 0,
    notes: [],
  };
  const root = tempDir('sync');
  const server = await startFaultServer();
  try {
    await killedSyncs(ctx, server, root, r);
    await restartedServer(ctx, server, root, r);
    await faultyProxy(ctx, server, root, r);
  } finally {
    await server.close();
  }
  return r;
}

async function killedSyncs(ctx: ScenarioContext, server: FaultServer, root: string, r: ScenarioResult) {
  const runs = ctx.quick ? 2 : 5;
  const killsPerRun = ctx.quick ? 4 : 11;
  let midUpload = 0;
  let beforeCreate = 0;
  for (const i of range(0, runs)) {
    const id = `sync-kill-${i}`;
    const dir = await writeRun({ logdir: join(root, id), id, project: id, steps: 30_000, rewindTo: 12_000 });
    const total = pointCount(localSeries(dir));
    const batch = `${ctx.rng.int(300, 2000)}`;
    let failed: string | undefined;
    for (const k of range(0, killsPerRun)) {
      r.trials++;
      const child = startCli(['sync', '--json', dir], {
        env: syncEnv(server, { SWANLOG_SYNC_BATCH_POINTS: batch }),
      });
      if (k === 0) await sleep(ctx.rng.int(0, 500));
      else {
        // The k-th kill lands at a random point of the k-th slice of the upload.
        const threshold = Math.floor((total / 3) * ((k - 1 + ctx.rng.next()) / killsPerRun)); // 3 keys: seqs = points / 3
        for (let n = 0; n < 4000 && child.proc.exitCode === null; n++) {
          if ((await progressOf(server, id)) > threshold) break;
          await sleep(3);
        }
      }
      const running = child.proc.exitCode === null;
      child.kill('SIGKILL');
      const res = await child.result;
      if (!running && res.code !== 0) failed ??= `kill ${k}: sync ended by itself: ${describe(res)}`;
      if (running) {
        const p = await progressOf(server, id);
        if (p < 0) beforeCreate++;
        else if (p < total) midUpload++;
      }
    }
    try {
      failed ??= await assertExact(server, dir, id, id, r);
    } catch (error) {
      failed ??= `check: ${describeError(error)}`;
    }
    if (failed === undefined) r.survived += killsPerRun;
    else r.notes.push(`run ${id} (batch ${batch} points, ${total} points): ${failed}`);
  }
  r.notes.push(
    `sync kills: ${midUpload} mid-upload, ${beforeCreate} before the experiment existed, the rest near start or after the end`,
  );
}

async function restartedServer(ctx: ScenarioContext, server: FaultServer, root: string, r: ScenarioResult) {
  for (const i of range(0, ctx.quick ? 1 : 2)) {
    r.trials++;
    const id = `sync-restart-${i}`;
    const dir = await writeRun({ logdir: join(root, id), id, project: id, steps: 40_000, rewindTo: 20_000 });
    const child = startCli(['sync', '--json', dir], {
      env: syncEnv(server, { SWANLOG_SYNC_BATCH_POINTS: '1000' }),
    });
    const threshold = ctx.rng.int(1, 40_000);
    for (let n = 0; n < 2000 && child.proc.exitCode === null; n++) {
      if ((await progressOf(server, id)) > threshold) break;
      await sleep(5);
    }
    const wasRunning = child.proc.exitCode === null;
    await server.stop();
    await sleep(ctx.rng.int(300, 1500));
    await server.start();
    const res = await child.result;
    let failed: string | undefined;
    if (res.code !== 0) failed = `sync across the restart: ${describe(res)}`;
    try {
      failed ??= await assertExact(server, dir, id, id, r);
    } catch (error) {
      failed ??= `check: ${describeError(error)}`;
    }
    if (failed === undefined) r.survived++;
    else
      r.notes.push(
        `restart ${id} (after ${threshold} points, ${wasRunning ? 'mid-sync' : 'sync had ended'}): ${failed}`,
      );
  }
}

async function faultyProxy(ctx: ScenarioContext, server: FaultServer, root: string, r: ScenarioResult) {
  const kinds: ProxyFault[] = ['cut-request', 'cut-answer', 'stall', 'truncate-answer'];
  for (const i of range(0, ctx.quick ? 1 : 3)) {
    r.trials++;
    const id = `sync-proxy-${i}`;
    const dir = await writeRun({ logdir: join(root, id), id, project: id, steps: 30_000, rewindTo: 10_000 });
    const rate = ctx.rng.pick([0.2, 0.4, 0.6]);
    const proxy = await startFaultProxy(
      server.port,
      () => (ctx.rng.next() < rate ? ctx.rng.pick(kinds) : null),
      {
        stallMs: ctx.rng.int(200, 2500),
        maxFaults: 10,
      },
    );
    let failed: string | undefined;
    let note = '';
    try {
      const res = await runCli(['sync', '--json', dir], {
        env: syncEnv(
          { url: proxy.url, key: server.key },
          { SWANLOG_SYNC_BATCH_POINTS: `${ctx.rng.int(1000, 8000)}` },
        ),
      });
      note = `faults ${JSON.stringify(proxy.faults())}, exit ${res.code}`;
      if (res.code !== 0) {
        const e = entries(res)[0];
        if (hasStack(res.stderr) || e?.error?.code === undefined)
          failed = `sync through the proxy: ${describe(res)}`;
        else note += ` (${e.error.code}: ${e.error.message.slice(0, 120)})`;
      }
    } finally {
      await proxy.close();
    }
    try {
      failed ??= await assertExact(server, dir, id, id, r);
    } catch (error) {
      failed ??= `check: ${describeError(error)}`;
    }
    if (failed === undefined) r.survived++;
    else r.notes.push(`proxy ${id} (${note}): ${failed}`);
    if (failed === undefined && note.includes('exit 1'))
      r.notes.push(`proxy ${id}: gave up with a coded error, re-sync completed: ${note}`);
  }
}
