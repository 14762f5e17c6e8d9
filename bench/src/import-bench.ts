import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeScalarEvent, encodeWandbFile, importSources } from '@swanlog/import';

export interface ImportBenchResult {
  import_tfevents_points_per_s: number;
  /** Baseline: the same file's bytes read from disk, as points per second. */
  read_tfevents_points_per_s: number;
  import_wandb_points_per_s: number;
  read_wandb_points_per_s: number;
  import_points: number;
}

const KEYS = ['train/loss', 'train/acc', 'lr', 'grad_norm', 'eval/loss'];

/**
 * `swanlog import` of one large event file and one large `.wandb` file (`rows` rows of 5 keys
 * each), beside reading the same file's bytes: the import's cost over the I/O it cannot avoid.
 */
export function importBench(work: string, rows: number, reps: number): ImportBenchResult {
  // Written by a function of its own, so the generated rows are garbage before anything is timed.
  const { tb, wb, tbFile, wbFile } = writeSources(work, rows);
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
    import_points: points,
  };
}

function writeSources(work: string, rows: number) {
  const tb = join(work, 'import-src', 'tb', 'run');
  const wb = join(work, 'import-src', 'wandb', 'offline-run-20260101_000000-benchrun');
  mkdirSync(tb, { recursive: true });
  mkdirSync(wb, { recursive: true });
  const t0 = 1_700_000_000;
  const events = [encodeScalarEvent({ step: 0, wallTime: t0, fileVersion: 'brain.Event:2' })];
  const history: { step: number; time: number; values: Record<string, number> }[] = [];
  for (let s = 0; s < rows; s++) {
    const values = Object.fromEntries(KEYS.map((k, i) => [k, Math.sin(s + i) / (i + 1)]));
    events.push(encodeScalarEvent({ step: s, wallTime: t0 + s / 1000, values }));
    history.push({ step: s, time: t0 + s / 1000, values });
  }
  const tbFile = join(tb, 'events.out.tfevents.1700000000.bench');
  writeFileSync(tbFile, Buffer.concat(events));
  const wbFile = join(wb, 'run-benchrun.wandb');
  writeFileSync(wbFile, encodeWandbFile(history));
  return { tb, wb, tbFile, wbFile };
}
