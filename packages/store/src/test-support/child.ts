import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Spawned {
  proc: ChildProcess;
  /** The first stdout line, parsed as JSON. */
  ready: Promise<Record<string, unknown>>;
  /** Kills the child (SIGKILL) and waits for it to exit. */
  kill: () => Promise<void>;
}

/** Starts `node script arg` and resolves `ready` with the first JSON line it prints. */
export function spawnJsonChild(script: string, arg: unknown): Spawned {
  const proc = spawn(process.execPath, [script, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
    });
    proc.on('exit', (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) before it was ready: ${stderr}`)),
    );
  });
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };
  return { proc, ready, kill };
}
