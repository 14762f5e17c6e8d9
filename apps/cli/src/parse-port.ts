import { SwanlogError } from '@swanlog/protocol';

/** The `--port` option of a serving command: `fallback` when absent, else an integer 0-65535. */
export function parsePort(port: string | undefined, fallback: number): number {
  if (port === undefined) return fallback;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new SwanlogError(
      'INVALID_OPTION',
      `--port must be an integer from 0 to 65535, not ${JSON.stringify(port)}`,
    );
  return n;
}
