import { isSwanlogError, SwanlogError } from '@swanlog/protocol';

/**
 * The server's hints speak HTTP (headers); a CLI user acts through flags and variables. A server
 * that stays unreachable is worth waiting longer for.
 */
export function withCliHint(error: unknown, host: string): unknown {
  if (isSwanlogError(error, 'UNAUTHORIZED')) {
    return new SwanlogError('UNAUTHORIZED', `the server at ${host} refused the API key: ${error.message}`, {
      hint: 'pass a write key with --api-key <key> or set SWANLOG_API_KEY (create one on the server with `swanlog server key create --data <dir> --workspace <ws>`)',
      cause: error,
    });
  }
  if (isSwanlogError(error, 'SERVER_UNREACHABLE')) {
    return new SwanlogError('SERVER_UNREACHABLE', error.message, {
      hint: 'check --host (or SWANLOG_HOST) and that the server runs; --timeout <seconds> waits longer (default 30); a later sync picks up where this one stopped',
      cause: error,
    });
  }
  return error;
}
