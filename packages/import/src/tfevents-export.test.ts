import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { importSources } from './import-sources.js';
import { exportTfevents } from './tensorboard/export-tfevents.js';
import { refNumber, TB_FIXTURES, TB_RUNS, tempDir, visibleSeries } from './test-support/fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());

/** The fixture runs whose swanlog export is committed with EventAccumulator's view of it. */
const EXPORTED = ['tbx', 'tensor-dtypes', 'torch-purge'];

describe('swanlog export --format tfevents', () => {
  const imported = importSources({ cwd: tmp.path, paths: [TB_RUNS], logdir: join(tmp.path, 'logs') });

  test('export → import gives the same visible series (steps, values, timestamps), for every fixture run', () => {
    for (const run of imported) {
      const out = join(tmp.path, 'exported', run.sourceId!);
      const written = exportTfevents(run.dir!, out);
      const back = importSources({ cwd: tmp.path, paths: [out], logdir: join(tmp.path, 'back') })[0]!;
      assert.equal(back.error, undefined);
      assert.equal(back.points, written.points);
      assert.deepEqual(visibleSeries(back.dir!), visibleSeries(run.dir!), run.sourceId!);
    }
  });

  test('the export is deterministic: byte for byte the committed one (exported/<run>/)', () => {
    for (const id of EXPORTED) {
      const run = imported.find((r) => r.sourceId === id)!;
      const out = join(tmp.path, 'again', id);
      const { file } = exportTfevents(run.dir!, out);
      const committedDir = join(TB_FIXTURES, 'exported', id);
      const [committed] = readdirSync(committedDir).filter((f) => f.includes('tfevents'));
      assert.equal(file.slice(file.lastIndexOf('/') + 1), committed);
      assert.ok(readFileSync(file).equals(readFileSync(join(committedDir, committed!))), id);
    }
  });

  test("TensorBoard's EventAccumulator reads the export as the run's visible series, exactly", () => {
    const reference = JSON.parse(readFileSync(join(TB_FIXTURES, 'exported-reference.json'), 'utf8'))
      .runs as Record<string, Record<string, [number, number | string, number][]>>;
    assert.deepEqual(Object.keys(reference).sort(), [...EXPORTED].sort());
    for (const id of EXPORTED) {
      const series = visibleSeries(imported.find((r) => r.sourceId === id)!.dir!);
      const seen = reference[id]!;
      assert.deepEqual(Object.keys(seen).sort(), Object.keys(series).sort(), id);
      for (const [tag, points] of Object.entries(seen)) {
        const mine = series[tag]!;
        assert.equal(points.length, mine.length, `${id} ${tag}`);
        points.forEach(([step, value, wallTime], i) => {
          assert.equal(step, mine[i]!.step);
          assert.ok(Object.is(refNumber(value as never), mine[i]!.value), `${id} ${tag} step ${step}`);
          assert.equal(Math.round(wallTime * 1000), mine[i]!.ts);
        });
      }
    }
  });
});
