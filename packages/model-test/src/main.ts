// `pnpm test:model [--seed S] [--runs N] [--path P] [--replay-path R] [--max-commands C] [--without ops]`:
// runs the model test; without --seed a random seed is chosen and printed, so any failure can be
// replayed (with the same --max-commands and --without).
import { parseArgs } from 'node:util';
import { OPERATIONS, type Operation } from './all-commands.js';
import { formatFailure, runModel } from './run-model.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    runs: { type: 'string', default: '100' },
    path: { type: 'string' },
    'replay-path': { type: 'string' },
    'max-commands': { type: 'string', default: '40' },
    without: { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
const USAGE =
  'usage: pnpm test:model [--seed S] [--runs N] [--path P] [--replay-path R] [--max-commands C] [--without op,...]\n';
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const without = values.without.split(',').filter((w) => w !== '') as Operation[];
for (const w of without) {
  if (!OPERATIONS.includes(w)) {
    process.stderr.write(`--without ${w}: not an operation (${OPERATIONS.join(', ')})\n`);
    process.exit(2);
  }
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const runs = Number(values.runs);
const maxCommands = Number(values['max-commands']);
if (
  !Number.isSafeInteger(seed) ||
  !Number.isSafeInteger(runs) ||
  runs < 1 ||
  !Number.isSafeInteger(maxCommands)
) {
  process.stderr.write(
    'usage: pnpm test:model [--seed S] [--runs N] [--path P] [--replay-path R] [--max-commands C]\n',
  );
  process.exit(2);
}
process.stdout.write(`model test: seed ${seed}, ${runs} sequence(s) of up to ${maxCommands} commands\n`);
const tty = process.stdout.isTTY === true;
const report = await runModel({
  seed,
  runs,
  maxCommands,
  without,
  ...(values.path === undefined ? {} : { path: values.path }),
  ...(values['replay-path'] === undefined ? {} : { replayPath: values['replay-path'] }),
  onSequence: ({ sequences, commands }) => {
    if (tty) process.stdout.write(`\r${sequences} sequences, ${commands} commands`);
    else if (sequences % 50 === 0) process.stdout.write(`${sequences} sequences, ${commands} commands\n`);
  },
});
if (tty) process.stdout.write('\n');
process.stdout.write(
  `${report.sequences} sequences (shrinking included), ${report.commands} commands, ${(report.ms / 1000).toFixed(1)} s\n`,
);
if (report.failure !== undefined) {
  process.stderr.write(formatFailure(report));
  process.exit(1);
}
process.stdout.write('model test passed\n');
