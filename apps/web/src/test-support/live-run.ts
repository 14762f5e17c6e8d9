// Starts live-child.js and talks to it: a run held open by another process, as in training.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LiveRun {
  id: string;
  dir: string;
  lastStep: number;
  /** Logs n more steps in the child and waits until they are flushed to disk. */
  log(n: number): Promise<number>;
  /** Kills the child. */
  stop(): Promise<void>;
}

interface ChildEvent {
  event: string;
  id: string;
  dir: string;
  lastStep: number;
}

export async function startLiveRun(options: { logdir: string; id: string; steps: number }): Promise<LiveRun> {
  const script = new URL('./live-child.js', import.meta.url).pathname;
  const child: ChildProcess = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = async (): Promise<ChildEvent> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the live run child exited early');
    return JSON.parse(value) as ChildEvent;
  };
  const ready = await next();
  const live: LiveRun = {
    id: ready.id,
    dir: ready.dir,
    lastStep: ready.lastStep,
    async log(n) {
      child.stdin!.write(`log ${n}\n`);
      const logged = await next();
      live.lastStep = logged.lastStep;
      return logged.lastStep;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return live;
}
