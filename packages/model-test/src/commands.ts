// The user operations of the model test, one fast-check command each. Every command changes the
// real system and the model the same way, then `checkSystem` compares everything a user can read.

import { syncRunDir } from '@swanlog/client';
import { copyRun, RunReader } from '@swanlog/store';
import type fc from 'fast-check';
import { init, type Run } from 'swanlog';
import { checkSystem, ModelMismatch } from './check-system.js';
import {
  cloneHoldings,
  configOf,
  durableFacts,
  type ExperimentModel,
  emptyHoldings,
  freshId,
  type Json,
  type LocalRunModel,
  lastVisibleStep,
  type Model,
  runStateOf,
  type SessionFact,
  sharesLineage,
  tick,
  unionInto,
  type WriterModel,
} from './model.js';
import type { RealSystem } from './system.js';

export type Proc = WriterModel['proc'];
const MAX_RUNS = 6;
const MAX_WRITERS = 3;

abstract class ModelCommand implements fc.AsyncCommand<Model, RealSystem> {
  abstract check(m: Readonly<Model>): boolean;
  protected abstract apply(m: Model, s: RealSystem): Promise<void>;
  abstract toString(): string;

  async run(m: Model, s: RealSystem): Promise<void> {
    // Real timestamps are milliseconds: a pause keeps every command's writes, session starts and
    // ends strictly after the previous command's, so the model's order is the system's clock order.
    await new Promise((r) => setTimeout(r, 3));
    const t0 = performance.now();
    await this.apply(m, s);
    const t1 = performance.now();
    m.commands += 1;
    await checkSystem(m, s, this.toString());
    if (process.env.SWANLOG_MODEL_TRACE === '1')
      process.stderr.write(
        `${(t1 - t0).toFixed(0)} ms + check ${(performance.now() - t1).toFixed(0)} ms: ${this}\n`,
      );
  }
}

function aliveWriter(
  m: Readonly<Model>,
  w: number,
  filter?: (x: WriterModel) => boolean,
): WriterModel | undefined {
  const list = m.writers.filter((x) => filter === undefined || filter(x));
  return list.length === 0 ? undefined : list[w % list.length];
}

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

function fail(what: string): never {
  throw new ModelMismatch(what);
}

interface OpenedWriter {
  id: string;
  dir: string;
  step: number;
}

/** Opens a writer with SDK init options, in this process or as a child. */
async function openWriter(
  s: RealSystem,
  label: string,
  proc: Proc,
  options: Record<string, unknown>,
): Promise<OpenedWriter> {
  if (proc === 'inproc') {
    const run = await init({ ...options, flushInterval: 3_600_000 });
    s.writers.set(label, { run });
    return { id: run.id, dir: run.dir!, step: run.step };
  }
  const child = s.spawnWriter(options, proc === 'child-zombie');
  const ready = await child.reply();
  if (ready.ready !== true)
    fail(`writer ${label} did not open: ${JSON.stringify(ready)}\n${child.stderrText}`);
  s.writers.set(label, { child });
  return { id: ready.id!, dir: ready.dir!, step: ready.step! };
}

function newSession(m: Model, resumed: boolean, fromStep: number | null): SessionFact {
  const order = tick(m);
  return {
    id: freshId(m),
    resumed,
    fromStep,
    startOrder: order,
    lastSignOrder: order,
    status: 'alive',
    endState: null,
    endOrder: null,
  };
}

function addRevision(m: Model, run: LocalRunModel, order: number, patch: Json | null): void {
  if (patch === null || Object.keys(patch).length === 0) return;
  const id = freshId(m);
  run.facts.revisions.set(id, { id, order, patch });
}

function addWriter(
  m: Model,
  label: string,
  run: LocalRunModel,
  session: SessionFact,
  proc: Proc,
  nextStep: number,
): WriterModel {
  const w: WriterModel = { label, run, session, proc, nextStep };
  m.writers.push(w);
  return w;
}

function checkStep(label: string, expected: number, got: number): void {
  if (expected !== got) fail(`writer ${label}: run.step is ${got}, the model expects ${expected}`);
}

// ---------------------------------------------------------------------------------------------

export class NewRunCommand extends ModelCommand {
  constructor(
    readonly proc: Proc,
    readonly named: boolean,
    readonly config: Json | null,
    /** Run-directory format of the new run: 2 (codec-2 chunks) or 1 (what older swanlogs read). */
    readonly format: 1 | 2 = 2,
  ) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.runs.length < MAX_RUNS && m.writers.length < MAX_WRITERS;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const label = `r${m.runs.length}`;
    const session = newSession(m, false, null);
    const options: Record<string, unknown> = { logdir: s.mainLogdir, project: 'model' };
    if (this.format !== 2) options.formatVersion = this.format;
    if (this.named) Object.assign(options, { id: `named-${freshId(m)}`, resume: 'allow' });
    if (this.config !== null) options.config = this.config;
    const writer = `w${freshId(m)}`;
    const opened = await openWriter(s, writer, this.proc, options);
    const format = readFormatVersion(opened.dir);
    if (format !== this.format)
      throw new ModelMismatch(`new run ${opened.id}: format version ${format}, asked for ${this.format}`);
    const run: LocalRunModel = {
      label,
      id: opened.id,
      dir: opened.dir,
      logdir: s.mainLogdir,
      copiedFrom: null,
      partial: false,
      seedLastStep: null,
      facts: emptyHoldings(),
      records: [],
      pendingSync: false,
    };
    run.facts.sessions.set(session.id, session);
    addRevision(m, run, session.startOrder, this.config);
    m.runs.push(run);
    const w = addWriter(m, writer, run, session, this.proc, 0);
    checkStep(w.label, 0, opened.step);
  }

  toString(): string {
    const cfg = this.config === null ? '' : ` config=${JSON.stringify(this.config)}`;
    const format = this.format === 2 ? '' : ', format 1';
    return `new run (${this.proc}${this.named ? ", id given, resume 'allow'" : ''}${cfg}${format})`;
  }
}

export class LogCommand extends ModelCommand {
  constructor(
    readonly writer: number,
    readonly n: number,
    readonly keys: readonly string[],
    readonly explicitStart: number | null,
  ) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.writers.length > 0;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const w = aliveWriter(m, this.writer)!;
    const real = s.writers.get(w.label)!;
    const calls: { data: Record<string, number>; step?: number }[] = [];
    const durable = real.child !== undefined;
    for (let i = 0; i < this.n; i++) {
      const order = tick(m);
      const step = this.explicitStart === null ? w.nextStep : this.explicitStart + i;
      const data: Record<string, number> = {};
      for (const key of this.keys) {
        const id = freshId(m);
        data[key] = id + 0.25;
        w.run.facts.writes.set(id, {
          id,
          key,
          step,
          value: id + 0.25,
          order,
          durable,
          session: w.session.id,
        });
      }
      calls.push(this.explicitStart === null ? { data } : { data, step });
      w.nextStep = step + 1;
      if (durable) w.session.lastSignOrder = order;
    }
    if (real.run !== undefined) {
      for (const c of calls) real.run.log(c.data, c.step);
      checkStep(w.label, w.nextStep, real.run.step);
    } else {
      const reply = await real.child!.send({ op: 'log', calls });
      if (reply.ok !== true) fail(`writer ${w.label} failed to log: ${JSON.stringify(reply)}`);
      checkStep(w.label, w.nextStep, reply.step!);
    }
  }

  toString(): string {
    const steps =
      this.explicitStart === null
        ? 'auto steps'
        : `steps ${this.explicitStart}..${this.explicitStart + this.n - 1}`;
    return `log ${this.n} × {${this.keys.join(', ')}} (${steps}) via writer #${this.writer}`;
  }
}

export class FlushCommand extends ModelCommand {
  constructor(readonly writer: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return aliveWriter(m, this.writer, (x) => x.proc === 'inproc') !== undefined;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const w = aliveWriter(m, this.writer, (x) => x.proc === 'inproc')!;
    s.writers.get(w.label)!.run!.flush();
    makeDurable(w);
  }

  toString(): string {
    return `flush in-process writer #${this.writer}`;
  }
}

function makeDurable(w: WriterModel): void {
  for (const f of w.run.facts.writes.values()) {
    if (f.session === w.session.id && !f.durable) {
      f.durable = true;
      if (f.order > w.session.lastSignOrder) w.session.lastSignOrder = f.order;
    }
  }
}

export class FinishCommand extends ModelCommand {
  constructor(readonly writer: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.writers.length > 0;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const w = aliveWriter(m, this.writer)!;
    const real = s.writers.get(w.label)!;
    if (real.run !== undefined) await real.run.finish();
    else {
      const reply = await real.child!.send({ op: 'finish' });
      if (reply.finished !== true) fail(`writer ${w.label} failed to finish: ${JSON.stringify(reply)}`);
      await real.child!.writerGone();
    }
    makeDurable(w);
    endWriter(m, s, w, 'ended', 'finished');
  }

  toString(): string {
    return `finish writer #${this.writer}`;
  }
}

function endWriter(
  m: Model,
  s: RealSystem,
  w: WriterModel,
  status: 'ended' | 'dead',
  endState: 'finished' | 'aborted' | null,
): void {
  w.session.status = status;
  if (status === 'ended') {
    w.session.endState = endState;
    w.session.endOrder = tick(m);
  }
  m.writers.splice(m.writers.indexOf(w), 1);
  s.writers.delete(w.label);
}

export class KillCommand extends ModelCommand {
  constructor(readonly writer: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return aliveWriter(m, this.writer, (x) => x.proc !== 'inproc') !== undefined;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const w = aliveWriter(m, this.writer, (x) => x.proc !== 'inproc')!;
    const child = s.writers.get(w.label)!.child!;
    process.kill(child.pid, 'SIGKILL');
    await child.writerGone();
    endWriter(m, s, w, 'dead', null);
  }

  toString(): string {
    return `SIGKILL child writer #${this.writer} (reaped, or a zombie if it runs under sleep)`;
  }
}

export class SigtermCommand extends ModelCommand {
  constructor(readonly writer: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return aliveWriter(m, this.writer, (x) => x.proc !== 'inproc') !== undefined;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const w = aliveWriter(m, this.writer, (x) => x.proc !== 'inproc')!;
    const child = s.writers.get(w.label)!.child!;
    process.kill(child.pid, 'SIGTERM');
    await child.writerGone();
    endWriter(m, s, w, 'ended', 'aborted');
  }

  toString(): string {
    return `SIGTERM child writer #${this.writer}`;
  }
}

export class ResumeCommand extends ModelCommand {
  constructor(
    readonly runIndex: number,
    readonly resume: 'must' | 'allow' | true,
    readonly rewindBy: number | null,
    readonly config: Json | null,
    readonly proc: Proc,
  ) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.runs.length > 0 && m.writers.length < MAX_WRITERS;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const run = pick(m.runs, this.runIndex)!;
    const last = lastVisibleStep(run.facts);
    const fromStep = this.rewindBy === null ? null : Math.max(0, (last ?? 0) - this.rewindBy);
    const session = newSession(m, true, fromStep);
    const options: Record<string, unknown> = {
      logdir: run.logdir,
      id: run.id,
      resume: this.resume,
      project: 'model',
    };
    if (fromStep !== null) options.fromStep = fromStep;
    if (this.config !== null) options.config = this.config;
    const label = `w${freshId(m)}`;
    const opened = await openWriter(s, label, this.proc, options);
    if (opened.dir !== run.dir) fail(`resume of ${run.label} opened ${opened.dir}, not ${run.dir}`);
    // The resuming writer records every dead open session as crashed, just before its own start
    // (docs/decisions.md "Dead sessions are settled on resume").
    for (const dead of run.facts.sessions.values()) {
      if (dead.status !== 'dead') continue;
      dead.status = 'ended';
      dead.endState = 'crashed';
      dead.endOrder = session.startOrder - 0.5;
    }
    run.facts.sessions.set(session.id, session);
    if (fromStep !== null) {
      const id = freshId(m);
      run.facts.rewinds.set(id, { id, step: fromStep, order: session.startOrder });
    }
    addRevision(m, run, session.startOrder, this.config);
    const floor = maxOrNull(last, run.seedLastStep);
    const next = fromStep !== null ? fromStep + 1 : floor === null ? 0 : floor + 1;
    const w = addWriter(m, label, run, session, this.proc, next);
    checkStep(w.label, next, opened.step);
  }

  toString(): string {
    const rewind = this.rewindBy === null ? '' : `, fromStep = last step - ${this.rewindBy}`;
    const cfg = this.config === null ? '' : `, config ${JSON.stringify(this.config)}`;
    return `resume run #${this.runIndex} (resume ${JSON.stringify(this.resume)}${rewind}${cfg}, ${this.proc})`;
  }
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

export class CopyCommand extends ModelCommand {
  constructor(readonly runIndex: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.runs.length > 0 && m.runs.length < MAX_RUNS;
  }

  protected async apply(m: Model, _s: RealSystem): Promise<void> {
    const original = pick(m.runs, this.runIndex)!;
    const made = copyRun(original.dir);
    if (made.copiedFrom !== original.id) fail(`copy of ${original.label} says copiedFrom ${made.copiedFrom}`);
    tick(m); // the copy happens after everything before it
    const facts = durableFacts(original.facts);
    // Sessions open at copy time end as crashed in the copy at their last sign of life (last
    // durable write or heartbeat), so the copy reads the state its original reads.
    for (const session of facts.sessions.values()) {
      if (session.status === 'ended') continue;
      session.status = 'ended';
      session.endState = 'crashed';
      session.endOrder = session.lastSignOrder;
    }
    m.runs.push({
      label: `r${m.runs.length}`,
      id: made.id,
      dir: made.dir,
      logdir: original.logdir,
      copiedFrom: original.id,
      partial: original.partial,
      seedLastStep: original.seedLastStep,
      facts,
      // A copy carries no sync records of the original (trust issue, defect 1).
      records: [],
      pendingSync: false,
    });
  }

  toString(): string {
    return `copy run #${this.runIndex}`;
  }
}

export type SyncKind = 'auto' | 'new' | { id: number };

interface AutoPlan {
  /** The experiment the model expects; undefined: a fresh one (id learnt from the answer). */
  experiment: ExperimentModel | undefined;
  requestedId: string | null;
  copiedFrom: string | null;
  /** For a server-side copy of a complete live upload: what the copy starts with. */
  base: ExperimentModel | undefined;
  purpose: 'sync' | 'live';
}

function planAuto(m: Model, run: LocalRunModel): AutoPlan {
  const byId = (id: string) => m.experiments.find((e) => e.id === id);
  const sync = run.records.find((r) => r.purpose === 'sync');
  if (sync !== undefined)
    return {
      experiment: byId(sync.experiment),
      requestedId: null,
      copiedFrom: null,
      base: undefined,
      purpose: 'sync',
    };
  const live = run.records.find((r) => r.purpose === 'live');
  if (live !== undefined && !live.complete)
    return {
      experiment: byId(live.experiment),
      requestedId: null,
      copiedFrom: null,
      base: undefined,
      purpose: 'live',
    };
  if (live !== undefined)
    return {
      experiment: undefined,
      requestedId: null,
      copiedFrom: live.experiment,
      base: byId(live.experiment),
      purpose: 'sync',
    };
  const free = byId(run.id) === undefined;
  return {
    experiment: undefined,
    requestedId: free ? run.id : null,
    copiedFrom: run.copiedFrom,
    base: undefined,
    purpose: 'sync',
  };
}

/** Applies a completed auto sync of `run` that answered `experimentId` to the model. */
function applyAutoSync(m: Model, run: LocalRunModel, experimentId: string, how: string): void {
  const plan = planAuto(m, run);
  let exp = plan.experiment;
  if (exp !== undefined) {
    if (experimentId !== exp.id)
      fail(
        `${how} of ${run.label} (${run.id}) went into experiment ${experimentId}; the model expects ${exp.id} (its own, from its sync record)`,
      );
  } else {
    const known = m.experiments.find((e) => e.id === experimentId);
    if (known !== undefined && !(run.pendingSync && known.uncertain))
      fail(
        `${how} of ${run.label} (${run.id}, never synced by itself) went into the existing experiment ${experimentId}; ` +
          `the model expects a new experiment${plan.requestedId === null ? '' : ` with id ${plan.requestedId}`}`,
      );
    if (plan.requestedId !== null && experimentId !== plan.requestedId)
      fail(
        `${how} of ${run.label} created experiment ${experimentId}; the model expects the run's id ${plan.requestedId}`,
      );
    exp = known ?? {
      id: experimentId,
      copiedFrom: plan.copiedFrom,
      facts: emptyHoldings(),
      uncertain: false,
    };
    if (known === undefined) {
      if (plan.base !== undefined) exp.facts = serverCopyOf(plan.base);
      m.experiments.push(exp);
    }
  }
  unionInto(exp.facts, durableFacts(run.facts));
  exp.uncertain = false;
  run.pendingSync = false;
  setRecord(run, {
    purpose: plan.purpose,
    experiment: exp.id,
    complete: runStateOf([...run.facts.sessions.values()]) !== 'running',
  });
}

/**
 * A server-side copy: the same facts; sessions still open on the server (alive at their last
 * upload) end as crashed at their last sign of life. Dead ones went up with their death time.
 */
function serverCopyOf(base: ExperimentModel): ExperimentModel['facts'] {
  const facts = cloneHoldings(base.facts);
  for (const session of facts.sessions.values()) {
    if (session.status !== 'alive') continue;
    session.status = 'ended';
    session.endState = 'crashed';
    session.endOrder = session.lastSignOrder;
  }
  return facts;
}

function setRecord(run: LocalRunModel, record: LocalRunModel['records'][number]): void {
  run.records = run.records.filter((r) => r.purpose !== record.purpose);
  run.records.push(record);
}

function certainExperiments(m: Readonly<Model>): ExperimentModel[] {
  return m.experiments.filter((e) => !e.uncertain);
}

export class SyncCommand extends ModelCommand {
  constructor(
    readonly runIndex: number,
    readonly target: SyncKind,
  ) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    if (m.runs.length === 0) return false;
    if (typeof this.target !== 'object') return true;
    const run = pick(m.runs, this.runIndex)!;
    const exp = pick(
      certainExperiments(m).filter((e) => !sharesLineage(e.facts, run.facts)),
      this.target.id,
    );
    return exp !== undefined;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const run = pick(m.runs, this.runIndex)!;
    if (this.target === 'auto') {
      const res = await syncRunDir({ dir: run.dir, client: s.client, target: { kind: 'auto' } });
      applyAutoSync(m, run, res.experimentId, `sync (action ${res.action})`);
      return;
    }
    if (this.target === 'new') {
      const res = await syncRunDir({ dir: run.dir, client: s.client, target: { kind: 'new' } });
      if (res.action !== 'copied')
        fail(`sync --new of ${run.label} answered action ${res.action}, not copied`);
      if (m.experiments.some((e) => e.id === res.experimentId))
        fail(`sync --new of ${run.label} went into the existing experiment ${res.experimentId}`);
      const exp: ExperimentModel = {
        id: res.experimentId,
        copiedFrom: run.id,
        facts: durableFacts(run.facts),
        uncertain: false,
      };
      m.experiments.push(exp);
      const complete = runStateOf([...run.facts.sessions.values()]) !== 'running';
      setRecord(run, { purpose: 'copy', experiment: exp.id, complete });
      return;
    }
    const exp = pick(
      certainExperiments(m).filter((e) => !sharesLineage(e.facts, run.facts)),
      this.target.id,
    )!;
    const res = await syncRunDir({ dir: run.dir, client: s.client, target: { kind: 'id', id: exp.id } });
    if (res.experimentId !== exp.id)
      fail(`sync --id ${exp.id} of ${run.label} went into ${res.experimentId}`);
    unionInto(exp.facts, durableFacts(run.facts));
  }

  toString(): string {
    const t =
      this.target === 'auto'
        ? ''
        : this.target === 'new'
          ? ' --new'
          : ` --id <experiment #${this.target.id}>`;
    return `sync${t} run #${this.runIndex}`;
  }
}

export class KilledSyncCommand extends ModelCommand {
  constructor(
    readonly runIndex: number,
    readonly delayMs: number,
  ) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.runs.length > 0;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const run = pick(m.runs, this.runIndex)!;
    const child = s.spawnCli(['sync', run.dir, '--json']);
    const first = await Promise.race([
      child.done,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), this.delayMs)),
    ]);
    if (first === undefined) child.proc.kill('SIGKILL');
    const { code, stdout } = await child.done;
    if (code === 0) {
      const entries = JSON.parse(stdout) as { experimentId?: string }[];
      const id = entries[0]?.experimentId;
      if (id === undefined) fail(`swanlog sync --json of ${run.label} printed ${stdout}`);
      applyAutoSync(m, run, id, 'swanlog sync (CLI)');
      return;
    }
    if (code !== null) fail(`swanlog sync of ${run.label} exited ${code}: ${stdout}`);
    run.pendingSync = true;
    const sync = run.records.find((r) => r.purpose === 'sync' || (r.purpose === 'live' && !r.complete));
    const exp = m.experiments.find((e) => e.id === sync?.experiment);
    if (exp !== undefined) exp.uncertain = true;
  }

  toString(): string {
    return `swanlog sync run #${this.runIndex}, SIGKILL after ${this.delayMs} ms`;
  }
}

export class CloudResumeCommand extends ModelCommand {
  constructor(
    readonly experiment: number,
    readonly n: number,
  ) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return certainExperiments(m).length > 0 && m.runs.length < MAX_RUNS;
  }

  protected async apply(m: Model, s: RealSystem): Promise<void> {
    const exp = pick(certainExperiments(m), this.experiment)!;
    const logdir = s.newLogdir();
    m.logdirs.push(logdir);
    const seedLastStep = lastVisibleStep(exp.facts);
    const seedConfig = configOf(exp.facts);
    const session = newSession(m, true, null);
    const handle: Run = await init({
      mode: 'cloud',
      id: exp.id,
      resume: 'must',
      logdir,
      host: s.url,
      apiKey: s.key,
      project: 'model',
      flushInterval: 3_600_000,
      finishTimeout: 20_000,
    });
    const run: LocalRunModel = {
      label: `r${m.runs.length}`,
      id: handle.id,
      dir: handle.dir!,
      logdir,
      copiedFrom: null,
      partial: true,
      seedLastStep,
      facts: emptyHoldings(),
      records: [{ purpose: 'live', experiment: exp.id, complete: true }],
      pendingSync: false,
    };
    m.runs.push(run);
    run.facts.sessions.set(session.id, session);
    addRevision(m, run, session.startOrder - 0.5, seedConfig);
    let next = seedLastStep === null ? 0 : seedLastStep + 1;
    checkStep(`cloud ${run.label}`, next, handle.step);
    for (let i = 0; i < this.n; i++) {
      const order = tick(m);
      const id = freshId(m);
      handle.log({ loss: id + 0.25 });
      run.facts.writes.set(id, {
        id,
        key: 'loss',
        step: next,
        value: id + 0.25,
        order,
        durable: true,
        session: session.id,
      });
      next += 1;
    }
    await handle.finish();
    session.status = 'ended';
    session.endState = 'finished';
    session.endOrder = tick(m);
    session.lastSignOrder = session.endOrder;
    unionInto(exp.facts, run.facts);
  }

  toString(): string {
    return `cloud-mode resume of experiment #${this.experiment} in a fresh logdir, log ${this.n} steps, finish`;
  }
}

export class RestartServerCommand extends ModelCommand {
  constructor(readonly samePort: boolean) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.experiments.length > 0;
  }

  protected async apply(_m: Model, s: RealSystem): Promise<void> {
    await s.restart(this.samePort);
  }

  toString(): string {
    return `restart the server (${this.samePort ? 'same port' : 'new port'})`;
  }
}

/** The format version of the run at `dir`. */
function readFormatVersion(dir: string): number {
  const reader = RunReader.open(dir);
  try {
    return reader.formatVersion;
  } finally {
    reader.close();
  }
}
