import { isSwanlogError } from '@swanlog/protocol';
import { verifyRun } from '@swanlog/store';
import { childValue } from '../children/log-child-options.js';
import { visiblePoints } from './series.js';

export interface RunCheck {
  ok: boolean;
  lost: number;
  duplicated: number;
  /** Largest visible step of any key, or -1. */
  lastStep: number;
  problem?: string;
}

/**
 * Opens and verifies `dir`, then checks that every step in `durable` (of every key in `keys`) is visible with its value, that no visible point has a value the writer never logged,
 * and that no (key, step) shows twice.
 */
export function checkRun(
  dir: string,
  keys: string[],
  durable: Iterable<number>,
  expectedValue: (key: string, step: number) => number | undefined = (key, step) =>
    keys.includes(key) ? childValue(step, keys.indexOf(key)) : undefined,
): RunCheck {
  try {
    verifyRun(dir);
  } catch (error) {
    return { ok: false, lost: 0, duplicated: 0, lastStep: -1, problem: `verifyRun: ${describeError(error)}` };
  }
  let vis: ReturnType<typeof visiblePoints>;
  try {
    vis = visiblePoints(dir);
  } catch (error) {
    return { ok: false, lost: 0, duplicated: 0, lastStep: -1, problem: `read: ${describeError(error)}` };
  }
  let lost = 0;
  let problem: string | undefined;
  let lastStep = -1;
  for (const step of durable) {
    keys.forEach((k) => {
      const v = vis.points.get(k)?.get(step);
      if (v !== expectedValue(k, step)) {
        lost++;
        problem ??= `durable ${JSON.stringify(k)}@${step} is ${v ?? 'missing'}`;
      }
    });
  }
  for (const [k, m] of vis.points) {
    for (const [step, v] of m) {
      if (step > lastStep) lastStep = step;
      if (v !== expectedValue(k, step)) {
        lost++;
        problem ??= `visible ${JSON.stringify(k)}@${step} = ${v} was never logged`;
      }
    }
  }
  const out: RunCheck = {
    ok: lost === 0 && vis.duplicated === 0,
    lost,
    duplicated: vis.duplicated,
    lastStep,
  };
  if (vis.duplicated > 0) problem ??= `${vis.duplicated} (key, step) visible twice`;
  if (problem !== undefined) out.problem = problem;
  return out;
}

export function describeError(error: unknown): string {
  if (isSwanlogError(error)) return `${error.code}: ${error.message}`;
  return `UNCODED ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`.slice(0, 400);
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}
