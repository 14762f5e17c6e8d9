import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyFilter, type FilterableRow, filterProblem, parseFilter } from './filter-expr.js';

function row(id: string, over: Partial<FilterableRow> = {}): FilterableRow {
  return { id, name: null, project: 'p', state: 'finished', tags: [], config: {}, metrics: {}, ...over };
}

const rows = [
  row('a', {
    name: 'adam small',
    config: { lr: 0.01, 'optimizer/name': 'adam' },
    metrics: { 'val/acc': { last: 0.95 } },
  }),
  row('b', {
    state: 'crashed',
    tags: ['baseline'],
    config: { lr: 0.1, 'optimizer/name': 'sgd' },
    metrics: { 'val/acc': { last: 0.5 } },
  }),
  row('c', { config: { lr: 0.001 }, metrics: { lr: { last: 0.5 } } }),
];
const ids = (q: string) => applyFilter(rows, q).map((r) => r.id);

test('parses key op value, state:, tag: and free text', () => {
  assert.deepEqual(parseFilter('lr>=0.01 state:crashed tag:baseline adam metric.lr<1'), [
    { kind: 'compare', scope: 'any', key: 'lr', op: '>=', value: '0.01' },
    { kind: 'state', value: 'crashed' },
    { kind: 'tag', value: 'baseline' },
    { kind: 'text', value: 'adam' },
    { kind: 'compare', scope: 'metric', key: 'lr', op: '<', value: '1' },
  ]);
});

test('numeric and string comparisons on config and metric keys', () => {
  assert.deepEqual(ids('lr=0.01'), ['a']);
  assert.deepEqual(ids('lr<0.05'), ['a', 'c']);
  assert.deepEqual(ids('lr!=0.1'), ['a', 'c']);
  assert.deepEqual(ids('optimizer/name=adam'), ['a']);
  assert.deepEqual(ids('val/acc>0.9'), ['a']);
  assert.deepEqual(ids('val/acc<=0.5'), ['b']);
});

test('spaces mean AND; state and tag filter their fields', () => {
  assert.deepEqual(ids('lr>0.005 val/acc<0.9'), ['b']);
  assert.deepEqual(ids('state:crashed'), ['b']);
  assert.deepEqual(ids('tag:baseline'), ['b']);
  assert.deepEqual(ids('tag:baseline state:finished'), []);
});

test('config keys win over metric keys; config. and metric. disambiguate', () => {
  assert.deepEqual(ids('lr=0.001'), ['c']);
  assert.deepEqual(ids('metric.lr=0.5'), ['c']);
  assert.deepEqual(ids('config.lr=0.5'), []);
});

test('free text matches id, name, project; quotes keep spaces; empty keeps all', () => {
  assert.deepEqual(ids('small'), ['a']);
  assert.deepEqual(ids('"adam small"'), ['a']);
  assert.deepEqual(ids('  '), ['a', 'b', 'c']);
  assert.deepEqual(ids('nosuchkey>1'), []);
});

test('filterProblem names a missing value, a missing key and an unknown key', () => {
  const config = ['lr', 'optimizer/name'];
  const metrics = ['val/acc', 'lr'];
  assert.equal(filterProblem('lr>0.01 val/acc>=0.9 state:crashed tag:x adam', config, metrics), null);
  assert.equal(filterProblem('', config, metrics), null);
  assert.match(filterProblem('lr>', config, metrics) ?? '', /no value after >/);
  assert.match(filterProblem('>3', config, metrics) ?? '', /needs a key first/);
  assert.match(
    filterProblem('lrr=1', config, metrics) ?? '',
    /unknown key "lrr".*known: lr, optimizer\/name/,
  );
  assert.match(filterProblem('config.val/acc>1', config, metrics) ?? '', /unknown config key "val\/acc"/);
  assert.equal(filterProblem('metric.lr<1', config, metrics), null);
});
