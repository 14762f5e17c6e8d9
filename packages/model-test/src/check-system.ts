// After every command: everything a user can read, locally (ls, show, export) and from the
// server (experiment info and details, sync status, every key's series with and without
// superseded points, the experiment list), compared with the model.
import { isDeepStrictEqual } from 'node:util';
import { exportRun, ls, show } from '@swanlog/cli';
import { decodeValue, type ExperimentInfo, type MetricSeries } from '@swanlog/protocol';
import {
  comparePoints,
  configOf,
  type ExperimentModel,
  type Holdings,
  keysOf,
  type LocalRunModel,
  lastVisibleStep,
  type Model,
  type Point,
  runStateOf,
  seriesOf,
  sessionStateOf,
  sessionsOf,
  visibleOf,
} from './model.js';
import type { RealSystem } from './system.js';

/** A difference between what a user sees and what the model says they should see. */
export class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

function expectEqual(where: string, expected: unknown, actual: unknown): void {
  if (!isDeepStrictEqual(expected, actual)) {
    throw new ModelMismatch(
      `${where}\n    expected ${JSON.stringify(expected)}\n    actual   ${JSON.stringify(actual)}`,
    );
  }
}

export async function checkSystem(m: Model, s: RealSystem, after: string): Promise<void> {
  try {
    for (const run of m.runs) checkLocalRun(run);
    for (const logdir of m.logdirs) checkListing(m, logdir);
    await checkExperimentList(m, s);
    for (const exp of m.experiments) if (!exp.uncertain) await checkExperiment(s, exp);
  } catch (error) {
    if (error instanceof ModelMismatch) error.message = `after "${after}": ${error.message}`;
    throw error;
  }
}

function runName(run: LocalRunModel): string {
  return `local run ${run.label} (${run.id}${run.copiedFrom === null ? '' : `, copy of ${run.copiedFrom}`})`;
}

function segmentsOf(h: Holdings) {
  return sessionsOf(h).map((x) => ({ resumed: x.resumed, fromStep: x.fromStep, state: sessionStateOf(x) }));
}

function pointsByKey(series: Map<string, Point[]>, withFlag: boolean) {
  const out: Record<string, string[]> = {};
  for (const key of [...series.keys()].sort()) {
    if (series.get(key)!.length === 0) continue;
    out[key] = series
      .get(key)!
      .map((p) => `${p.step}:${p.value}${withFlag && p.superseded ? ' (superseded)' : ''}`);
  }
  return out;
}

function checkLocalRun(run: LocalRunModel): void {
  const name = runName(run);
  const details = show({ cwd: run.logdir, target: run.dir, logdir: run.logdir });
  expectEqual(`${name}: show state`, runStateOf([...run.facts.sessions.values()]), details.state);
  expectEqual(`${name}: show config`, configOf(run.facts), details.config);
  expectEqual(`${name}: show copiedFrom`, run.copiedFrom, details.copiedFrom);
  expectEqual(`${name}: show partial`, run.partial, details.partial);
  expectEqual(
    `${name}: show segments`,
    segmentsOf(run.facts),
    details.segments.map((x) => ({ resumed: x.resumed, fromStep: x.fromStep, state: x.state })),
  );
  expectEqual(`${name}: show keys`, keysOf(run.facts), Object.keys(details.keys).sort());
  if (!run.pendingSync) expectEqual(`${name}: show sync status`, recordsOf(run), syncOf(details.sync));

  for (const all of [false, true]) {
    const exported = exportRun({
      cwd: run.logdir,
      target: run.dir,
      logdir: run.logdir,
      format: 'jsonl',
      all,
    });
    const got = new Map<string, Point[]>();
    for (const chunk of exported.chunks) {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        const p = JSON.parse(line) as { key: string; step: number; value: unknown; superseded?: boolean };
        let list = got.get(p.key);
        if (list === undefined) got.set(p.key, (list = []));
        list.push({ step: p.step, value: decodeValue(p.value)!, superseded: p.superseded === true });
      }
    }
    for (const list of got.values()) {
      const steps = list.map((p) => p.step);
      expectEqual(
        `${name}: export${all ? ' --all' : ''} is in step order`,
        [...steps].sort((a, b) => a - b),
        steps,
      );
      list.sort(comparePoints);
    }
    const expected = all ? seriesOf(run.facts) : visibleOf(run.facts);
    expectEqual(
      `${name}: export${all ? ' --all' : ''} points`,
      pointsByKey(expected, all),
      pointsByKey(got, all),
    );
  }
}

function recordsOf(run: LocalRunModel) {
  return run.records
    .map((r) => ({ purpose: r.purpose, experimentId: r.experiment, complete: r.complete }))
    .sort((a, b) => a.purpose.localeCompare(b.purpose));
}

function syncOf(entries: { purpose: string; experimentId: string; complete: boolean }[]) {
  return entries
    .map((r) => ({ purpose: r.purpose, experimentId: r.experimentId, complete: r.complete }))
    .sort((a, b) => a.purpose.localeCompare(b.purpose));
}

function checkListing(m: Model, logdir: string): void {
  const entries = ls({ cwd: logdir, logdir, defaultLogdir: logdir });
  const runs = m.runs.filter((r) => r.logdir === logdir);
  expectEqual(
    `ls ${logdir}: run directories`,
    runs.map((r) => r.dir).sort(),
    entries.map((e) => e.dir).sort(),
  );
  for (const e of entries) {
    if ('error' in e)
      throw new ModelMismatch(`ls ${logdir}: ${e.dir} fails: ${e.error.code} ${e.error.message}`);
    if ('kind' in e) throw new ModelMismatch(`ls ${logdir}: ${e.dir} listed as a ${e.kind} run`);
    const run = runs.find((r) => r.dir === e.dir)!;
    const name = runName(run);
    expectEqual(`${name}: ls state`, runStateOf([...run.facts.sessions.values()]), e.state);
    expectEqual(`${name}: ls lastStep`, lastVisibleStep(run.facts), e.lastStep);
    if (!run.pendingSync) expectEqual(`${name}: ls sync status`, recordsOf(run), syncOf(e.sync));
  }
}

async function checkExperimentList(m: Model, s: RealSystem): Promise<void> {
  const list = await s.client.listExperiments('ws');
  const ids = list.experiments.map((e) => e.id).sort();
  const known = m.experiments.map((e) => e.id).sort();
  const extra = ids.filter((id) => !known.includes(id));
  const missing = known.filter((id) => !ids.includes(id));
  // A killed first sync may have created an experiment the model learns of at the next sync.
  const pending = m.runs.filter((r) => r.pendingSync && !r.records.some((x) => x.purpose === 'sync')).length;
  if (missing.length > 0 || extra.length > pending) expectEqual('server experiment list', known, ids);
}

async function checkExperiment(s: RealSystem, exp: ExperimentModel): Promise<void> {
  const name = `server experiment ${exp.id}${exp.copiedFrom === null ? '' : ` (copiedFrom ${exp.copiedFrom})`}`;
  const info: ExperimentInfo = await s.client.getExperiment(exp.id);
  const state = runStateOf([...exp.facts.sessions.values()]);
  expectEqual(`${name}: info state`, state, info.state);
  expectEqual(`${name}: info copiedFrom`, exp.copiedFrom, info.copiedFrom);
  expectEqual(`${name}: info config`, configOf(exp.facts), info.config);
  expectEqual(`${name}: info keys`, keysOf(exp.facts), info.keys);
  expectEqual(`${name}: info lastStep`, lastVisibleStep(exp.facts), info.lastStep);

  const res = await fetch(`${s.url}/api/v1/experiments/${encodeURIComponent(exp.id)}/details`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  const details = (await res.json()) as {
    segments: { resumed: boolean; fromStep: number | null; state: string }[];
  };
  expectEqual(
    `${name}: details segments`,
    segmentsOf(exp.facts),
    details.segments.map((x) => ({ resumed: x.resumed, fromStep: x.fromStep, state: x.state })),
  );

  const status = await s.client.syncStatus(exp.id);
  expectEqual(`${name}: sync status state`, state, status.state);
  expectEqual(`${name}: sync status lastStep`, lastVisibleStep(exp.facts), status.lastStep);
  expectEqual(`${name}: sync status config`, configOf(exp.facts), status.config);
  const keyLast: Record<string, number> = {};
  for (const [key, points] of visibleOf(exp.facts)) if (points.length > 0) keyLast[key] = points.at(-1)!.step;
  expectEqual(`${name}: sync status keyLastSteps`, keyLast, status.keyLastSteps);

  const visible = new Map<string, Point[]>();
  const all = new Map<string, Point[]>();
  for (const key of info.keys) {
    const toPoints = (series: MetricSeries) =>
      series.points.map((p) => ({
        step: p.step,
        value: decodeValue(p.value)!,
        superseded: p.superseded === true,
      }));
    visible.set(key, toPoints(await s.client.metrics(exp.id, key, { maxPoints: 1_000_000 })));
    const withSuperseded = toPoints(
      await s.client.metrics(exp.id, key, { maxPoints: 1_000_000, superseded: true }),
    );
    all.set(key, withSuperseded.sort(comparePoints));
  }
  expectEqual(`${name}: series`, pointsByKey(visibleOf(exp.facts), false), pointsByKey(visible, false));
  expectEqual(
    `${name}: series with superseded=1`,
    pointsByKey(seriesOf(exp.facts), true),
    pointsByKey(all, true),
  );
}
