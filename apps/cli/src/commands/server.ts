import type { Command } from 'commander';

/** Declares `swanlog server` and `swanlog server key ...` on the program. */
export function registerServerCommands(_program: Command): void {}
