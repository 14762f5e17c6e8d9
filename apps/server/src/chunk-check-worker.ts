// The chunk-checking thread (ChunkCheckThread): takes a batch's chunks nobody has taken yet, checks
// them as the main thread would, and answers with the facts of those found sound. At a fault it
// stops taking (the main thread checks that chunk again to report it).
import { parentPort } from 'node:worker_threads';
import { ChunkScratch } from '@swanlog/store';
import {
  type CheckAnswer,
  type CheckRequest,
  COLUMN_FIELDS,
  Control,
  TABLE_FIELDS,
  ThreadState,
} from './chunk-check-thread.js';
import { type CheckedChunk, ChunkFault, checkReceivedChunk } from './parse-batch.js';

const scratch = new ChunkScratch();

parentPort!.on('message', ({ id, bytes, table, control }: CheckRequest) => {
  const count = table.length / TABLE_FIELDS;
  const counters = new Int32Array(control);
  const done: number[] = [];
  const checked: CheckedChunk[] = [];
  // A batch the main thread has finished alone (while this thread was busy) is not started.
  const start = Atomics.compareExchange(counters, Control.State, ThreadState.Waiting, ThreadState.Started);
  const first = start === ThreadState.Waiting ? Atomics.add(counters, Control.Next, 1) : count;
  for (let i = first; i < count; i = Atomics.add(counters, Control.Next, 1)) {
    if (Atomics.load(counters, Control.Stop) !== 0) break;
    const t = i * TABLE_FIELDS;
    const blob = new Uint8Array(bytes, table[t]!, table[t + 1]!);
    try {
      checked.push(checkReceivedChunk(blob, table[t + 2]!, table[t + 3]!, table[t + 4]!, scratch));
      done.push(i);
    } catch (error) {
      if (!(error instanceof ChunkFault)) throw error;
      Atomics.store(counters, Control.Stop, 1);
      break;
    }
  }
  let blockFloats = 0;
  let smallPoints = 0;
  for (const c of checked) {
    blockFloats += c.facts.blocks.length;
    smallPoints += c.points?.steps.length ?? 0;
  }
  const columns = new Float64Array(checked.length * COLUMN_FIELDS);
  const blocks = new Float64Array(blockFloats);
  const blockEnds = new Uint32Array(checked.length);
  const small = {
    steps: new Float64Array(smallPoints),
    values: new Float64Array(smallPoints),
    ts: new Float64Array(smallPoints),
    seqs: new Float64Array(smallPoints),
  };
  const pointEnds = new Uint32Array(checked.length);
  let blockEnd = 0;
  let pointEnd = 0;
  for (let j = 0; j < checked.length; j++) {
    const { facts, points } = checked[j]!;
    const k = facts.columns;
    const c = j * COLUMN_FIELDS;
    columns[c] = k.n;
    columns[c + 1] = k.stepMin;
    columns[c + 2] = k.stepMax;
    columns[c + 3] = k.tsMin;
    columns[c + 4] = k.tsMax;
    columns[c + 5] = k.seqMin;
    columns[c + 6] = k.seqMax;
    blocks.set(facts.blocks, blockEnd);
    blockEnd += facts.blocks.length;
    blockEnds[j] = blockEnd;
    if (points !== undefined) {
      small.steps.set(points.steps, pointEnd);
      small.values.set(points.values, pointEnd);
      small.ts.set(points.ts, pointEnd);
      small.seqs.set(points.seqs, pointEnd);
      pointEnd += points.steps.length;
    }
    pointEnds[j] = pointEnd;
  }
  const answer: CheckAnswer = {
    id,
    done: Uint32Array.from(done),
    columns,
    blocks,
    blockEnds,
    small,
    pointEnds,
  };
  const transfer = [answer.done, columns, blocks, blockEnds, pointEnds, ...Object.values(small)].map(
    (a) => a.buffer as ArrayBuffer,
  );
  parentPort!.postMessage(answer, transfer);
});
