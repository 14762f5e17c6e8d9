// `pnpm test:faults`: runs every fault scenario, prints a table of what survived, and exits non-zero
// on any loss, duplicate, crash or wrong error. `--seed N` (or SWANLOG_FAULT_SEED) replays a run,
// `--quick` runs fewer trials, `--only <substring>` runs the matching scenarios.
import { randomInt } from 'node:crypto';
import { concurrencyScenario } from './scenarios/concurrency.js';
import { damagedScenario } from './scenarios/damaged.js';
import { loggingScenario } from './scenarios/logging.js';
import { storageScenario } from './scenarios/storage.js';
import { syncScenario } from './scenarios/sync.js';
import { killAll } from './support/procs.js';
import { createRng, deriveSeed } from './support/rng.js';
import { removeTempDirs } from './support/temp.js';
import type { Scenario, ScenarioResult } from './support/types.js';

const SCENARIOS: [string, Scenario][] = [
  ['logging', loggingScenario],
  ['sync', syncScenario],
  ['concurrency', concurrencyScenario],
  ['storage', storageScenario],
  ['damaged', damagedScenario],
];

function parseArgs(argv: string[]): { seed: number; quick: boolean; only?: string } {
  let seed: number | undefined;
  let quick = false;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a.startsWith('--seed=')) seed = Number(a.slice(7));
    else if (a === '--only') only = argv[++i];
    else {
      process.stderr.write(`usage: run-faults [--seed N] [--quick] [--only <scenario>]\n`);
      process.exit(2);
    }
  }
  const env = process.env.SWANLOG_FAULT_SEED;
  seed ??= env === undefined || env === '' ? randomInt(1, 2 ** 31) : Number(env);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    process.stderr.write(`--seed / SWANLOG_FAULT_SEED must be a non-negative integer\n`);
    process.exit(2);
  }
  return only === undefined ? { seed, quick } : { seed, quick, only };
}

function table(rows: ScenarioResult[], seed: number): string {
  const head = ['scenario', 'trials', 'survived', 'lost points', 'duplicated points', 'seed'];
  const body = rows.map((r) => [
    r.name,
    `${r.trials}`,
    `${r.survived}`,
    `${r.lost}`,
    `${r.duplicated}`,
    `${seed}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const passed = (r: ScenarioResult) =>
  r.trials > 0 && r.survived === r.trials && r.lost === 0 && r.duplicated === 0;

async function main(): Promise<number> {
  const { seed, quick, only } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const say = (line: string) =>
    process.stderr.write(`[faults ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  say(`seed ${seed}${quick ? ' (quick)' : ''}; replay with --seed ${seed}${quick ? ' --quick' : ''}`);
  const results: ScenarioResult[] = [];
  for (const [name, scenario] of SCENARIOS) {
    if (only !== undefined && !name.includes(only)) continue;
    say(`${name} …`);
    const t0 = Date.now();
    let r: ScenarioResult;
    try {
      r = await scenario({ seed, quick, rng: createRng(deriveSeed(seed, name)), say });
    } catch (error) {
      r = {
        name,
        trials: 1,
        survived: 0,
        lost: 0,
        duplicated: 0,
        notes: [`scenario crashed: ${String((error as Error)?.stack ?? error)}`],
      };
    } finally {
      killAll();
    }
    say(`${name}: ${r.survived}/${r.trials} survived in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    results.push(r);
  }
  removeTempDirs();
  const out: string[] = [table(results, seed), ''];
  for (const r of results) {
    if (r.notes.length === 0) continue;
    out.push(`${r.name}${passed(r) ? '' : ' — FAILED'}:`);
    for (const n of r.notes.slice(0, 12)) out.push(`  - ${n}`);
    if (r.notes.length > 12) out.push(`  - … ${r.notes.length - 12} more`);
  }
  const nPassed = results.filter(passed).length;
  out.push('', `seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  out.push(`${nPassed} passed, ${results.length - nPassed} failed`);
  process.stdout.write(`${out.join('\n')}\n`);
  return nPassed === results.length && results.length > 0 ? 0 : 1;
}

const cleanup = () => {
  killAll();
  removeTempDirs();
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
process.on('SIGTERM', () => {
  cleanup();
  process.exit(143);
});
try {
  process.exitCode = await main();
} catch (error) {
  cleanup();
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exitCode = 1;
}
