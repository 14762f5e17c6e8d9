// Reading runs back: the local series (superseded points included) and the server's, as sorted
// row strings so two sides compare exactly, and the multiset difference as lost / duplicated.
import type { SwanlogClient } from '@swanlog/client';
import { encodeValue } from '@swanlog/protocol';
import { RunReader } from '@swanlog/store';

export type SeriesMap = Record<string, string[]>;

/** Every key of a local run, each series as sorted `step|value|ts|superseded` rows. */
export function localSeries(dir: string): SeriesMap {
  const reader = RunReader.open(dir);
  try {
    const out: SeriesMap = {};
    for (const key of reader.keys()) {
      const s = reader.series(key, { superseded: true });
      const rows: string[] = [];
      for (let i = 0; i < s.steps.length; i++) {
        rows.push(
          `${s.steps[i]}|${JSON.stringify(encodeValue(s.values[i]!))}|${s.ts[i]}|${s.superseded?.[i] === 1 ? 1 : 0}`,
        );
      }
      out[key] = rows.sort();
    }
    return out;
  } finally {
    reader.close();
  }
}

/** The same for an experiment on the server. */
export async function serverSeries(client: SwanlogClient, experimentId: string): Promise<SeriesMap> {
  const exp = await client.getExperiment(experimentId);
  const out: SeriesMap = {};
  for (const key of exp.keys) {
    const m = await client.metrics(experimentId, key, { maxPoints: 1_000_000, superseded: true });
    if (m.downsampled) throw new Error(`server downsampled ${key}`);
    out[key] = m.points
      .map((p) => `${p.step}|${JSON.stringify(p.value)}|${p.ts}|${p.superseded ? 1 : 0}`)
      .sort();
  }
  return out;
}

export function pointCount(s: SeriesMap): number {
  return Object.values(s).reduce((n, rows) => n + rows.length, 0);
}

/**
 * `lost`: rows of `expected` missing from `actual`; `extra`: rows of `actual` beyond `expected`
 * (a duplicate, or a wrong value). Compared as multisets per key.
 */
export function diffSeries(
  expected: SeriesMap,
  actual: SeriesMap,
): { lost: number; extra: number; first?: string } {
  let lost = 0;
  let extra = 0;
  let first: string | undefined;
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const counts = new Map<string, number>();
    for (const r of expected[key] ?? []) counts.set(r, (counts.get(r) ?? 0) + 1);
    for (const r of actual[key] ?? []) {
      const c = counts.get(r) ?? 0;
      if (c > 0) counts.set(r, c - 1);
      else {
        extra++;
        first ??= `extra ${JSON.stringify(key)} ${r}`;
      }
    }
    for (const [r, c] of counts) {
      if (c > 0) {
        lost += c;
        first ??= `missing ${JSON.stringify(key)} ${r}`;
      }
    }
  }
  return first === undefined ? { lost, extra } : { lost, extra, first };
}

/** Visible points of every key: step → value, and how many (key, step) pairs appear twice. */
export function visiblePoints(dir: string): { points: Map<string, Map<number, number>>; duplicated: number } {
  const reader = RunReader.open(dir);
  try {
    const points = new Map<string, Map<number, number>>();
    let duplicated = 0;
    for (const key of reader.keys()) {
      const s = reader.series(key);
      const m = new Map<number, number>();
      for (let i = 0; i < s.steps.length; i++) {
        if (m.has(s.steps[i]!)) duplicated++;
        m.set(s.steps[i]!, s.values[i]!);
      }
      points.set(key, m);
    }
    return { points, duplicated };
  } finally {
    reader.close();
  }
}
