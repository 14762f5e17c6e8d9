/**
 * The one visible-series rule (DESIGN.md "Logging semantics"): each (key, step) shows its latest
 * write by hybrid logical clock (ts, source, seq); a rewind to N supersedes every earlier write
 * with step > N. Earlier writes are kept and reported as superseded, never deleted.
 */
export interface Hlc {
  ts: number;
  /** Rank of the writer's source id in sorted order, so ranks compare as the ids do. */
  rank: number;
  seq: number;
}

export interface Rewind extends Hlc {
  step: number;
}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.ts - b.ts || a.rank - b.rank || a.seq - b.seq;
}

/**
 * Rewinds sorted by clock, with for each position the smallest rewind step at or after it, so the
 * strictest rewind that applies to a write is found by one binary search.
 */
export class RewindIndex {
  private readonly sorted: Rewind[];
  private readonly suffixMin: Float64Array;

  constructor(rewinds: Rewind[]) {
    this.sorted = [...rewinds].sort(compareHlc);
    this.suffixMin = new Float64Array(this.sorted.length + 1);
    this.suffixMin[this.sorted.length] = Number.POSITIVE_INFINITY;
    for (let i = this.sorted.length - 1; i >= 0; i--) {
      this.suffixMin[i] = Math.min(this.sorted[i]!.step, this.suffixMin[i + 1]!);
    }
  }

  get size(): number {
    return this.sorted.length;
  }

  /** The lowest step that a write at `hlc` may have and stay visible: +Infinity when no rewind follows it. */
  limitAfter(ts: number, rank: number, seq: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.sorted[mid]!;
      const after = r.ts - ts || r.rank - rank || r.seq - seq;
      if (after > 0) hi = mid;
      else lo = mid + 1;
    }
    return this.suffixMin[lo]!;
  }
}

/** Points of one key from every writer, in any order. */
export interface RawPoints {
  steps: Float64Array;
  values: Float64Array;
  ts: Float64Array;
  seqs: Float64Array;
  ranks: Float64Array;
  length: number;
}

/** Points of one key in step order; with superseded points when asked. */
export interface Series {
  key: string;
  steps: Float64Array;
  values: Float64Array;
  ts: Float64Array;
  /** Present when superseded points were asked for: 1 marks a superseded point. */
  superseded?: Uint8Array;
}

/** The decoded points of one chunk (or any run of points) of one writer, with that writer's rank. */
export interface RankedPoints {
  rank: number;
  steps: Float64Array;
  values: Float64Array;
  ts: Float64Array;
  seqs: Float64Array;
}

/**
 * The visible series of `key` from every writer's points and every rewind of the run: the one
 * function the local store and the server both use.
 */
export function buildSeries(
  key: string,
  parts: RankedPoints[],
  rewinds: Rewind[],
  superseded = false,
): Series {
  const ordered = rewinds.length === 0 ? concatIfIncreasing(key, parts, superseded) : undefined;
  if (ordered !== undefined) return ordered;
  const raw = concatParts(parts);
  const { order, visible } = resolveVisible(raw, new RewindIndex(rewinds));
  let count = 0;
  for (let i = 0; i < raw.length; i++) if (superseded || visible[i] === 1) count++;
  const out: Series = {
    key,
    steps: new Float64Array(count),
    values: new Float64Array(count),
    ts: new Float64Array(count),
  };
  const marks = superseded ? new Uint8Array(count) : undefined;
  let j = 0;
  for (let i = 0; i < raw.length; i++) {
    const at = order[i]!;
    if (!superseded && visible[at] !== 1) continue;
    out.steps[j] = raw.steps[at]!;
    out.values[j] = raw.values[at]!;
    out.ts[j] = raw.ts[at]!;
    if (marks) marks[j] = visible[at] === 1 ? 0 : 1;
    j++;
  }
  if (marks) out.superseded = marks;
  return out;
}

/**
 * The common case, without sorting or clock comparisons: no rewinds, and the parts laid end to end
 * by first step have strictly increasing steps. Every (key, step) was then written once, so every
 * point is visible and the series is the concatenation. Else undefined.
 */
function concatIfIncreasing(key: string, parts: RankedPoints[], superseded: boolean): Series | undefined {
  const sorted = parts.filter((p) => p.steps.length > 0).sort((a, b) => a.steps[0]! - b.steps[0]!);
  let total = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const p of sorted) {
    for (let i = 0; i < p.steps.length; i++) {
      if (!(p.steps[i]! > last)) return undefined;
      last = p.steps[i]!;
    }
    total += p.steps.length;
  }
  const out: Series = {
    key,
    steps: new Float64Array(total),
    values: new Float64Array(total),
    ts: new Float64Array(total),
  };
  let at = 0;
  for (const p of sorted) {
    out.steps.set(p.steps, at);
    out.values.set(p.values, at);
    out.ts.set(p.ts, at);
    at += p.steps.length;
  }
  if (superseded) out.superseded = new Uint8Array(total);
  return out;
}

/** How many of the points that `counted(rank, seq)` selects are superseded. */
export function countSuperseded(
  parts: RankedPoints[],
  rewinds: Rewind[],
  counted: (rank: number, seq: number) => boolean,
): number {
  const raw = concatParts(parts);
  const { visible } = resolveVisible(raw, new RewindIndex(rewinds));
  let n = 0;
  for (let i = 0; i < raw.length; i++) if (visible[i] !== 1 && counted(raw.ranks[i]!, raw.seqs[i]!)) n++;
  return n;
}

/** A chunk's summary, enough to answer "last visible step" without decoding it. */
export interface ChunkSummary {
  rank: number;
  stepMax: number;
  tsMin: number;
  seqMin: number;
  /** Decodes the chunk when its summary cannot answer alone (it straddles a rewind). */
  decode: () => { steps: Float64Array; ts: Float64Array; seqs: Float64Array };
}

/** The largest step of any write no rewind hides, decoding only chunks that straddle a rewind. */
export function lastVisibleStepOf(chunks: ChunkSummary[], rewinds: Rewind[]): number | null {
  const index = new RewindIndex(rewinds);
  const sorted = [...chunks].sort((a, b) => b.stepMax - a.stepMax);
  let best: number | null = null;
  for (const c of sorted) {
    if (best !== null && c.stepMax <= best) break;
    if (c.stepMax <= index.limitAfter(c.tsMin, c.rank, c.seqMin))
      return Math.max(best ?? c.stepMax, c.stepMax);
    const p = c.decode();
    for (let i = 0; i < p.steps.length; i++) {
      const s = p.steps[i]!;
      if ((best === null || s > best) && s <= index.limitAfter(p.ts[i]!, c.rank, p.seqs[i]!)) best = s;
    }
  }
  return best;
}

function concatParts(parts: RankedPoints[]): RawPoints {
  let length = 0;
  for (const p of parts) length += p.steps.length;
  const raw: RawPoints = {
    steps: new Float64Array(length),
    values: new Float64Array(length),
    ts: new Float64Array(length),
    seqs: new Float64Array(length),
    ranks: new Float64Array(length),
    length,
  };
  let at = 0;
  for (const p of parts) {
    raw.steps.set(p.steps, at);
    raw.values.set(p.values, at);
    raw.ts.set(p.ts, at);
    raw.seqs.set(p.seqs, at);
    raw.ranks.fill(p.rank, at, at + p.steps.length);
    at += p.steps.length;
  }
  return raw;
}

export interface ResolvedSeries {
  /** Indices into the raw points in (step, clock) order. */
  order: Uint32Array;
  /** 1 where the point at that raw index is the visible one of its step. */
  visible: Uint8Array;
}

export function resolveVisible(points: RawPoints, rewinds: RewindIndex): ResolvedSeries {
  const { steps, ts, seqs, ranks, length } = points;
  const order = sortedOrder(points);
  const visible = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const at = order[i]!;
    const next = i + 1 < length ? order[i + 1]! : -1;
    if (next !== -1 && steps[next] === steps[at]) continue; // a later write of this step exists
    if (rewinds.size === 0 || steps[at]! <= rewinds.limitAfter(ts[at]!, ranks[at]!, seqs[at]!))
      visible[at] = 1;
  }
  return { order, visible };
}

function sortedOrder(points: RawPoints): Uint32Array {
  const { steps, ts, seqs, ranks, length } = points;
  const order = new Uint32Array(length);
  let sorted = true;
  for (let i = 0; i < length; i++) {
    order[i] = i;
    if (i > 0 && sorted) {
      const d =
        steps[i]! - steps[i - 1]! ||
        ts[i]! - ts[i - 1]! ||
        ranks[i]! - ranks[i - 1]! ||
        seqs[i]! - seqs[i - 1]!;
      if (d < 0) sorted = false;
    }
  }
  if (!sorted)
    order.sort(
      (a, b) => steps[a]! - steps[b]! || ts[a]! - ts[b]! || ranks[a]! - ranks[b]! || seqs[a]! - seqs[b]!,
    );
  return order;
}
