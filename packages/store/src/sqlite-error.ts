import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';

interface SqliteLikeError {
  code?: unknown;
}

/** Hints that say what the caller's failure leaves behind, instead of the generic ones. */
export type StorageErrorHints = Partial<Record<'STORAGE_FULL' | 'STORAGE_READ_ONLY', string>>;

/**
 * Wraps a SQLite or file-system failure touching `path` in a SwanlogError with the code a user can
 * act on. Errors that are already SwanlogErrors pass through unchanged.
 */
export function wrapStorageError(
  error: unknown,
  path: string,
  action: string,
  hints: StorageErrorHints = {},
): SwanlogError {
  if (error instanceof SwanlogError) return error;
  const code = typeof (error as SqliteLikeError)?.code === 'string' ? (error as { code: string }).code : '';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return new SwanlogError('STORAGE_FULL', `no space left to ${action} ${path}`, {
      hint:
        hints.STORAGE_FULL ??
        'free disk space or point SWANLOG_LOGDIR to a larger volume; points logged before this are intact',
      cause: error,
    });
  }
  const cannotCreate = code === 'SQLITE_CANTOPEN' && !isWritableDir(path);
  if (
    code.startsWith('SQLITE_READONLY') ||
    code === 'EROFS' ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    cannotCreate
  ) {
    return new SwanlogError('STORAGE_READ_ONLY', `cannot ${action} ${path}: storage is read-only`, {
      hint:
        hints.STORAGE_READ_ONLY ??
        'check the permissions and mount of the log directory, or choose another logdir',
      cause: error,
    });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SwanlogError('RUN_DIR_CORRUPT', `${path} is damaged (${code})`, {
      hint: 'run `swanlog verify` on the run directory; copies made with `swanlog copy` are unaffected',
      cause: error,
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new SwanlogError('RUN_DIR_CORRUPT', `cannot ${action} ${path}: ${detail}`, { cause: error });
}

/**
 * Whether files can be created where `path` points: in it when it is a directory (and in its
 * writers/ directory, where sessions create their files), else beside it.
 */
function isWritableDir(path: string): boolean {
  let dirs: string[];
  try {
    dirs = statSync(path).isDirectory() ? [path, join(path, 'writers')] : [dirname(path)];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') dirs = [dirname(path)];
    else throw error;
  }
  try {
    for (const dir of dirs) accessSync(dir, constants.W_OK);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true; // a missing writers/ is not a permission problem
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return false;
    throw error;
  }
}
