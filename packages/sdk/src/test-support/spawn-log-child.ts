import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LogChildLine, LogChildOptions } from './log-child-options.js';

const script = fileURLToPath(new URL('./log-child.js', import.meta.url));
/** Preload for `execArgv` that shifts the child's clock by SWANLOG_TEST_CLOCK_SKEW_MS. */
export const SKEW_CLOCK = fileURLToPath(new URL('./skew-clock.js', import.meta.url));

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `log-child.js` and what it has printed so far. */
export interface LogChild {
  readonly proc: ChildProcess;
  readonly lines: LogChildLine[];
  /** Resolves when the child has exited (and been reaped). */
  readonly exited: Promise<ChildExit>;
  /** What the child wrote on stderr so far. */
  stderr(): string;
  /** The first line (already printed or to come) with this event that satisfies `match`. */
  waitFor(
    event: LogChildLine['event'],
    match?: (line: LogChildLine) => boolean,
    timeoutMs?: number,
  ): Promise<LogChildLine>;
  /** True while the process has not exited. */
  alive(): boolean;
}

const children = new Set<LogChild>();

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** Node flags before the script, e.g. `--import <preload>`. */
  execArgv?: string[];
}

/** Starts `node log-child.js '<options>'`. */
export function spawnLogChild(options: LogChildOptions, spawnOptions: SpawnOptions = {}): LogChild {
  const proc = spawn(process.execPath, [...(spawnOptions.execArgv ?? []), script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: spawnOptions.env ?? process.env,
  });
  const lines: LogChildLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let pending = '';
  let done = false;
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (text: string) => {
    pending += text;
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() !== '') lines.push(JSON.parse(line) as LogChildLine);
      nl = pending.indexOf('\n');
    }
    for (const wake of waiters) wake();
  });
  proc.stderr?.on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  // Waiters re-check once stdout is drained after the exit, then fail.
  proc.once('close', () => {
    done = true;
    for (const wake of waiters) wake();
  });
  const child: LogChild = {
    proc,
    lines,
    exited,
    stderr: () => stderr,
    alive: () => !done && proc.exitCode === null && proc.signalCode === null,
    waitFor(event, match = () => true, timeoutMs = 15_000) {
      return new Promise<LogChildLine>((resolve, reject) => {
        const check = () => {
          const found = lines.find((l) => l.event === event && match(l));
          if (found !== undefined) {
            finish();
            resolve(found);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            if (!proc.stdout?.readableEnded) return; // lines may still be in the pipe
            finish();
            reject(
              new Error(
                `child ${proc.pid} exited (${proc.exitCode ?? proc.signalCode}) before printing ${event}; ` +
                  `stdout: ${JSON.stringify(lines)}; stderr: ${stderr}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `child ${proc.pid} printed no ${event} line in ${timeoutMs} ms; stdout: ${JSON.stringify(lines)}; stderr: ${stderr}`,
            ),
          );
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** SIGKILLs every child this module started that is still running (for after hooks), and reaps them. */
export async function killChildren(): Promise<void> {
  const running = [...children];
  for (const c of running) if (c.alive()) c.proc.kill('SIGKILL');
  await Promise.all(running.map((c) => c.exited));
}
