// The reference model: what a user should see of each local run and each server experiment,
// derived from plain facts (every write with its place in time, every rewind, every session)
// by the rules of docs/format.md ("Clock and the visible series") and the trust issue's run-state
// rule. It never reads the system under test except for identifiers the system makes up (run ids,
// directories, server ids of fresh experiments).

export type Json = { [key: string]: unknown };
export type RunState = 'running' | 'finished' | 'crashed' | 'aborted';

/** One key's value at one step, as one log() call wrote it. Copies share the fact (same write). */
export interface WriteFact {
  id: number;
  key: string;
  step: number;
  value: number;
  /** Place in time (the model's clock; the harness keeps real timestamps in the same order). */
  order: number;
  /** Committed to disk (an in-process writer buffers until flush). */
  durable: boolean;
  /** The session that wrote it. */
  session: number;
}

export interface RewindFact {
  id: number;
  step: number;
  order: number;
}

export type SessionStatus = 'alive' | 'dead' | 'ended';

export interface SessionFact {
  id: number;
  resumed: boolean;
  fromStep: number | null;
  startOrder: number;
  /** Last durable write or heartbeat: a dead session's death time. */
  lastSignOrder: number;
  status: SessionStatus;
  endState: 'finished' | 'aborted' | 'crashed' | null;
  endOrder: number | null;
}

export interface RevisionFact {
  id: number;
  order: number;
  patch: Json;
}

/** What a run directory or an experiment holds; the same shape for both sides. */
export interface Holdings {
  writes: Map<number, WriteFact>;
  rewinds: Map<number, RewindFact>;
  sessions: Map<number, SessionFact>;
  revisions: Map<number, RevisionFact>;
}

export interface SyncRecordFact {
  purpose: 'sync' | 'live' | 'copy';
  experiment: string;
  complete: boolean;
}

export interface LocalRunModel {
  /** Label used in printed sequences: r0, r1, ... */
  label: string;
  id: string;
  dir: string;
  logdir: string;
  copiedFrom: string | null;
  partial: boolean;
  seedLastStep: number | null;
  facts: Holdings;
  records: SyncRecordFact[];
  /** A sync of this run was killed: its experiment and record are unknown until the next sync completes. */
  pendingSync: boolean;
}

export interface ExperimentModel {
  id: string;
  copiedFrom: string | null;
  /** The local run whose own sync record names this experiment (null for --new copies and server copies). */
  facts: Holdings;
  /** Holdings are unknown (a sync into it was killed). */
  uncertain: boolean;
}

export interface WriterModel {
  label: string;
  run: LocalRunModel;
  session: SessionFact;
  proc: 'inproc' | 'child' | 'child-zombie';
  nextStep: number;
}

export interface Model {
  clock: number;
  nextId: number;
  runs: LocalRunModel[];
  experiments: ExperimentModel[];
  writers: WriterModel[];
  logdirs: string[];
  /** Commands run so far (for the soak's counts). */
  commands: number;
}

export function emptyHoldings(): Holdings {
  return { writes: new Map(), rewinds: new Map(), sessions: new Map(), revisions: new Map() };
}

export function cloneHoldings(h: Holdings): Holdings {
  return {
    writes: new Map(h.writes),
    rewinds: new Map(h.rewinds),
    sessions: new Map([...h.sessions].map(([k, s]) => [k, { ...s }])),
    revisions: new Map(h.revisions),
  };
}

/** The next place in time. */
export function tick(m: Model): number {
  m.clock += 1;
  return m.clock;
}

export function freshId(m: Model): number {
  m.nextId += 1;
  return m.nextId;
}

export interface Point {
  step: number;
  value: number;
  superseded: boolean;
}

/**
 * Per key, every durable point in step order, marked superseded or not: for each step the
 * latest write is visible unless a later rewind to a lower step hides it (docs/format.md).
 */
export function seriesOf(h: Holdings): Map<string, Point[]> {
  const rewinds = [...h.rewinds.values()];
  const hidden = (w: WriteFact) => rewinds.some((r) => r.order > w.order && w.step > r.step);
  const latest = new Map<string, WriteFact>();
  for (const w of h.writes.values()) {
    if (!w.durable) continue;
    const k = `${w.key}\u0000${w.step}`;
    const cur = latest.get(k);
    if (cur === undefined || w.order > cur.order) latest.set(k, w);
  }
  const out = new Map<string, Point[]>();
  for (const w of h.writes.values()) {
    if (!w.durable) continue;
    const visible = latest.get(`${w.key}\u0000${w.step}`) === w && !hidden(w);
    let list = out.get(w.key);
    if (list === undefined) out.set(w.key, (list = []));
    list.push({ step: w.step, value: w.value, superseded: !visible });
  }
  for (const list of out.values()) list.sort(comparePoints);
  return out;
}

export function comparePoints(a: Point, b: Point): number {
  return a.step - b.step || Number(b.superseded) - Number(a.superseded) || a.value - b.value;
}

export function visibleOf(h: Holdings): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const [key, points] of seriesOf(h)) {
    out.set(
      key,
      points.filter((p) => !p.superseded),
    );
  }
  return out;
}

/** The last visible step over every key (null when nothing is visible). */
export function lastVisibleStep(h: Holdings): number | null {
  let last: number | null = null;
  for (const points of visibleOf(h).values())
    for (const p of points) if (last === null || p.step > last) last = p.step;
  return last;
}

/** Objects merge key by key, other values replace, null removes (docs/format.md "Config"). */
export function mergeConfig(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (value === null) delete out[key];
    else if (isObj(value)) out[key] = mergeConfig(isObj(out[key]) ? out[key] : {}, value);
    else out[key] = value;
  }
  return out;
}

export function configOf(h: Holdings): Json {
  return [...h.revisions.values()]
    .sort((a, b) => a.order - b.order)
    .reduce<Json>((acc, r) => mergeConfig(acc, r.patch), {});
}

export function sessionStateOf(s: SessionFact): RunState {
  if (s.status === 'alive') return 'running';
  if (s.status === 'dead') return 'crashed';
  return s.endState ?? 'crashed';
}

/**
 * The trust issue's run-state rule. A dead session (no end and the writer gone, or an end
 * recorded as crashed) died at its last sign (or its recorded end); it makes the run crashed
 * unless a session started after that; otherwise the session that ended (or died) last decides.
 */
export function runStateOf(sessions: SessionFact[]): RunState {
  if (sessions.length === 0) return 'running';
  if (sessions.some((s) => s.status === 'alive')) return 'running';
  const endOf = (s: SessionFact) => (s.status === 'dead' ? s.lastSignOrder : (s.endOrder ?? 0));
  const isDead = (s: SessionFact) => s.status === 'dead' || s.endState === 'crashed';
  for (const d of sessions.filter(isDead)) {
    if (!sessions.some((s) => s.startOrder > endOf(d))) return 'crashed';
  }
  let last = sessions[0]!;
  for (const s of sessions) if (endOf(s) > endOf(last)) last = s;
  return sessionStateOf(last);
}

export function keysOf(h: Holdings): string[] {
  const keys = new Set<string>();
  for (const w of h.writes.values()) if (w.durable) keys.add(w.key);
  return [...keys].sort();
}

/** Sessions in start order. */
export function sessionsOf(h: Holdings): SessionFact[] {
  return [...h.sessions.values()].sort((a, b) => a.startOrder - b.startOrder);
}

/** What a sync uploads of a run: its durable facts (sessions as they are now). */
export function durableFacts(h: Holdings): Holdings {
  const out = cloneHoldings(h);
  for (const [id, w] of out.writes) if (!w.durable) out.writes.delete(id);
  return out;
}

/** Adds `from` into `into` by identity; session records of `from` are newer. */
export function unionInto(into: Holdings, from: Holdings): void {
  for (const [id, w] of from.writes) into.writes.set(id, w);
  for (const [id, r] of from.rewinds) into.rewinds.set(id, r);
  for (const [id, s] of from.sessions) into.sessions.set(id, { ...s });
  for (const [id, r] of from.revisions) into.revisions.set(id, r);
}

export function sharesLineage(a: Holdings, b: Holdings): boolean {
  for (const id of a.sessions.keys()) if (b.sessions.has(id)) return true;
  for (const id of a.revisions.keys()) if (b.revisions.has(id)) return true;
  return false;
}
