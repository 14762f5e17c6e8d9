// The arbitraries of the model test's commands: which operations a sequence is made of, and how
// often each comes up.
import fc from 'fast-check';
import {
  CloudResumeCommand,
  CopyCommand,
  FinishCommand,
  FlushCommand,
  KillCommand,
  KilledSyncCommand,
  LogCommand,
  NewRunCommand,
  type Proc,
  RestartServerCommand,
  ResumeCommand,
  SigtermCommand,
  SyncCommand,
  type SyncKind,
} from './commands.js';
import type { Json, Model } from './model.js';
import type { RealSystem } from './system.js';

const KEYS = ['loss', 'acc', 'eval/loss'] as const;
const configArb: fc.Arbitrary<Json | null> = fc.option(
  fc.record(
    {
      lr: fc.constantFrom(0.1, 0.01, 0.001),
      opt: fc.record(
        { name: fc.constantFrom('adam', 'sgd'), beta: fc.constantFrom(0.9, 0.99) },
        { requiredKeys: [] },
      ),
      tag: fc.constantFrom<string | null>('a', 'b', null),
    },
    { requiredKeys: [] },
  ),
  { freq: 2 },
);
const keysArb = fc.subarray([...KEYS], { minLength: 1, maxLength: 2 });

/** Names of the operations, for `--without` (a focus while hunting one defect). */
export const OPERATIONS = [
  'new-run',
  'log',
  'flush',
  'finish',
  'kill',
  'zombie',
  'sigterm',
  'resume',
  'copy',
  'sync',
  'sync-new',
  'sync-id',
  'killed-sync',
  'cloud-resume',
  'restart',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Every command, weighted so sequences log, kill, resume, copy and sync often. */
export function allCommands(
  without: ReadonlySet<Operation> = new Set(),
): fc.Arbitrary<fc.AsyncCommand<Model, RealSystem>>[] {
  const nat = fc.nat({ max: 7 });
  const procs: Proc[] = ['inproc', 'inproc', 'inproc'];
  if (!without.has('kill') || !without.has('sigterm')) procs.push('child');
  if (!without.has('zombie')) procs.push('child-zombie');
  const procArb = fc.constantFrom(...procs);
  const syncKinds: fc.Arbitrary<SyncKind>[] = [];
  if (!without.has('sync')) syncKinds.push(fc.constant('auto'), fc.constant('auto'));
  if (!without.has('sync-new')) syncKinds.push(fc.constant('new'));
  if (!without.has('sync-id'))
    syncKinds.push(
      nat.map((id) => ({ id })),
      nat.map((id) => ({ id })),
    );
  // A third of the runs are format 1 (codec-1 chunks, what a swanlog older than format 2 reads),
  // so resumes, copies and syncs meet both formats, and a server holds chunks of both codecs.
  const formatArb = fc.constantFrom<1 | 2>(2, 2, 1);
  const newRun = procArb
    .chain((p) => fc.tuple(fc.constant(p), fc.boolean(), configArb, formatArb))
    .map(([p, named, c, f]) => new NewRunCommand(p, named, c, f));
  const logExplicit = fc
    .tuple(nat, fc.integer({ min: 1, max: 50 }), keysArb, fc.option(fc.nat({ max: 60 }), { freq: 3 }))
    .map(([w, n, k, e]) => new LogCommand(w, n, k, e));
  const logAuto = fc
    .tuple(nat, fc.integer({ min: 1, max: 50 }), keysArb)
    .map(([w, n, k]) => new LogCommand(w, n, k, null));
  const resume = fc
    .tuple(
      nat,
      fc.constantFrom<'must' | 'allow' | true>('must', 'allow', true),
      fc.option(fc.nat({ max: 20 }), { freq: 3 }),
      configArb,
      procArb,
    )
    .map(([r, res, rw, c, p]) => new ResumeCommand(r, res, rw, c, p));
  // [operation, weight, arbitrary]: fc.commands picks uniformly among the list, so weight repeats.
  const ops: [Operation, number, fc.Arbitrary<fc.AsyncCommand<Model, RealSystem>>][] = [
    ['new-run', 2, newRun],
    ['log', 2, logExplicit],
    ['log', 2, logAuto],
    ['flush', 1, nat.map((w) => new FlushCommand(w))],
    ['finish', 1, nat.map((w) => new FinishCommand(w))],
    ['kill', 2, nat.map((w) => new KillCommand(w))],
    ['sigterm', 1, nat.map((w) => new SigtermCommand(w))],
    ['resume', 2, resume],
    ['copy', 1, nat.map((r) => new CopyCommand(r))],
    [
      'killed-sync',
      1,
      fc.tuple(nat, fc.integer({ min: 0, max: 800 })).map(([r, d]) => new KilledSyncCommand(r, d)),
    ],
    [
      'cloud-resume',
      1,
      fc.tuple(nat, fc.integer({ min: 1, max: 20 })).map(([e, n]) => new CloudResumeCommand(e, n)),
    ],
    ['restart', 1, fc.boolean().map((same) => new RestartServerCommand(same))],
  ];
  const out = ops.filter(([op]) => !without.has(op)).flatMap(([, weight, arb]) => Array(weight).fill(arb));
  if (syncKinds.length > 0) {
    const sync = fc.tuple(nat, fc.oneof(...syncKinds)).map(([r, t]) => new SyncCommand(r, t));
    out.push(sync, sync, sync);
  }
  return out;
}
