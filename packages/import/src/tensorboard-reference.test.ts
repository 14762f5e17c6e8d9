import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { importSources } from './import-sources.js';
import { readReference, refNumber, TB_RUNS, tempDir, visibleSeries } from './test-support/fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());

/**
 * TensorBoard's own reader is the referee: for every fixture run (written by torch, tensorboardX
 * and tensorboard's writer), swanlog's visible series equals what EventAccumulator keeps, where a
 * step TensorBoard keeps twice shows its last write.
 */
describe('TensorBoard fixtures against EventAccumulator (reference.json)', () => {
  const reference = readReference();
  const results = importSources({ cwd: tmp.path, paths: [TB_RUNS], logdir: tmp.path });

  test('every fixture run is imported, none failed', () => {
    assert.deepEqual(results.map((r) => r.sourceId).sort(), Object.keys(reference).sort());
    for (const r of results) {
      assert.equal(r.error, undefined, `${r.sourceId}: ${JSON.stringify(r.error)}`);
      assert.equal(r.action, 'created');
    }
  });

  for (const [runId, tags] of Object.entries(reference)) {
    test(`${runId}: the visible series are TensorBoard's, point by point`, () => {
      const result = results.find((r) => r.sourceId === runId);
      assert.ok(result?.dir, `no run for ${runId}`);
      const series = visibleSeries(result.dir);
      assert.deepEqual(Object.keys(series).sort(), Object.keys(tags).sort());
      for (const [tag, points] of Object.entries(tags)) {
        const lastByStep = new Map<number, [number, number]>();
        for (const [step, value, wallTime] of points) lastByStep.set(step, [refNumber(value), wallTime]);
        const expected = [...lastByStep.entries()].sort((a, b) => a[0] - b[0]);
        const got = series[tag]!;
        assert.deepEqual(
          got.map((p) => p.step),
          expected.map(([s]) => s),
          `${runId} ${tag}: steps`,
        );
        got.forEach((p, i) => {
          const [value, wallTime] = expected[i]![1];
          assert.ok(Object.is(p.value, value), `${runId} ${tag} step ${p.step}: ${p.value} !== ${value}`);
          assert.equal(p.ts, Math.round(wallTime * 1000), `${runId} ${tag} step ${p.step}: ts`);
        });
      }
    });
  }

  test('a step written twice: the earlier write is superseded, the run reports it', () => {
    const tbx = results.find((r) => r.sourceId === 'tbx')!;
    assert.equal(tbx.superseded, 1);
    assert.equal(visibleSeries(tbx.dir!).loss!.find((p) => p.step === 7)?.value, 42);
  });

  test('non-scalar events are counted and skipped, by kind', () => {
    const purge = results.find((r) => r.sourceId === 'torch-purge')!;
    assert.deepEqual(purge.skipped, { histogram: 1, image: 1, text: 1 });
    assert.deepEqual(results.find((r) => r.sourceId === 'tensor-dtypes')!.skipped, { histograms: 4 });
  });

  test('each event file (writer restart) is a session; purge_step is a rewind', () => {
    const purge = results.find((r) => r.sourceId === 'torch-purge')!;
    assert.equal(purge.sessions, 2);
    const loss = visibleSeries(purge.dir!)['train/loss']!;
    assert.deepEqual(
      loss.map((p) => p.value),
      [1, 0.5, Math.fround(1 / 3), 0.25, Math.fround(0.2), 15, 16, 17, 18, 19, 20, 21, 22],
    );
  });
});
