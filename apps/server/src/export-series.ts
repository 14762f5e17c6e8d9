import { encodeValue, type MetricPoint, SwanlogError } from '@swanlog/protocol';
import type { Series } from '@swanlog/store';
import { metricNotFound, metricSeries } from './metric-series.js';
import { firstAtOrAbove } from './series-response.js';
import type { ExperimentRef, Storage } from './storage/storage.js';

/** Points per piece of an export: the memory an export holds at once, whatever the series' length. */
const PIECE_POINTS = 100_000;

export type ExportFormat = 'csv' | 'json';

export function exportFormatOf(value: string | undefined): ExportFormat {
  if (value === undefined || value === 'csv') return 'csv';
  if (value === 'json') return 'json';
  throw new SwanlogError('BAD_REQUEST', `format ${JSON.stringify(value)} is not csv or json`, {
    hint: 'pass ?format=csv (default) or ?format=json',
  });
}

/**
 * The visible points of `key` in [from, to] at full resolution, in step order, a piece at a time:
 * each piece is a step window read by the one visible-series rule (`metricSeries`), sized from the
 * chunk summaries to hold about PIECE_POINTS points (halved when it held more).
 */
export async function* storedSeriesPieces(
  storage: Storage,
  ref: ExperimentRef,
  key: string,
  range: { from?: number; to?: number },
): AsyncGenerator<MetricPoint[]> {
  const summaries = await storage.chunkSummaries(ref, key);
  if (summaries.length === 0) throw metricNotFound(`experiment ${ref.id}`, ref.id, key);
  let lowest = Number.POSITIVE_INFINITY;
  let highest = Number.NEGATIVE_INFINITY;
  let total = 0;
  for (const c of summaries) {
    lowest = Math.min(lowest, c.stepMin);
    highest = Math.max(highest, c.stepMax);
    total += c.n;
  }
  let at = Math.max(range.from ?? 0, lowest);
  const end = Math.min(range.to ?? Number.MAX_SAFE_INTEGER, highest);
  let width = Math.max(1, Math.floor(((highest - lowest + 1) * PIECE_POINTS) / Math.max(1, total)));
  while (at <= end) {
    const to = Math.min(end, at + width - 1);
    const piece = await metricSeries(storage, ref, key, { from: at, to, maxPoints: PIECE_POINTS * 4 });
    if (piece.downsampled) {
      width = Math.max(1, Math.floor(width / 4));
      continue;
    }
    if (piece.points.length > 0) yield piece.points;
    at = to + 1;
  }
}

/** The same for a local run's series (`swanlog watch`), already in memory. */
export function* localSeriesPieces(
  series: Series,
  range: { from?: number; to?: number },
): Generator<MetricPoint[]> {
  const lo = firstAtOrAbove(series.steps, range.from ?? 0);
  const hi = firstAtOrAbove(series.steps, (range.to ?? Number.MAX_SAFE_INTEGER) + 1);
  for (let a = lo; a < hi; a += PIECE_POINTS) {
    const piece: MetricPoint[] = [];
    for (let i = a; i < Math.min(hi, a + PIECE_POINTS); i++) {
      if (series.superseded?.[i] === 1) continue;
      piece.push({ step: series.steps[i]!, value: encodeValue(series.values[i]!), ts: series.ts[i]! });
    }
    yield piece;
  }
}

/**
 * A streamed download of a series: CSV `step,value,ts` (ts in ms since the epoch; NaN and
 * ±Infinity as those words) or JSON `{"key", "points": [{step, value, ts}, ...]}`, named
 * `<run>-<key>.<format>` for the browser.
 */
export async function exportResponse(
  pieces: AsyncIterable<MetricPoint[]> | Iterable<MetricPoint[]>,
  options: { id: string; key: string; format: ExportFormat },
): Promise<Response> {
  const encoder = new TextEncoder();
  const iterator =
    Symbol.asyncIterator in pieces
      ? (pieces as AsyncIterable<MetricPoint[]>)[Symbol.asyncIterator]()
      : (pieces as Iterable<MetricPoint[]>)[Symbol.iterator]();
  // The first piece is read before answering, so a missing key is a 404, not a cut-off download.
  let pending: IteratorResult<MetricPoint[]> | undefined = await iterator.next();
  let first = true;
  let done = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return;
      try {
        const head =
          first && options.format === 'csv'
            ? 'step,value,ts\n'
            : first
              ? `{"key":${JSON.stringify(options.key)},"points":[`
              : '';
        const next = pending ?? (await iterator.next());
        pending = undefined;
        let body = head;
        if (next.done === true) {
          done = true;
          if (options.format === 'json') body += ']}\n';
          controller.enqueue(encoder.encode(body));
          controller.close();
          return;
        }
        for (const p of next.value) {
          if (options.format === 'csv') body += `${p.step},${p.value},${p.ts}\n`;
          else {
            body += `${first ? '' : ','}${JSON.stringify({ step: p.step, value: p.value, ts: p.ts })}`;
            first = false;
          }
        }
        first = false;
        controller.enqueue(encoder.encode(body));
      } catch (error) {
        controller.error(error);
      }
    },
  });
  const name = `${options.id}-${options.key.replace(/[^A-Za-z0-9_.-]+/g, '_')}.${options.format}`;
  return new Response(stream, {
    headers: {
      'content-type': options.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
  });
}
