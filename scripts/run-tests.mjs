// Runs every compiled test file (dist/**/*.test.js) of the workspace with node's test runner.
// `tsc -b` compiles the tests next to the code they test; pass file filters as arguments.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
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
if (files.length === 0) {
  console.error(
    `no test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}; did \`tsc -b\` run?`,
  );
  process.exit(1);
}
console.log(`running ${files.length} test file(s): ${files.map((f) => relative(root, f)).join(', ')}`);
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
