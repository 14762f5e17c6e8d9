// Metric keys and config keys that plain `{}` objects or SQLite text would mangle, as `show` and
// `export` print them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { init, isSwanlogError } from 'swanlog';
import { describeResult, parseJsonl, runCli, tempDir } from './test-support/cli.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(r.stderr, '');
  return r.stdout;
}

function refused(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => isSwanlogError(e) && e.code === 'INVALID_VALUE');
}

describe('keys named __proto__', () => {
  // Regression: `show` built its per-key table with `{}`, so assigning keys['__proto__'] set the
  // object's prototype and the key vanished from both the text and the --json output.
  test('show (text and --json) and export list a metric key and a config key named __proto__', async () => {
    const logdir = join(tmp.path, `logdir-${n++}`);
    const run = await init({ logdir, config: JSON.parse('{"__proto__": {"lr": 0.1}, "seed": 1}') });
    run.log(JSON.parse('{"__proto__": 1, "loss": 2}') as Record<string, number>);
    const bare = Object.create(null) as Record<string, number>;
    // biome-ignore lint/suspicious/noProto: an Object.create(null) has no __proto__ accessor; this sets the key under test
    bare.__proto__ = 3;
    run.log(bare);
    await run.finish();
    const dir = run.dir ?? '';

    const details = JSON.parse(await cli(['show', dir, '--json'])) as {
      keys: Record<string, { count: number; lastStep: number; lastValue: number }>;
      config: Record<string, unknown>;
    };
    assert.deepEqual(Object.entries(details.keys), [
      ['__proto__', { count: 2, lastStep: 1, lastValue: 3 }],
      ['loss', { count: 1, lastStep: 0, lastValue: 2 }],
    ]);
    assert.deepEqual(Object.entries(details.config), [
      ['__proto__', { lr: 0.1 }],
      ['seed', 1],
    ]);

    const text = await cli(['show', dir]);
    assert.match(text, /^ {2}__proto__ +2 +1 +3$/m);
    assert.match(text, /config {5}\{"__proto__":\{"lr":0\.1\},"seed":1\}/);

    const points = parseJsonl(await cli(['export', dir, '--format', 'jsonl']));
    assert.deepEqual(
      points.map((p) => [p.key, p.step, p.value]),
      [
        ['__proto__', 0, 1],
        ['__proto__', 1, 3],
        ['loss', 0, 2],
      ],
    );
  });
});

describe('refused log() calls leave no trace in export', () => {
  // Regression: lone-surrogate keys were stored as U+FFFD and merged (a point lost); a Map was
  // accepted, logged nothing and advanced the step.
  test('after refused calls, export shows exactly the good points at steps 0, 1, 2', async () => {
    const logdir = join(tmp.path, `logdir-${n++}`);
    const run = await init({ logdir });
    refused(() => run.log({ good: 2, '\ud800': 1 }));
    refused(() => run.log({ good: 3, '\udc00': 2 }));
    run.log({ good: 10 });
    refused(() => run.log(new Map([['good', 4]]) as unknown as Record<string, number>));
    refused(() => run.log({ good: 5, other: undefined as unknown as number }));
    run.log({ good: 11, other: 1 });
    refused(() => run.log({ good: 6, 'x\udfff': 1 }));
    run.log({ good: 12 });
    await run.finish();

    const points = parseJsonl(await cli(['export', run.dir ?? '', '--format', 'jsonl']));
    assert.deepEqual(
      points.map((p) => [p.key, p.step, p.value]),
      [
        ['good', 0, 10],
        ['good', 1, 11],
        ['good', 2, 12],
        ['other', 1, 1],
      ],
    );
  });
});
