import type { Command } from 'commander';

/** Declares `swanlog sync` and `swanlog clean` on the program. */
export function registerSyncCommands(_program: Command): void {}
