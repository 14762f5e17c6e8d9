import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeScalarEvent,
  encodeSwanlabFile,
  encodeWandbFile,
  importSources,
  type SwanlabTestRecord,
} from '@swanlog/import';

export interface ImportBenchResult {
  import_tfevents_points_per_s: number;
  /** Baseline: the same file's bytes read from disk, as points per second. */
  read_tfevents_points_per_s: number;
  import_wandb_points_per_s: number;
  read_wandb_points_per_s: number;
  import_swanlab_points_per_s: number;
  read_swanlab_points_per_s: number;
  import_points: number;
}

const KEYS = ['train/loss', 'train/acc', 'lr', 'grad_norm', 'eval/loss'];

/**
 * `swanlog import` of one large event file, `.wandb` file and `.swanlab` file (`rows` rows of 5 keys
 * each), beside reading the same file's bytes: the import's cost over the I/O it cannot avoid.
 */
export function importBench(work: string, rows: number, reps: number): ImportBenchResult {
  // Written by a function of its own, so the generated rows are garbage before anything is timed.
  const { tb, wb, sl, tbFile, wbFile, slFile } = writeSources(work, rows);
  const points = rows * KEYS.length;
  const rate = (fn: () => void) => {
    let best = 0;
    for (let i = 0; i < reps; i++) {
      const start = performance.now();
      fn();
      best = Math.max(best, points / ((performance.now() - start) / 1000));
    }
    return Math.round(best);
  };
  let n = 0;
  const importOnce = (path: string) => () => {
    const [r] = importSources({ cwd: work, paths: [path], logdir: join(work, `import-logs-${n++}`) });
    if (r?.error !== undefined || r?.points !== points) throw new Error(`import bench: ${JSON.stringify(r)}`);
  };
  return {
    import_tfevents_points_per_s: rate(importOnce(tb)),
    read_tfevents_points_per_s: rate(() => readFileSync(tbFile)),
    import_wandb_points_per_s: rate(importOnce(wb)),
    read_wandb_points_per_s: rate(() => readFileSync(wbFile)),
    import_swanlab_points_per_s: rate(importOnce(sl)),
    read_swanlab_points_per_s: rate(() => readFileSync(slFile)),
    import_points: points,
  };
}

function writeSources(work: string, rows: number) {
  const tb = join(work, 'import-src', 'tb', 'run');
  const wb = join(work, 'import-src', 'wandb', 'offline-run-20260101_000000-benchrun');
  mkdirSync(tb, { recursive: true });
  const sl = join(work, 'import-src', 'swanlog', 'run-20260101_000000-benchrun');
  mkdirSync(wb, { recursive: true });
  mkdirSync(sl, { recursive: true });
  const t0 = 1_700_000_000;
  const events = [encodeScalarEvent({ step: 0, wallTime: t0, fileVersion: 'brain.Event:2' })];
  const history: { step: number; time: number; values: Record<string, number> }[] = [];
  const swanlab: SwanlabTestRecord[] = [
    { kind: 'start', id: 'benchrun', project: 'bench', name: 'bench', time: t0 * 1000 },
  ];
  for (let s = 0; s < rows; s++) {
    const values = Object.fromEntries(KEYS.map((k, i) => [k, Math.sin(s + i) / (i + 1)]));
    events.push(encodeScalarEvent({ step: s, wallTime: t0 + s / 1000, values }));
    history.push({ step: s, time: t0 + s / 1000, values });
    for (const [key, value] of Object.entries(values))
      swanlab.push({ kind: 'scalar', key, step: s, time: t0 * 1000 + s, value });
  }
  const tbFile = join(tb, 'events.out.tfevents.1700000000.bench');
  writeFileSync(tbFile, Buffer.concat(events));
  const wbFile = join(wb, 'run-benchrun.wandb');
  writeFileSync(wbFile, encodeWandbFile(history));
  const slFile = join(sl, 'run-benchrun.swanlab');
  writeFileSync(slFile, encodeSwanlabFile(swanlab));
  return { tb, wb, sl, tbFile, wbFile, slFile };
}
