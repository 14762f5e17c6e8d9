// Scenario 1: SIGKILL a logging child at random moments; the run directory must open and verify,
// every point the child reported durable must be there with its value, no (key, step) may show
// twice, and a resumed child must continue right after the last visible step.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LogChildOptions } from '../children/log-child-options.js';
import { checkRun, range } from '../support/check-run.js';
import { pool } from '../support/pool.js';
import { LOG_CHILD, type Proc, sleep, start } from '../support/procs.js';
import { removeTempDir, tempDir } from '../support/temp.js';
import type { ScenarioContext, ScenarioResult } from '../support/types.js';

const FLUSH_INTERVALS = [0, 0, 1, 5, 20, 100, 250, 1000];

export function startLogChild(
  opts: LogChildOptions,
  env: Record<string, string> = {},
  wrap?: string[],
): Proc {
  return start([LOG_CHILD, JSON.stringify(opts)], wrap === undefined ? { env } : { env, wrap });
}

/** The highest `flushedThrough` among the lines a child printed (what it reported durable). */
export function reportedDurable(p: Proc): number {
  let n = 0;
  for (const l of p.lines)
    if (typeof l.flushedThrough === 'number' && l.flushedThrough > n) n = l.flushedThrough;
  return n;
}

export async function loggingScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r: ScenarioResult = {
    name: 'logging: SIGKILL + resume',
    trials: 0,
    survived: 0,
    lost: 0,
    duplicated: 0,
    notes: [],
  };
  const trials = ctx.quick ? 12 : 56;
  let killedMidLog = 0;
  let killedInInit = 0;
  const plans = range(0, trials).map((t) => {
    const keyCount = ctx.rng.pick([1, 2, 3, 7, 20, 150]);
    const early = ctx.rng.next() < 0.12;
    return {
      t,
      keyCount,
      flushInterval: ctx.rng.pick(FLUSH_INTERVALS),
      early,
      delay: early ? ctx.rng.int(0, 250) : ctx.rng.int(0, 400),
      burst: ctx.rng.pick([1, 5, 50]),
      sleepMs: ctx.rng.pick([0, 0, 1]),
      more: ctx.rng.int(1, 30),
      resumeFlush: ctx.rng.pick(FLUSH_INTERVALS),
    };
  });
  // Two trials at once (2 cores): each is mostly waiting for a child's start-up.
  await pool(
    plans,
    2,
    async ({ t, keyCount, flushInterval, early, delay, burst, sleepMs, more, resumeFlush }) => {
      const root = tempDir('logging');
      const logdir = join(root, 'logdir');
      const id = `kill-${t}`;
      const keys = range(0, keyCount).map((i) => (i % 3 === 0 ? `train/k${i}` : `k${i}`));
      const trial = `trial ${t} (keys ${keyCount}, flush ${flushInterval} ms, kill ${early ? 'after spawn' : 'after init'} +${delay} ms)`;
      r.trials++;
      try {
        const child = startLogChild({
          init: { logdir, id, resume: 'allow', project: 'faults', flushInterval },
          calls: 1_000_000,
          keys,
          burst,
          sleepMs,
          // With few keys a million calls can end before the kill: then stay alive until it comes.
          finish: false,
        });
        if (!early)
          await child.waitFor((l) => l.event === 'started' || l.event === 'error' || l.event === 'crash');
        await sleep(delay);
        const logging = child.lines.some((l) => l.event === 'started');
        child.kill('SIGKILL');
        const res = await child.result;
        const bad = child.lines.find((l) => l.event === 'error' || l.event === 'crash');
        if (bad !== undefined || res.signal !== 'SIGKILL') {
          r.notes.push(
            `${trial}: child ended before the kill: ${JSON.stringify(bad ?? res.code)} ${res.stderr.slice(0, 200)}`,
          );
          return;
        }
        if (logging) killedMidLog++;
        else killedInInit++;
        const durable = reportedDurable(child);
        const runDir = (existsSync(logdir) ? readdirSync(logdir) : []).find((n) => n.startsWith('run-'));
        if (runDir === undefined && durable > 0) {
          r.lost += durable * keyCount;
          r.notes.push(`${trial}: no run directory after ${durable} durable calls`);
          return;
        }
        let lastStep = -1;
        if (runDir !== undefined) {
          const c = checkRun(join(logdir, runDir), keys, range(0, durable));
          r.lost += c.lost;
          r.duplicated += c.duplicated;
          if (!c.ok) {
            r.notes.push(`${trial}: after kill: ${c.problem}`);
            return;
          }
          lastStep = c.lastStep;
        }
        // Resume: must when the directory exists, else allow (the dead claim must not block).
        const again = startLogChild({
          init: {
            logdir,
            id,
            resume: runDir === undefined ? 'allow' : 'must',
            project: 'faults',
            flushInterval: resumeFlush,
          },
          calls: more,
          keys,
          burst: 5,
        });
        const res2 = await again.result;
        const started = again.lines.find((l) => l.event === 'started');
        const finished = again.lines.find((l) => l.event === 'finished');
        if (res2.code !== 0 || started === undefined || finished === undefined) {
          r.notes.push(
            `${trial}: resume failed: exit ${res2.code ?? res2.signal} ${JSON.stringify(again.lines.at(-1))} ${res2.stderr.slice(0, 200)}`,
          );
          return;
        }
        if (started.step !== lastStep + 1) {
          r.notes.push(`${trial}: resume started at step ${started.step}, expected ${lastStep + 1}`);
          return;
        }
        const dir = started.dir as string;
        const c2 = checkRun(dir, keys, [...range(0, durable), ...range(lastStep + 1, lastStep + 1 + more)]);
        r.lost += c2.lost;
        r.duplicated += c2.duplicated;
        if (!c2.ok || c2.lastStep !== lastStep + more) {
          r.notes.push(
            `${trial}: after resume: ${c2.problem ?? `last step ${c2.lastStep}, expected ${lastStep + more}`}`,
          );
          return;
        }
        r.survived++;
      } catch (error) {
        r.notes.push(`${trial}: runner error ${String(error)}`);
      } finally {
        removeTempDir(root);
      }
    },
  );
  r.notes.push(`kills while logging: ${killedMidLog}, kills during start-up/init: ${killedInInit}`);
  return r;
}
