import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InitOptions } from 'swanlog';

const script = fileURLToPath(new URL('./state-writer.js', import.meta.url));

export interface WriterProcess {
  /** The writer's pid (for `reaped: false`, the grandchild's). */
  pid: number;
  id: string;
  dir: string;
  /** Sends a signal to the writer and resolves once it is gone (exited, or a zombie). */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Resolves when a writer that finishes by itself has exited. */
  done(): Promise<void>;
}

export interface SpawnWriterOptions {
  init: InitOptions;
  keys?: string[];
  steps: number;
  end: 'finish' | 'hold';
  /** While holding, keep logging and flushing a call every 10 ms. */
  trickle?: boolean;
  /**
   * false: the writer's parent never reaps it, so once killed it stays a zombie (as under a
   * Python `subprocess.Popen` that has not called `wait()`). Node reaps its own children, so the
   * writer runs under `sh -c '… & exec sleep'`: its parent becomes `sleep`, which never waits.
   */
  reaped?: boolean;
}

const keepers = new Set<ChildProcess>();

/** Kills the processes that kept zombies unreaped (then init reaps the zombies). */
export function killKeepers(): void {
  for (const k of keepers) k.kill('SIGKILL');
  keepers.clear();
}

/** Starts a writer and waits until it has flushed what it logged. */
export async function spawnWriter(options: SpawnWriterOptions): Promise<WriterProcess> {
  const arg = JSON.stringify({ keys: ['loss'], ...options });
  const reaped = options.reaped ?? true;
  const proc = reaped
    ? spawn(process.execPath, [script, arg], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(
        'sh',
        ['-c', '"$0" "$1" "$2" & echo "{\\"pid\\":$!}"; exec sleep 600', process.execPath, script, arg],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
  if (!reaped) keepers.add(proc);
  const lines = readLines(proc);
  const first = await lines.next();
  const pid = reaped ? proc.pid! : (first as { pid: number }).pid;
  const flushed = (reaped ? first : await lines.next()) as { id: string; dir: string };
  const exited = reaped
    ? new Promise<void>((done) => (proc.exitCode !== null ? done() : proc.once('exit', () => done())))
    : undefined;
  return {
    pid,
    id: flushed.id,
    dir: flushed.dir,
    signal: async (signal) => {
      process.kill(pid, signal);
      await (exited ?? untilGone(pid));
    },
    done: async () => {
      await (exited ?? untilGone(pid));
    },
  };
}

function readLines(proc: ChildProcess): { next: () => Promise<unknown> } {
  const queue: unknown[] = [];
  const waiting: ((line: unknown) => void)[] = [];
  let pending = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (text: string) => {
    pending += text;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      const line = JSON.parse(pending.slice(0, nl)) as unknown;
      pending = pending.slice(nl + 1);
      const wake = waiting.shift();
      if (wake === undefined) queue.push(line);
      else wake(line);
    }
  });
  return {
    next: () =>
      new Promise((resolve, reject) => {
        if (queue.length > 0) return resolve(queue.shift());
        const timer = setTimeout(() => reject(new Error('writer printed nothing for 20 s')), 20_000);
        waiting.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
      }),
  };
}

/** Waits until `pid` no longer runs as a live process (gone, or a zombie). */
async function untilGone(pid: number): Promise<void> {
  const { readFileSync } = await import('node:fs');
  for (;;) {
    let state: string;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (state === 'Z' || state === 'X') return;
    await new Promise((r) => setTimeout(r, 5));
  }
}
