// The README's dashboard pictures from a real sweep: `node apps/web/screenshot-sweep.mjs
// [workdir] [outdir]` trains apps/example-train (the spirals MLP, its default config) five times
// with different learning rates and batch sizes, gathers the runs in one logdir and takes, with
// `swanlog watch` and Debian's Chromium: the runs table (docs/screenshot-runs-table.png), the best
// run's page with smoothing (docs/screenshot-run-smoothed.png) and the compare view of all five
// (docs/screenshot-compare.png). Needs `pnpm build` first; about a minute.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { screenshotPages } from './screenshot-run.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'swanlog-sweep-')));
const outdir = resolve(process.argv[3] ?? join(repo, 'docs'));
const trainer = join(repo, 'apps', 'example-train', 'dist', 'main.js');
const base = readFileSync(join(repo, 'apps', 'example-train', 'configs', 'default.yaml'), 'utf8');

/** The sweep: learning rate × batch size, five of the nine. */
const SWEEP = [
  { lr: 0.003, batch: 32 },
  { lr: 0.01, batch: 32 },
  { lr: 0.03, batch: 32 },
  { lr: 0.01, batch: 16 },
  { lr: 0.01, batch: 64 },
];

/** default.yaml with one line replaced; it must be there exactly once. */
function setLine(text, from, to) {
  if (text.split(from).length !== 2)
    throw new Error(`default.yaml has no single line ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

const logdir = join(work, 'logdir');
mkdirSync(logdir, { recursive: true });
const runs = [];
for (const { lr, batch } of SWEEP) {
  const name = `spirals-lr${lr}-bs${batch}`;
  const dir = join(work, name);
  let yaml = setLine(base, '  name: spirals\n', `  name: ${name}\n`);
  yaml = setLine(yaml, '  dir: ./experiments/example-train ', `  dir: ${dir} `);
  yaml = setLine(yaml, '  lr: 0.01\n', `  lr: ${lr}\n`);
  yaml = setLine(yaml, '  batch_size: 32\n', `  batch_size: ${batch}\n`);
  const config = join(work, `${name}.yaml`);
  writeFileSync(config, yaml);
  process.stderr.write(`training ${name}…\n`);
  const run = spawnSync(process.execPath, [trainer, '--config', config], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${name} failed (${run.status}):\n${run.stderr}`);
  const id = /finished run (\S+)/.exec(run.stdout)?.[1];
  const acc = Number(/val_acc=([\d.]+)\s*\n[^\n]*finished run/.exec(run.stdout)?.[1]);
  if (!id) throw new Error(`${name}: no "finished run" line in\n${run.stdout}`);
  // Every run in one logdir for `swanlog watch` (a byte copy keeps the run as it is).
  for (const entry of readdirSync(join(dir, 'swanlog'))) {
    if (entry.startsWith('run-'))
      cpSync(join(dir, 'swanlog', entry), join(logdir, entry), { recursive: true });
  }
  runs.push({ id, name, acc });
}
const best = runs.reduce((a, b) => (b.acc > a.acc ? b : a));
process.stderr.write(`runs in ${logdir}; best ${best.name} (val_acc ${best.acc})\n`);
mkdirSync(outdir, { recursive: true });
const cols = ['c:optimizer/lr', 'c:training/batchSize', 'm:val/loss', 'm:val/acc'].join(',');
await screenshotPages(logdir, [
  {
    path: `/?cols=${cols}&sort=m:val/acc&desc=1`,
    out: join(outdir, 'screenshot-runs-table.png'),
    ready: '[data-testid="runs-table"] tbody tr',
    width: 1800,
    height: 340,
  },
  {
    path: `/experiments/${best.id}?smooth=0.8`,
    out: join(outdir, 'screenshot-run-smoothed.png'),
    height: 1240,
  },
  {
    path: `/compare?ids=${runs.map((r) => r.id).join(',')}&smooth=0.6`,
    out: join(outdir, 'screenshot-compare.png'),
    height: 1420,
  },
]);
