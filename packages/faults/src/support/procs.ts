// Child processes of the suite: the logging child and the `swanlog` CLI, each killable, each
// tracked so a failing run leaves no process behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspace root (this file runs from packages/faults/dist/support). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI_BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'swanlog.js');
export const LOG_CHILD = fileURLToPath(new URL('../children/log-child.js', import.meta.url));

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Proc {
  proc: ChildProcess;
  result: Promise<ProcResult>;
  /** Complete JSON lines printed so far. */
  lines: Record<string, unknown>[];
  /** Resolves with the first line for which `pred` holds (or undefined when the child ends first). */
  waitFor(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();

/** Kills every child still running (cleanup after a failure). */
export function killAll(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  live.clear();
}

/** A clean environment: PATH and HOME only, no colours, plus `extra` (SWANLOG_* of ours never leak). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...extra };
}

export interface StartOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Prefix of the command line (e.g. setpriv … --), before `node`. */
  wrap?: string[];
}

export function start(args: string[], options: StartOptions = {}): Proc {
  const [cmd, ...rest] = [...(options.wrap ?? []), process.execPath, ...args];
  const proc = spawn(cmd!, rest, {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l?: Record<string, unknown>) => void;
  }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    partial += d;
    let nl = partial.indexOf('\n');
    while (nl >= 0) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      nl = partial.indexOf('\n');
      if (!text.startsWith('{')) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(line)) {
          waiters[i]!.resolve(line);
          waiters.splice(i, 1);
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const result = new Promise<ProcResult>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      live.delete(proc);
      for (const w of waiters.splice(0)) w.resolve(undefined);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    proc,
    result,
    lines,
    waitFor: (pred) => {
      const found = lines.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

/** `swanlog <args>` as a child. */
export function startCli(args: string[], options: StartOptions = {}): Proc {
  return start([CLI_BIN, ...args], options);
}

/** Runs `swanlog <args>` to completion; killed (and reported as signal SIGKILL) after `timeoutMs`. */
export async function runCli(
  args: string[],
  options: StartOptions & { timeoutMs?: number } = {},
): Promise<ProcResult> {
  const p = startCli(args, options);
  const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  try {
    return await p.result;
  } finally {
    clearTimeout(timer);
  }
}

/** True when stderr holds a JavaScript stack trace (the CLI must print `error[CODE]` instead). */
export function hasStack(stderr: string): boolean {
  return /\n\s+at .+[(:]/.test(stderr) || /^\w*Error: /m.test(stderr);
}

/** The code of `error[CODE]: …` on stderr, if any. */
export function errorCode(stderr: string): string | undefined {
  return /error\[([A-Z_]+)\]/.exec(stderr)?.[1];
}

export function describe(r: ProcResult): string {
  const one = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);
  return `exit ${r.code ?? r.signal}; stdout: ${one(r.stdout)}; stderr: ${one(r.stderr)}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
