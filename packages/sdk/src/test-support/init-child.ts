// `node init-child.js '<json init options>'`: calls init() and prints one JSON line, the run's
// directory or the SwanlogError it met, so a parent can run init() with other permissions.
import { type InitOptions, init, isSwanlogError } from '../index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as InitOptions;
try {
  const run = await init(options);
  await run.finish();
  process.stdout.write(`${JSON.stringify({ dir: run.dir })}\n`);
} catch (error) {
  if (!isSwanlogError(error)) throw error;
  process.stdout.write(`${JSON.stringify({ code: error.code, message: error.message, hint: error.hint })}\n`);
}
