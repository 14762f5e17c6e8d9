import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { importSources } from './import-sources.js';
import { SAMPLES, tempDir, visibleSeries } from './test-support/fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());

const dir = join(SAMPLES, 'tensorboard');
const present = existsSync(dir);
// CI always has ../shared beside the checkout: there a missing sample is a failure, not a skip.
if (!present && process.env.CI === 'true') throw new Error(`${dir} is missing in CI`);
if (!present) process.stdout.write(`# skipped: ${dir} is absent (CI has ../shared beside the checkout)\n`);

/** Imports one sample file as a run of its own (each file is a separate run in the README). */
function importSample(name: string) {
  const run = join(tmp.path, 'src', name);
  mkdirSync(run, { recursive: true });
  copyFileSync(join(dir, name), join(run, name));
  const result = importSources({ cwd: tmp.path, paths: [run], logdir: join(tmp.path, 'logs') })[0]!;
  assert.equal(result.error, undefined, JSON.stringify(result.error));
  const series = visibleSeries(result.dir!);
  const steps = new Set(Object.values(series).flatMap((s) => s.map((p) => p.step)));
  return { result, series, steps: [...steps].sort((a, b) => a - b) };
}

/** The real event files in ../shared/samples/tensorboard, with the expectations of its README. */
describe('real TensorBoard files (../shared/samples/tensorboard)', { skip: !present }, () => {
  test('lingvo: 360 scalar summaries of 7 tags each, simple_value, steps 1500-185200', () => {
    const { result, series, steps } = importSample('lingvo-events.out.tfevents.test');
    assert.equal(result.points, 360 * 7);
    assert.equal(Object.keys(series).length, 7);
    for (const s of Object.values(series)) assert.equal(s.length, 360);
    assert.equal(steps.length, 360);
    assert.equal(steps[0], 1500);
    assert.equal(steps.at(-1), 185200);
  });

  test('keras: graph_def and meta_graph_def skipped, 102 summaries, 6 tags x 17 steps', () => {
    const { result, series } = importSample('keras-events.out.tfevents.1585769947.cvp');
    assert.equal(result.points, 102);
    assert.equal(Object.keys(series).length, 6);
    for (const s of Object.values(series)) assert.equal(s.length, 17);
    assert.ok((result.skipped.graph ?? 0) >= 1, JSON.stringify(result.skipped));
  });

  test('strict (PyTorch SummaryWriter): 100 steps, 0-495 by 5', () => {
    const { steps } = importSample('strict-events.out.tfevents.1622543341.0');
    assert.deepEqual(
      steps,
      Array.from({ length: 100 }, (_, i) => i * 5),
    );
  });

  test('duplicate steps: 420 values over 200 distinct steps; the repeated writes are superseded', () => {
    const { result, series, steps } = importSample('duplicate-steps-events.out.tfevents.1622966509.0');
    assert.equal(result.points, 420);
    assert.equal(steps.length, 200);
    const visible = Object.values(series).reduce((n, s) => n + s.length, 0);
    assert.equal(result.superseded, 420 - visible);
  });
});
