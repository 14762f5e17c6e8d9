#!/usr/bin/env node
// `pnpm example-train --config <yaml> [--resume]`: trains a small MLP with checkpoints and exact resume.
import { parseArgs } from 'node:util';
import { isSwanlogError } from 'swanlog';
import { runTraining } from './run-training.js';

const USAGE = 'usage: example-train --config <file.yaml> [--resume]';

async function main(): Promise<number> {
  let values: { config?: string | undefined; resume?: boolean | undefined };
  try {
    ({ values } = parseArgs({ options: { config: { type: 'string' }, resume: { type: 'boolean' } } }));
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    process.stderr.write(`error[INVALID_OPTION]: ${error.message}\nhint: ${USAGE}\n`);
    return 2;
  }
  if (values.config === undefined) {
    process.stderr.write(`error[INVALID_OPTION]: --config is required\nhint: ${USAGE}\n`);
    return 2;
  }
  try {
    await runTraining({
      config: values.config,
      resume: values.resume === true,
      cwd: process.cwd(),
      env: process.env,
      print: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } catch (error) {
    if (!isSwanlogError(error)) throw error;
    process.stderr.write(`error[${error.code}]: ${error.message}\n`);
    if (error.hint !== undefined) process.stderr.write(`hint: ${error.hint}\n`);
    return 1;
  }
}

process.exitCode = await main();
