// Scenario 3: several writer processes on one run at once (one id, resume allow, overlapping in
// time); several syncs of one directory at once; several directories into one experiment (--id).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childValue } from '../children/log-child-options.js';
import { checkRun, describeError, range } from '../support/check-run.js';
import { describe, type ProcResult, runCli } from '../support/procs.js';
import { writeRun } from '../support/runs.js';
import { diffSeries, localSeries, type SeriesMap, serverSeries } from '../support/series.js';
import { type FaultServer, startFaultServer, syncEnv } from '../support/server.js';
import { removeTempDir, tempDir } from '../support/temp.js';
import type { ScenarioContext, ScenarioResult } from '../support/types.js';
import { startLogChild } from './logging.js';
import { assertExact } from './sync.js';

export async function concurrencyScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r: ScenarioResult = {
    name: 'concurrency: writers/syncs',
    trials: 0,
    survived: 0,
    lost: 0,
    duplicated: 0,
    notes: [],
  };
  await concurrentWriters(ctx, r);
  const root = tempDir('concurrency');
  const server = await startFaultServer();
  try {
    await concurrentSyncs(ctx, server, root, r);
    await manyDirsOneExperiment(ctx, server, root, r);
  } finally {
    await server.close();
  }
  return r;
}

async function concurrentWriters(ctx: ScenarioContext, r: ScenarioResult) {
  for (const t of range(0, ctx.quick ? 2 : 4)) {
    r.trials++;
    const root = tempDir('writers');
    const logdir = join(root, 'logdir');
    const gate = join(root, 'go');
    const n = ctx.rng.int(2, 4);
    const sameSteps = t % 2 === 1;
    const calls = ctx.rng.int(200, 3000);
    const what = `writers trial ${t} (${n} writers, ${sameSteps ? 'same steps, own keys' : 'own steps, same keys'}, ${calls} calls)`;
    try {
      const keysOf = (w: number) => (sameSteps ? [`w${w}/loss`, `w${w}/acc`] : ['loss', 'acc']);
      const children = range(0, n).map((w) =>
        startLogChild({
          init: {
            logdir,
            id: 'shared',
            resume: 'allow',
            project: 'faults',
            flushInterval: ctx.rng.pick([0, 10, 200]),
          },
          calls,
          keys: keysOf(w),
          ...(sameSteps ? { startStep: 0 } : { startStep: w, stride: n }),
          burst: ctx.rng.pick([1, 10, 100]),
          startGate: gate,
        }),
      );
      await Promise.all(children.map((c) => c.waitFor((l) => l.event === 'ready')));
      writeFileSync(gate, '');
      const results = await Promise.all(children.map((c) => c.result));
      const bad = results.findIndex((x) => x.code !== 0);
      if (bad >= 0) {
        r.notes.push(`${what}: writer ${bad}: ${describe(results[bad]!)}`);
        continue;
      }
      const dirs = readdirSync(logdir).filter((d) => d.startsWith('run-'));
      if (dirs.length !== 1) {
        r.notes.push(`${what}: ${dirs.length} run directories: ${dirs.join(', ')}`);
        continue;
      }
      const allKeys = range(0, n).flatMap(keysOf);
      // Writer w logged steps w, w+n, … (own steps) or 0..calls-1 (same steps, own keys).
      const steps = sameSteps ? range(0, calls) : range(0, calls * n);
      const c = checkRun(join(logdir, dirs[0]!), allKeys, [], (key, step) => {
        const ki = key.endsWith('acc') ? 1 : 0;
        if (!sameSteps) return step < calls * n ? childValue(step, ki) : undefined;
        return step < calls ? childValue(step, ki) : undefined;
      });
      // Durable: every call of every writer (they all finished).
      const full = checkRun(
        join(logdir, dirs[0]!),
        sameSteps ? allKeys : ['loss', 'acc'],
        steps,
        (key, step) => childValue(step, key.endsWith('acc') ? 1 : 0),
      );
      r.lost += full.lost;
      r.duplicated += full.duplicated;
      if (!c.ok || !full.ok) {
        r.notes.push(`${what}: ${c.problem ?? full.problem}`);
        continue;
      }
      r.survived++;
    } catch (error) {
      r.notes.push(`${what}: ${describeError(error)}`);
    } finally {
      removeTempDir(root);
    }
  }
}

function entry(res: ProcResult): {
  experimentId?: string;
  complete?: boolean;
  uploaded?: { points: number };
} {
  try {
    return (JSON.parse(res.stdout) as object[])[0] ?? {};
  } catch {
    return {};
  }
}

async function concurrentSyncs(ctx: ScenarioContext, server: FaultServer, root: string, r: ScenarioResult) {
  for (const t of range(0, ctx.quick ? 1 : 2)) {
    r.trials++;
    const id = `conc-sync-${t}`;
    const dir = await writeRun({ logdir: join(root, id), id, project: id, steps: 30_000, rewindTo: 15_000 });
    const n = ctx.rng.int(2, 4);
    const results = await Promise.all(
      range(0, n).map(() =>
        runCli(['sync', '--json', dir], {
          env: syncEnv(server, { SWANLOG_SYNC_BATCH_POINTS: `${ctx.rng.int(700, 4000)}` }),
        }),
      ),
    );
    let failed: string | undefined;
    for (const res of results) {
      if (res.code !== 0 || entry(res).experimentId !== id) failed ??= `one of ${n} syncs: ${describe(res)}`;
    }
    try {
      failed ??= await assertExact(server, dir, id, id, r);
    } catch (error) {
      failed ??= describeError(error);
    }
    if (failed === undefined) r.survived++;
    else r.notes.push(`${n} syncs of ${id} at once: ${failed}`);
  }
}

async function manyDirsOneExperiment(
  ctx: ScenarioContext,
  server: FaultServer,
  root: string,
  r: ScenarioResult,
) {
  r.trials++;
  const project = 'many-dirs';
  const n = ctx.quick ? 3 : 4;
  const per = 8_000;
  const dirs: string[] = [];
  for (const i of range(0, n)) {
    dirs.push(
      await writeRun({
        logdir: join(root, project),
        id: `part-${i}`,
        project,
        from: i * per,
        steps: (i + 1) * per,
      }),
    );
  }
  let failed: string | undefined;
  try {
    const first = await runCli(['sync', '--json', dirs[0]!], { env: syncEnv(server) });
    const made = entry(first).experimentId;
    if (first.code !== 0 || made === undefined) throw new Error(`first sync: ${describe(first)}`);
    const target: string = made;
    // The others at once into it, twice (the second round must add nothing).
    for (const round of [0, 1]) {
      const results: ProcResult[] = await Promise.all(
        dirs.slice(1).map((d) =>
          runCli(['sync', '--json', '--id', target, d], {
            env: syncEnv(server, { SWANLOG_SYNC_BATCH_POINTS: `${ctx.rng.int(500, 3000)}` }),
          }),
        ),
      );
      for (const res of results) {
        const e = entry(res);
        if (res.code !== 0 || e.experimentId !== target)
          failed ??= `sync --id round ${round}: ${describe(res)}`;
        else if (round === 1 && e.uploaded?.points !== 0)
          failed ??= `re-sync --id uploaded again: ${describe(res)}`;
      }
    }
    const expected: SeriesMap = {};
    for (const d of dirs) {
      for (const [k, rows] of Object.entries(localSeries(d))) (expected[k] ??= []).push(...rows);
    }
    const remote = await serverSeries(server.client, target);
    const diff = diffSeries(expected, remote);
    r.lost += diff.lost;
    r.duplicated += diff.extra;
    if (diff.first !== undefined)
      failed ??= `server ≠ union of the directories (${diff.lost} lost, ${diff.extra} extra; ${diff.first})`;
    const list = await server.client.listExperiments('ws', project);
    if (list.experiments.length !== 1)
      failed ??= `experiments: ${list.experiments.map((e) => e.id).join(', ')}`;
  } catch (error) {
    failed ??= describeError(error);
  }
  if (failed === undefined) r.survived++;
  else r.notes.push(`${n} directories into one experiment with --id: ${failed}`);
}
