// SwanLab also logs into ./swanlog, with run-<time>-<id> folders: swanlog must recognise them as
// SwanLab runs, never report them as damaged swanlog runs.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { copyFixtures, describeResult, runCli, tempDir } from './test-support/cli.js';

const tmp = tempDir();
after(() => tmp.remove());

function swanlabFolder(logdir: string, name: string, file: string): string {
  const dir = join(logdir, name);
  mkdirSync(join(dir, 'files'), { recursive: true });
  writeFileSync(join(dir, file), Buffer.from(':SWL\xd6\xe1\x02', 'latin1'));
  writeFileSync(join(dir, 'files', 'config.yaml'), 'lr:\n  value: 0.1\n');
  return dir;
}

describe('SwanLab folders in a log directory', () => {
  test('ls lists them as SwanLab runs (kind, id, not imported) beside the swanlog runs, exit 0', async () => {
    const logdir = copyFixtures(tmp.path);
    const v08 = swanlabFolder(logdir, 'run-20240101_120000-ab12cd', 'run-ab12cd.swanlab');
    const v06 = swanlabFolder(logdir, 'run-20230101_120000-old001', 'backup.swanlab');
    const r = await runCli(['ls', logdir, '--json']);
    assert.equal(r.code, 0, describeResult(r));
    const entries = JSON.parse(r.stdout) as {
      dir: string;
      kind?: string;
      id: string;
      importedAs?: string | null;
      error?: unknown;
    }[];
    // The fixtures' damaged runs are errors; the SwanLab folders are not.
    assert.ok(
      !entries.some((e) => e.error !== undefined && (e.dir === v08 || e.dir === v06)),
      describeResult(r),
    );
    assert.deepEqual(
      entries.filter((e) => e.kind === 'swanlab'),
      [
        { dir: v06, kind: 'swanlab', id: 'old001', importedAs: null },
        { dir: v08, kind: 'swanlab', id: 'ab12cd', importedAs: null },
      ],
    );
    const text = await runCli(['ls', logdir]);
    assert.match(text.stdout, new RegExp(`^~ ${v08}: SwanLab run ab12cd \\(not imported\\)$`, 'm'));
    assert.doesNotMatch(text.stdout, new RegExp(`^! ${v08}`, 'm'));
  });
});
