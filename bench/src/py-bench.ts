// The Python SDK's figures: bench_log.py of packages/sdk-python runs in the Python of .venv-py
// (scripts/setup-python.sh), else python3, with the checkout's package on PYTHONPATH. Stdlib only.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PythonFigures {
  py_log_points_per_s: number;
  py_jsonl_points_per_s: number;
  py_log_1000keys_call_ms: number;
  py_train_overhead_ratio: number;
}

const root = new URL('../..', import.meta.url).pathname;

/** Runs the Python bench; undefined (and says why on stderr) when no Python 3 is available. */
export function pythonBench(work: string, quick: boolean): PythonFigures | undefined {
  const venv = join(root, '.venv-py', 'bin', 'python');
  const python = existsSync(venv) ? venv : 'python3';
  const script = join(root, 'packages', 'sdk-python', 'bench', 'bench_log.py');
  const result = spawnSync(python, [script, work, ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: join(root, 'packages', 'sdk-python', 'src') },
    timeout: 600_000,
  });
  if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write('bench: no python3, the py_* figures are left out\n');
    return undefined;
  }
  if (result.status !== 0) throw new Error(`bench_log.py exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as PythonFigures;
}
