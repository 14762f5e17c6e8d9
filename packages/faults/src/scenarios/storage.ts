// Scenario 4: a full disk (SWANLOG_FAULT_MAX_PAGES caps each new writer file) and read-only
// storage (file modes; as root the child runs without CAP_DAC_OVERRIDE so modes apply). The child
// must get a clear STORAGE_FULL / STORAGE_READ_ONLY SwanlogError, and what was reported durable
// before must be intact in a directory that verifies.
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkRun, range } from '../support/check-run.js';
import { describe, hasStack, type Proc, runCli, sleep } from '../support/procs.js';
import { removeTempDir, tempDir } from '../support/temp.js';
import type { ScenarioContext, ScenarioResult } from '../support/types.js';
import { reportedDurable, startLogChild } from './logging.js';

/** Ends `p` after `ms` (a hung child is a failure, not a hung suite). */
async function within(p: Proc, ms: number) {
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  try {
    return await p.result;
  } finally {
    clearTimeout(timer);
  }
}

export async function storageScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r: ScenarioResult = {
    name: 'storage: full/read-only',
    trials: 0,
    survived: 0,
    lost: 0,
    duplicated: 0,
    notes: [],
  };
  await diskFull(ctx, r);
  await readOnly(ctx, r);
  return r;
}

async function diskFull(ctx: ScenarioContext, r: ScenarioResult) {
  let atInit = 0;
  let whileLogging = 0;
  for (const t of range(0, ctx.quick ? 3 : 8)) {
    r.trials++;
    const root = tempDir('full');
    const logdir = join(root, 'logdir');
    const pages = ctx.rng.pick([4, 12, 24, 48, 96, 200]);
    const keys = range(0, ctx.rng.pick([1, 5, 40])).map((i) => `m${i}`);
    const flushInterval = ctx.rng.pick([0, 5, 50]);
    const what = `disk full trial ${t} (max ${pages} pages, ${keys.length} keys, flush ${flushInterval} ms)`;
    try {
      const child = startLogChild(
        { init: { logdir, project: 'faults', flushInterval }, calls: 2_000_000, keys, burst: 20 },
        { SWANLOG_FAULT_MAX_PAGES: `${pages}` },
      );
      // With a flush on every call (flush 0 ms) and one key, filling 200 pages takes ~160,000
      // transactions: ~35 s on a slow disk. The limit only matters when STORAGE_FULL never comes.
      const res = await within(child, 90_000);
      const last = child.lines.at(-1);
      if (last?.event !== 'error' || last.code !== 'STORAGE_FULL' || res.code !== 3) {
        r.notes.push(`${what}: expected STORAGE_FULL, got ${JSON.stringify(last)}; ${describe(res)}`);
        continue;
      }
      if (!/space|full/i.test(String(last.message)))
        r.notes.push(`${what}: unclear message ${String(last.message)}`);
      const started = child.lines.some((l) => l.event === 'started');
      if (started) whileLogging++;
      else atInit++;
      const durable = reportedDurable(child);
      const runDir = existsSync(logdir) ? readdirSync(logdir).find((n) => n.startsWith('run-')) : undefined;
      if (runDir === undefined) {
        if (durable > 0) {
          r.lost += durable * keys.length;
          r.notes.push(`${what}: no run directory after ${durable} durable calls`);
        } else r.survived++;
        continue;
      }
      const c = checkRun(join(logdir, runDir), keys, range(0, durable));
      r.lost += c.lost;
      r.duplicated += c.duplicated;
      if (!c.ok) {
        r.notes.push(`${what}: after STORAGE_FULL at ${durable} durable calls: ${c.problem}`);
        continue;
      }
      const v = await runCli(['verify', join(logdir, runDir)]);
      if (v.code !== 0) {
        r.notes.push(`${what}: swanlog verify: ${describe(v)}`);
        continue;
      }
      r.survived++;
    } finally {
      removeTempDir(root);
    }
  }
  r.notes.push(`STORAGE_FULL at init: ${atInit}, while logging: ${whileLogging}`);
}

/** Root ignores file modes; drop the capabilities that let it, so chmod means what it says. */
function dropDac(): string[] | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return [
    'setpriv',
    '--bounding-set=-dac_override,-dac_read_search',
    '--inh-caps=-dac_override,-dac_read_search',
    '--',
  ];
}

function chmodTree(path: string, writable: boolean) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) chmodTree(join(path, name), writable);
    chmodSync(path, writable ? 0o755 : 0o555);
  } else chmodSync(path, writable ? 0o644 : 0o444);
}

async function readOnly(ctx: ScenarioContext, r: ScenarioResult) {
  const wrap = dropDac();
  const cases = [
    'read-only logdir, new run',
    'read-only run dir, resume',
    'read-only writers/, resume',
  ] as const;
  for (const which of cases) {
    r.trials++;
    const root = tempDir('ro');
    const logdir = join(root, 'logdir');
    const keys = ['loss', 'acc'];
    const calls = ctx.rng.int(10, 500);
    try {
      let runDir: string | undefined;
      if (which === 'read-only logdir, new run') {
        mkdirSync(logdir);
      } else {
        const first = startLogChild({
          init: { logdir, id: 'ro', resume: 'allow', flushInterval: 50 },
          calls,
          keys,
        });
        const res = await within(first, 30_000);
        if (res.code !== 0) throw new Error(`writing the run: ${describe(res)}`);
        runDir = join(logdir, readdirSync(logdir).find((n) => n.startsWith('run-'))!);
      }
      const target =
        which === 'read-only logdir, new run'
          ? logdir
          : which === 'read-only run dir, resume'
            ? runDir!
            : join(runDir!, 'writers');
      chmodTree(target, false);
      const child = startLogChild(
        { init: { logdir, id: 'ro', resume: 'allow', flushInterval: 0 }, calls: 10, keys },
        {},
        wrap,
      );
      const res = await within(child, 30_000);
      const last = child.lines.at(-1);
      let failed: string | undefined;
      if (last?.event !== 'error' || last.code !== 'STORAGE_READ_ONLY' || res.code !== 3) {
        failed = `expected STORAGE_READ_ONLY, got ${JSON.stringify(last)}; ${describe(res)}`;
      }
      if (runDir !== undefined) {
        // Still readable (DESIGN: a read-only directory opens for reading), and intact.
        const v = await runCli(['verify', runDir], wrap === undefined ? {} : { wrap });
        if (v.code !== 0 || hasStack(v.stderr)) failed ??= `verify of the read-only run: ${describe(v)}`;
        const e = await runCli(['export', runDir, '--format', 'jsonl'], wrap === undefined ? {} : { wrap });
        const lines = e.stdout.split('\n').filter((l) => l !== '').length;
        if (e.code !== 0 || lines !== calls * keys.length) {
          failed ??= `export of the read-only run: ${lines} lines, expected ${calls * keys.length}; ${describe(e)}`;
        }
        chmodTree(target, true);
        const c = checkRun(runDir, keys, range(0, calls));
        r.lost += c.lost;
        r.duplicated += c.duplicated;
        if (!c.ok) failed ??= `after: ${c.problem}`;
      }
      if (failed === undefined) r.survived++;
      else r.notes.push(`${which}${wrap === undefined ? '' : ' (setpriv, no DAC override)'}: ${failed}`);
    } catch (error) {
      r.notes.push(`${which}: runner error ${String(error)}`);
    } finally {
      if (existsSync(root)) chmodTree(root, true);
      removeTempDir(root);
      await sleep(0);
    }
  }
}
