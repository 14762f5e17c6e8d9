import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildChartData } from './chart-data.js';
import { layoutLabelRows } from './metric-chart.js';
import { parseRoute } from './route.js';

test('lines of different runs share one step axis, with gaps where a run has no point', () => {
  const data = buildChartData([
    {
      label: 'a',
      points: [
        { step: 0, value: 1, ts: 1 },
        { step: 2, value: 3, ts: 2 },
      ],
    },
    { label: 'b', points: [{ step: 1, value: 5, ts: 1 }] },
  ]);
  assert.deepEqual(data.steps, [0, 1, 2]);
  assert.deepEqual(data.lines, [
    [1, null, 3],
    [null, 5, null],
  ]);
  assert.equal(data.pointCount, 3);
});

test('non-finite values are counted, not drawn', () => {
  const data = buildChartData([
    {
      label: 'a',
      points: [
        { step: 0, value: 'NaN', ts: 1 },
        { step: 1, value: '-Infinity', ts: 1 },
        { step: 2, value: 2, ts: 1 },
      ],
    },
  ]);
  assert.deepEqual(data.lines, [[null, null, 2]]);
  assert.deepEqual(data.nonFinite, [2]);
});

test('several superseded points at one step spread over layers', () => {
  const data = buildChartData(
    [{ label: 'a', points: [{ step: 1, value: 9, ts: 5 }] }],
    [
      { step: 1, value: 1, ts: 1, superseded: true },
      { step: 1, value: 2, ts: 2, superseded: true },
      { step: 2, value: 3, ts: 3, superseded: true },
    ],
  );
  assert.deepEqual(data.steps, [1, 2]);
  assert.deepEqual(data.supersededLayers, [
    [1, 3],
    [2, null],
  ]);
});

test('routes: runs list, run page, compare, login, unknown', () => {
  assert.deepEqual(parseRoute('/', ''), { page: 'runs' });
  assert.deepEqual(parseRoute('/experiments/fx-1', ''), { page: 'run', id: 'fx-1' });
  assert.deepEqual(parseRoute('/compare', '?ids=a,b,,a'), { page: 'compare', ids: ['a', 'b'] });
  assert.deepEqual(parseRoute('/login/', ''), { page: 'login' });
  assert.deepEqual(parseRoute('/experiments/%E0%A4%A', ''), { page: 'not-found' });
  assert.deepEqual(parseRoute('/nope', ''), { page: 'not-found' });
});

test('marker labels that would overlap go to the next row; far apart ones share a row', () => {
  // "resume" at x=100 and "rewind to 1000" at x=110 were drawn over each other.
  assert.deepEqual(
    layoutLabelRows([
      { x: 100, width: 50 },
      { x: 110, width: 90 },
      { x: 160, width: 20 },
      { x: 400, width: 20 },
    ]),
    [0, 1, 0, 0],
  );
});
