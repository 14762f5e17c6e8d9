import fc from 'fast-check';
import { allCommands, type Operation } from './all-commands.js';
import type { Model } from './model.js';
import { RealSystem } from './system.js';

export interface RunModelOptions {
  seed: number;
  /** Sequences to run. */
  runs: number;
  /** fast-check's shrink path of a failure, to replay it. */
  path?: string;
  /** The commands' replay path fast-check printed with a failure (`replayPath="..."`). */
  replayPath?: string;
  /** Most commands generated per sequence (default 40; those whose precondition fails are skipped). */
  maxCommands?: number;
  /** Operations left out of the sequences (to look past a known defect). */
  without?: Operation[];
  /** Called after each sequence. */
  onSequence?: (done: { sequences: number; commands: number }) => void;
}

export interface RunModelReport {
  seed: number;
  /** The options besides seed and path that a replay needs (`--max-commands`, `--without`). */
  replayArgs: string;
  sequences: number;
  commands: number;
  ms: number;
  /** Set when a sequence failed: the shrunk sequence and the first mismatch, readable. */
  failure?: { path: string; replay: string; message: string };
}

/** Runs `runs` random sequences of user operations against a fresh system and model each. */
export async function runModel(options: RunModelOptions): Promise<RunModelReport> {
  quietRewriteWarnings();
  const started = Date.now();
  let sequences = 0;
  let commands = 0;
  const commandsArb = fc.commands(allCommands(new Set(options.without ?? [])), {
    maxCommands: options.maxCommands ?? 40,
    size: 'max',
    ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
  });
  const property = fc.asyncProperty(commandsArb, async (cmds) => {
    const { model, real } = await freshSetup();
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
    } finally {
      commands += model.commands;
      sequences += 1;
      await real.close();
      options.onSequence?.({ sequences, commands });
    }
  });
  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.runs,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  const replayArgs = [
    options.maxCommands === undefined || options.maxCommands === 40
      ? ''
      : ` --max-commands ${options.maxCommands}`,
    (options.without ?? []).length === 0 ? '' : ` --without ${options.without!.join(',')}`,
  ].join('');
  const report: RunModelReport = {
    seed: options.seed,
    replayArgs,
    sequences,
    commands,
    ms: Date.now() - started,
  };
  if (details.failed) {
    const example = details.counterexample?.[0] as unknown as
      | { commands: { hasRan: boolean; toString(): string }[]; metadataForReplay: () => string }
      | undefined;
    const ran = example?.commands.filter((c) => c.hasRan).map((c, i) => `  ${i + 1}. ${c.toString()}`) ?? [];
    const error = details.errorInstance;
    report.failure = {
      path: details.counterexamplePath ?? '',
      replay: example?.metadataForReplay() ?? '',
      message: `${ran.join('\n')}\n${error instanceof Error ? (error.name === 'ModelMismatch' ? error.message : error.stack) : String(error)}`,
    };
  }
  return report;
}

/**
 * Sequences rewrite steps on purpose; the SDK's one warning per resumed handle would flood the
 * output. Every other warning is still printed.
 */
function quietRewriteWarnings(): void {
  if (process.listeners('warning').includes(printOtherWarnings)) return;
  process.removeAllListeners('warning');
  process.on('warning', printOtherWarnings);
}

function printOtherWarnings(warning: Error & { code?: string }): void {
  if (warning.code === 'SWANLOG_STEP_REWRITE') return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
}

async function freshSetup(): Promise<{ model: Model; real: RealSystem }> {
  const real = await RealSystem.start();
  real.withKey();
  const model: Model = {
    clock: 0,
    nextId: 0,
    runs: [],
    experiments: [],
    writers: [],
    logdirs: [real.mainLogdir],
    commands: 0,
  };
  return { model, real };
}

/**
 * Runs one fixed sequence of commands against a fresh system (a regression test's scenario);
 * every precondition must hold. Throws the first mismatch.
 */
export async function runSequence(commands: fc.AsyncCommand<Model, RealSystem>[]): Promise<void> {
  quietRewriteWarnings();
  const { model, real } = await freshSetup();
  try {
    for (const [i, command] of commands.entries()) {
      if (!command.check(model)) throw new Error(`command ${i + 1} (${command.toString()}) cannot run here`);
      await command.run(model, real);
    }
  } finally {
    await real.close();
  }
}

/** The failure as printed by `pnpm test:model` and the test: seed, path, sequence, mismatch. */
export function formatFailure(report: RunModelReport): string {
  const f = report.failure;
  if (f === undefined) return '';
  const replay = f.replay === '' ? '' : ` --replay-path '${f.replay.replace(/^replayPath="|"$/g, '')}'`;
  return (
    `model test failed: seed ${report.seed}, path ${f.path}\n` +
    `replay: pnpm test:model --seed ${report.seed} --path ${f.path}${report.replayArgs}${replay}\n` +
    `shrunk sequence:\n${f.message}\n`
  );
}
