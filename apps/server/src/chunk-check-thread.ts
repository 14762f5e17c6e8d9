import type { Worker } from 'node:worker_threads';
import { startBackgroundThread } from './background-thread.js';
import type { BatchChunkEntry, CheckedChunk } from './parse-batch.js';

/** What the chunk-checking thread is sent for one batch. */
export interface CheckRequest {
  id: number;
  /** The chunks' bytes, shared (handing over a transferred buffer of a few MB took ~1.7 ms). */
  bytes: SharedArrayBuffer;
  /** Per chunk: offset in `bytes`, length, points, fromSeq, toSeq. */
  table: Float64Array;
  /**
   * Int32 [next, stop, state]: the next chunk nobody has taken; nonzero once a fault was found;
   * ThreadState (the thread starts on the batch only if the caller has not called it off).
   */
  control: SharedArrayBuffer;
}

/** Float64s per chunk in CheckRequest.table. */
export const TABLE_FIELDS = 5;
/** Float64s per chunk in CheckAnswer.columns: n, stepMin, stepMax, tsMin, tsMax, seqMin, seqMax. */
export const COLUMN_FIELDS = 7;
/** Int32 slots of CheckRequest.control. */
export const Control = { Next: 0, Stop: 1, State: 2 } as const;
/** CheckRequest.control[State]: whoever moves it from Waiting first decides. */
export const ThreadState = { Waiting: 0, Started: 1, CalledOff: 2 } as const;

/** Its answer: the chunks it took and found sound (`done`, batch indices), with their facts. */
export interface CheckAnswer {
  id: number;
  done: Uint32Array;
  columns: Float64Array;
  /** Every done chunk's block summaries, one after another; the j-th one's end at `blockEnds[j]`. */
  blocks: Float64Array;
  blockEnds: Uint32Array;
  /**
   * The points of the done chunks small enough to be appended to (CheckedChunk.points), one after
   * another in four columns (four buffers handed over, however many chunks: 100,000 one-point
   * chunks as 400,000 buffers took seconds); the j-th done chunk's end at `pointEnds[j]`.
   */
  small: { steps: Float64Array; values: Float64Array; ts: Float64Array; seqs: Float64Array };
  pointEnds: Uint32Array;
}

/** One batch's chunks, shared out between the calling thread and the chunk-checking thread. */
export interface SharedChecks {
  /** The index of the next chunk nobody has taken (the chunk count once all are taken). */
  take(): number;
  /** Tells the thread to take no more (a fault was found). */
  stop(): void;
  /**
   * Calls the thread off if it has not started on this batch (busy with another one): then it
   * takes nothing, and `theirs` need not be awaited. Whether it was called off.
   */
  callOff(): boolean;
  /** The chunks the thread checked and found sound, by batch index; rejects if the thread fails. */
  theirs: Promise<Map<number, CheckedChunk>>;
}

/**
 * A thread that checks received chunks as parseIngestBatch does (checkReceivedChunk), so a large
 * batch is checked on two cores at once. Started by the first use; it keeps the process alive only
 * while it has work. A thread that fails is not used again: the main thread does its work.
 */
export class ChunkCheckThread {
  private worker: Worker | undefined;
  private failed = false;
  private nextId = 0;
  /** Chunks the thread has checked and found sound, since it started. */
  checkedThere = 0;
  private readonly waiting = new Map<
    number,
    {
      entries: BatchChunkEntry[];
      resolve: (c: Map<number, CheckedChunk>) => void;
      reject: (e: Error) => void;
    }
  >();

  constructor(private readonly url: URL) {}

  usable(): boolean {
    return !this.failed;
  }

  /** Starts the thread, so the first large batch does not wait for it to start. */
  start(): void {
    if (!this.failed) this.thread();
  }

  share(entries: BatchChunkEntry[]): SharedChecks {
    const worker = this.thread();
    const control = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    const counters = new Int32Array(control);
    const table = new Float64Array(entries.length * TABLE_FIELDS);
    // Chunks in shared memory (a body readBody joined with `shared`) are read where they are;
    // others are copied into shared memory first.
    const first = entries[0]!.blob.buffer;
    const inPlace = first instanceof SharedArrayBuffer && entries.every((e) => e.blob.buffer === first);
    let bytes: SharedArrayBuffer;
    if (inPlace) bytes = first;
    else {
      let total = 0;
      for (const e of entries) total += e.blob.byteLength;
      bytes = new SharedArrayBuffer(total);
    }
    const view = new Uint8Array(bytes);
    let offset = 0;
    for (let i = 0; i < entries.length; i++) {
      const { blob, n, fromSeq, toSeq } = entries[i]!;
      if (inPlace) offset = blob.byteOffset;
      else view.set(blob, offset);
      const t = i * TABLE_FIELDS;
      table[t] = offset;
      table[t + 1] = blob.byteLength;
      table[t + 2] = n;
      table[t + 3] = fromSeq;
      table[t + 4] = toSeq;
      if (!inPlace) offset += blob.byteLength;
    }
    const id = this.nextId++;
    const theirs = new Promise<Map<number, CheckedChunk>>((resolve, reject) => {
      this.waiting.set(id, { entries, resolve, reject });
      if (this.waiting.size === 1) worker.ref();
      const request: CheckRequest = { id, bytes, table, control };
      worker.postMessage(request, [table.buffer]);
    });
    theirs.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
    return {
      take: () => Atomics.add(counters, Control.Next, 1),
      stop: () => Atomics.store(counters, Control.Stop, 1),
      callOff: () =>
        Atomics.compareExchange(counters, Control.State, ThreadState.Waiting, ThreadState.CalledOff) ===
        ThreadState.Waiting,
      theirs,
    };
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = startBackgroundThread(this.url, {
      onMessage: (answer: CheckAnswer) => this.answered(answer),
      onEnd: (error) => {
        if (this.worker !== worker) return;
        const why = error ?? new Error('it exited');
        this.failed = true;
        this.worker = undefined;
        for (const w of this.waiting.values()) w.reject(why);
        this.waiting.clear();
        process.emitWarning(
          `the server's chunk-checking thread stopped (${why.message}); chunks are checked on the main thread`,
          { code: 'SWANLOG_CHECK_THREAD' },
        );
      },
    });
    this.worker = worker;
    return worker;
  }

  private answered(a: CheckAnswer): void {
    const w = this.waiting.get(a.id);
    if (w === undefined) return;
    this.waiting.delete(a.id);
    if (this.waiting.size === 0) this.worker?.unref();
    const checked: CheckedChunk[] = [];
    for (let j = 0; j < a.done.length; j++) {
      const c = j * COLUMN_FIELDS;
      checked.push({
        encoded: w.entries[a.done[j]!]!.blob,
        facts: {
          columns: {
            n: a.columns[c]!,
            stepMin: a.columns[c + 1]!,
            stepMax: a.columns[c + 2]!,
            tsMin: a.columns[c + 3]!,
            tsMax: a.columns[c + 4]!,
            seqMin: a.columns[c + 5]!,
            seqMax: a.columns[c + 6]!,
          },
          blocks: a.blocks.subarray(j === 0 ? 0 : a.blockEnds[j - 1]!, a.blockEnds[j]!),
        },
      });
    }
    const { steps, values, ts, seqs } = a.small;
    for (let j = 0; j < checked.length; j++) {
      const from = j === 0 ? 0 : a.pointEnds[j - 1]!;
      const to = a.pointEnds[j]!;
      if (to > from)
        checked[j]!.points = {
          steps: steps.subarray(from, to),
          values: values.subarray(from, to),
          ts: ts.subarray(from, to),
          seqs: seqs.subarray(from, to),
        };
    }
    this.checkedThere += checked.length;
    w.resolve(new Map(checked.map((c, j) => [a.done[j]!, c])));
  }
}

/** The server process's chunk-checking thread. */
export const chunkCheckThread = new ChunkCheckThread(new URL('./chunk-check-worker.js', import.meta.url));
