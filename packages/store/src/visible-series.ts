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
