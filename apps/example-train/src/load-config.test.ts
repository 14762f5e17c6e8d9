import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSwanlogError } from '@swanlog/protocol';
import { parseConfig } from './load-config.js';

const MINIMAL = `
experiment: { name: e, dir: exp }
training: { epochs: 3, checkpoint_interval: 1, batches_per_epoch: 2, seed: 5 }
swanlog: { mode: offline, project: p }
`;

function invalid(yaml: string, names: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSwanlogError(e, 'INVALID_OPTION'), String(e));
    assert.ok(e.message.includes(names), `${e.message} does not name ${names}`);
    assert.ok(e.hint !== undefined && e.hint.length > 0, `no hint for ${yaml}`);
    return true;
  };
}

test('a minimal config gets every default, experiment.dir resolved against cwd', () => {
  const c = parseConfig(MINIMAL, 'c.yaml', '/work');
  assert.equal(c.experiment.dir, '/work/exp');
  assert.equal(c.training.epochs, 3);
  assert.equal(c.data.seed, 5, 'data.seed defaults to training.seed');
  assert.deepEqual(c.model.hidden, [32, 32]);
  assert.equal(c.scheduler.kind, 'cosine');
  assert.equal(c.swanlog.host, undefined);
});

test('a missing key, a wrong type, an unknown mode or an unknown key is INVALID_OPTION naming the key', () => {
  const cases: [string, string][] = [
    [MINIMAL.replace('epochs: 3, ', ''), 'training.epochs'],
    [MINIMAL.replace('name: e, ', ''), 'experiment.name'],
    [MINIMAL.replace('epochs: 3', 'epochs: ten'), 'training.epochs'],
    [MINIMAL.replace('epochs: 3', 'epochs: 2.5'), 'training.epochs'],
    [MINIMAL.replace('seed: 5', 'seed: -1'), 'training.seed'],
    [MINIMAL.replace('mode: offline', 'mode: online'), 'swanlog.mode'],
    [MINIMAL.replace('mode: offline', 'mode: cloud'), 'swanlog.host'],
    [`${MINIMAL}model: { hidden: [8, x] }\n`, 'model.hidden'],
    [`${MINIMAL}optimizer: { lr: 0 }\n`, 'optimizer.lr'],
    [`${MINIMAL}optimiser: { lr: 0.1 }\n`, 'optimiser'],
    [MINIMAL.replace('seed: 5', 'seed: 5, epoch: 4'), 'training.epoch'],
    [MINIMAL.replace(/swanlog:.*\n/, ''), 'swanlog'],
    [MINIMAL.replace(/training:.*\n/, 'training: [1, 2]\n'), 'training'],
    ['experiment: {name: e\n', 'not valid YAML'],
  ];
  for (const [yaml, names] of cases) {
    assert.throws(() => parseConfig(yaml, 'c.yaml', '/work'), invalid(yaml, names), yaml);
  }
});

test('cloud mode takes host from the config', () => {
  const c = parseConfig(MINIMAL.replace('mode: offline', 'mode: cloud, host: "http://h:1"'), 'c.yaml', '/');
  assert.equal(c.swanlog.mode, 'cloud');
  assert.equal(c.swanlog.host, 'http://h:1');
});
