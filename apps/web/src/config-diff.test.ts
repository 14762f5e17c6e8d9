import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareConfigs, configHistory, flattenConfig } from './config-diff.js';

test('each revision lists what it added, changed and removed against the merged config before it', () => {
  const history = configHistory([
    { ts: 1, source: null, patch: { lr: 0.1, optimizer: { name: 'adam', beta: 0.9 }, tags: [1] } },
    { ts: 2, source: 'a', patch: { lr: 0.01, optimizer: { beta: null, eps: 1e-8 } } },
    { ts: 3, source: 'b', patch: { tags: [1, 2], lr: 0.01 } },
    { ts: 4, source: 'b', patch: { optimizer: null } },
  ]);
  const summary = history.map((r) => r.changes.map((c) => `${c.kind} ${c.key}`));
  assert.deepEqual(summary, [
    ['added lr', 'added optimizer/beta', 'added optimizer/name', 'added tags'],
    ['changed lr', 'removed optimizer/beta', 'added optimizer/eps'],
    ['changed tags'],
    ['removed optimizer/eps', 'removed optimizer/name'],
  ]);
  assert.deepEqual(history[1]!.changes[0], { key: 'lr', kind: 'changed', before: 0.1, after: 0.01 });
  assert.deepEqual(history[2]!.changes[0], { key: 'tags', kind: 'changed', before: '[1]', after: '[1,2]' });
});

test('compared configs: a key that differs or that one run lacks is marked', () => {
  const { keys, differing } = compareConfigs([
    flattenConfig({ lr: 0.1, model: { layers: 2 }, seed: 1 }),
    flattenConfig({ lr: 0.1, model: { layers: 4 } }),
  ]);
  assert.deepEqual(keys, ['lr', 'model/layers', 'seed']);
  assert.deepEqual([...differing].sort(), ['model/layers', 'seed']);
});
