// The real system the model test drives: a swanlog server on a temp data directory (restartable),
// a write key and a client, local log directories, and the writers (in-process SDK handles, or
// child processes that can be killed, reaped or left as zombies).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createClient, type SwanlogClient } from '@swanlog/client';
import { createApiKey, type RunningServer, startServer } from '@swanlog/server';
import type { Run } from 'swanlog';

const WRITER_CHILD = new URL('./writer-child.js', import.meta.url).pathname;
export const CLI_BIN = new URL('../../../apps/cli/bin/swanlog.js', import.meta.url).pathname;

export interface ChildReply {
  ready?: boolean;
  ok?: boolean;
  finished?: boolean;
  id?: string;
  dir?: string;
  step?: number;
  error?: string;
}

/**
 * A writer in a child process. `zombie` mode starts it under `sh -c '... & exec sleep'`, so its
 * parent is a `sleep` that never waits: killed, it stays a zombie until cleanup kills the sleep.
 */
export class ChildWriter {
  readonly proc: ChildProcess;
  pid = 0;
  private readonly waiting: ((reply: ChildReply) => void)[] = [];
  private readonly early: ChildReply[] = [];
  private stderr = '';
  readonly exited: Promise<number | null>;
  private readonly closed: Promise<void>;

  constructor(options: Record<string, unknown>, zombie: boolean) {
    const arg = JSON.stringify(options);
    this.proc = zombie
      ? // dash gives a background job /dev/null as stdin, so the pipe goes over fd 3; the sleep
        // keeps none of the pipes, so stdout closes when the writer ends.
        spawn(
          'sh',
          [
            '-c',
            `exec 3<&0; "${process.execPath}" "$0" "$1" <&3 3<&- & echo "pid $!"; exec sleep 3600 <&- 3<&- >/dev/null 2>&1`,
            WRITER_CHILD,
            arg,
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        )
      : spawn(process.execPath, [WRITER_CHILD, arg], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (!zombie) this.pid = this.proc.pid ?? 0;
    this.exited = new Promise((done) => this.proc.once('exit', (code) => done(code)));
    this.proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    const lines = createInterface({ input: this.proc.stdout! });
    this.closed = new Promise((done) => lines.once('close', () => done()));
    lines.on('line', (line) => {
      if (line.startsWith('pid ')) {
        this.pid = Number(line.slice(4));
        return;
      }
      let reply: ChildReply;
      try {
        reply = JSON.parse(line) as ChildReply;
      } catch {
        return; // a warning printed on stdout is not a reply
      }
      const next = this.waiting.shift();
      if (next === undefined) this.early.push(reply);
      else next(reply);
    });
  }

  /** The next reply line; fails with the child's stderr when it exits first. */
  reply(): Promise<ChildReply> {
    const early = this.early.shift();
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`writer child gave no answer in 30 s\n${this.stderr}`)),
        30_000,
      );
      this.waiting.push((r) => {
        clearTimeout(timer);
        done(r);
      });
      void this.closed.then(() => {
        clearTimeout(timer);
        fail(new Error(`writer child ended without answering\n${this.stderr}`));
      });
    });
  }

  async send(command: unknown): Promise<ChildReply> {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
    return this.reply();
  }

  /** Resolves when the writer process (not its sleeping parent) has ended. */
  async writerGone(): Promise<void> {
    await this.closed;
    if (this.proc.spawnfile !== 'sh') {
      await this.exited;
      return;
    }
    // The pipes close a moment before the process turns into a zombie.
    while (this.pid === 0 || runsOrZombie(this.pid).runs) await new Promise((r) => setTimeout(r, 2));
  }

  get stderrText(): string {
    return this.stderr;
  }

  /** Ends the child and, in zombie mode, the sleeping parent (so the zombie is reaped). */
  dispose(): void {
    if (this.pid !== 0) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    this.proc.kill('SIGKILL');
  }
}

/** Whether `pid` is a live process (`runs`) and whether it is a zombie. */
export function runsOrZombie(pid: number): { runs: boolean; zombie: boolean } {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { runs: false, zombie: false };
    throw error;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  const zombie = state === 'Z' || state === 'X';
  return { runs: !zombie, zombie };
}

export interface RealWriter {
  run?: Run;
  child?: ChildWriter;
}

export class RealSystem {
  readonly root: string;
  readonly dataDir: string;
  readonly mainLogdir: string;
  key = '';
  instanceId = '';
  url = '';
  port = 0;
  client!: SwanlogClient;
  readonly writers = new Map<string, RealWriter>();
  private server: RunningServer | undefined;
  private readonly children: ChildWriter[] = [];
  private readonly otherChildren: ChildProcess[] = [];
  private logdirCount = 0;

  private constructor(root: string) {
    this.root = root;
    this.dataDir = join(root, 'server');
    this.mainLogdir = join(root, 'logdir');
    mkdirSync(this.mainLogdir);
  }

  static async start(): Promise<RealSystem> {
    const s = new RealSystem(mkdtempSync(join(tmpdir(), 'swanlog-model-')));
    await s.startServer(0);
    s.key = createApiKey({ dataDir: s.dataDir, workspace: 'ws', scope: 'write' }).key;
    return s;
  }

  private async startServer(port: number): Promise<void> {
    this.server = await startServer({ dataDir: this.dataDir, port, host: '127.0.0.1', log: () => {} });
    this.url = this.server.url;
    this.port = this.server.port;
    this.instanceId = this.server.instanceId;
    this.client = createClient({ host: this.url, apiKey: this.key || 'none', retryLimit: 2 });
  }

  /** Stops the server and starts it again on the same data directory. */
  async restart(samePort: boolean): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    await this.startServer(samePort ? this.port : 0);
  }

  /** A client with the key (the key is made after the first start). */
  withKey(): SwanlogClient {
    this.client = createClient({ host: this.url, apiKey: this.key, retryLimit: 2 });
    return this.client;
  }

  newLogdir(): string {
    this.logdirCount += 1;
    const dir = join(this.root, `logdir-${this.logdirCount}`);
    mkdirSync(dir);
    return dir;
  }

  spawnWriter(options: Record<string, unknown>, zombie: boolean): ChildWriter {
    const child = new ChildWriter(options, zombie);
    this.children.push(child);
    return child;
  }

  /** `swanlog <args>` as a child, to be killed (or awaited). */
  spawnCli(args: string[]): { proc: ChildProcess; done: Promise<{ code: number | null; stdout: string }> } {
    const proc = spawn(process.execPath, [CLI_BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NO_COLOR: '1',
        SWANLOG_HOST: this.url,
        SWANLOG_API_KEY: this.key,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.otherChildren.push(proc);
    let stdout = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr?.resume();
    const done = new Promise<{ code: number | null; stdout: string }>((resolve) =>
      proc.once('exit', (code) => resolve({ code, stdout })),
    );
    return { proc, done };
  }

  async close(): Promise<void> {
    for (const w of this.writers.values()) {
      if (w.run !== undefined) w.run.endNow('finished');
    }
    for (const c of this.children) c.dispose();
    for (const p of this.otherChildren) p.kill('SIGKILL');
    await Promise.all(this.children.map((c) => c.exited));
    await this.server?.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}
