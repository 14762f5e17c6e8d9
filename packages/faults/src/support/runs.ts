import { init } from 'swanlog';

export interface WriteRunOptions {
  logdir: string;
  id: string;
  project?: string;
  steps: number;
  keys?: string[];
  /** Resume once more, rewound to this step, so the run holds superseded points and two sources. */
  rewindTo?: number;
  /** First step (several directories into one experiment use disjoint steps). */
  from?: number;
}

/** Writes a finished run through the SDK in this process; returns its directory. */
export async function writeRun(options: WriteRunOptions): Promise<string> {
  const keys = options.keys ?? ['loss', 'acc', 'lr'];
  const base = { logdir: options.logdir, project: options.project ?? 'faults', flushInterval: 3_600_000 };
  const run = await init({ ...base, id: options.id, resume: 'allow' });
  logSteps(run, keys, options.from ?? 0, options.steps, 0);
  await run.finish();
  if (options.rewindTo !== undefined) {
    const again = await init({ ...base, id: options.id, resume: 'must', fromStep: options.rewindTo });
    logSteps(again, keys, options.rewindTo + 1, options.steps, 0.5);
    await again.finish();
  }
  return run.dir!;
}

function logSteps(
  run: { log: (d: Record<string, number>, step?: number) => void; flush: () => void },
  keys: string[],
  from: number,
  to: number,
  offset: number,
): void {
  const data: Record<string, number> = {};
  for (let s = from; s < to; s++) {
    keys.forEach((k, i) => {
      data[k] = s * 0.001 + i + offset;
    });
    run.log(data, s);
    if (s % 50_000 === 49_999) run.flush();
  }
}
