// Runs every compiled test file (dist/**/*.test.js) of the workspace with node's test runner.
// `tsc -b` compiles the tests next to the code they test; pass file filters as arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collect(path, out);
    else if (entry.name.endsWith('.test.js') && path.includes('/dist/')) out.push(path);
  }
  return out;
}

const files = ['packages', 'apps', 'swanlog-fixtures', 'bench']
  .flatMap((d) => collect(join(root, d), []))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
// The Python suites run too, with the venv scripts/setup-python.sh makes (.venv-py), when no
// filter is given or a filter names them (`node scripts/run-tests.mjs sdk-python`): the Python
// SDK's, and the PyTorch example trainer's (each its own pytest process: both have a conftest.py).
const pythonSuites = [
  { dir: 'packages/sdk-python', tests: 'packages/sdk-python/tests', what: "the Python SDK's tests" },
  {
    dir: 'apps/example-train-torch',
    tests: 'apps/example-train-torch/tests',
    what: "the PyTorch example trainer's tests",
  },
].filter((s) => filters.length === 0 || filters.some((p) => s.dir.includes(p) || p.startsWith(s.dir)));
const venvPython = join(root, '.venv-py', 'bin', 'python');
const runPython = pythonSuites.length > 0;
if (files.length === 0 && !runPython) {
  console.error(
    `no test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}; did \`tsc -b\` run?`,
  );
  process.exit(1);
}
let status = 0;
if (files.length > 0) {
  console.log(`running ${files.length} test file(s): ${files.map((f) => relative(root, f)).join(', ')}`);
  const result = spawnSync(
    process.execPath,
    ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
    { stdio: 'inherit', cwd: root },
  );
  status = result.status ?? 1;
}
if (runPython && !existsSync(venvPython)) {
  // The README's test command sets everything up: the venv is made once, here, when missing.
  console.log('making .venv-py for the Python tests (bash scripts/setup-python.sh)');
  const setup = spawnSync('bash', [join(root, 'scripts', 'setup-python.sh')], {
    stdio: 'inherit',
    cwd: root,
  });
  if (setup.status !== 0) {
    console.error('scripts/setup-python.sh failed: the Python tests cannot run');
    status = 1;
  }
}
if (runPython) {
  if (existsSync(venvPython)) {
    for (const suite of pythonSuites) {
      console.log(`running ${suite.what} (${suite.tests}) with .venv-py`);
      const py = spawnSync(
        venvPython,
        ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', join(root, suite.tests)],
        { stdio: 'inherit', cwd: root },
      );
      if (status === 0) status = py.status ?? 1;
    }
  } else {
    status = 1;
  }
}
process.exit(status);
