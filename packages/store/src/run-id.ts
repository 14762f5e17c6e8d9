import { randomBytes } from 'node:crypto';
import { SwanlogError } from '@swanlog/protocol';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const GENERATED_LENGTH = 21;
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh run id: 21 characters of [0-9a-z] from the crypto RNG (about 108 bits). */
export function generateRunId(): string {
  let id = '';
  while (id.length < GENERATED_LENGTH) {
    for (const byte of randomBytes(32)) {
      // 252 = 7 * 36: rejecting the top bytes keeps every character equally likely.
      if (byte < 252 && id.length < GENERATED_LENGTH) id += ALPHABET[byte % 36];
    }
  }
  return id;
}

/** Throws INVALID_RUN_ID unless `id` is 1-64 characters of [A-Za-z0-9_-]. */
export function assertRunId(id: unknown, source = 'id'): asserts id is string {
  if (typeof id !== 'string' || !USER_ID.test(id)) {
    throw new SwanlogError('INVALID_RUN_ID', `${source} ${JSON.stringify(id)} is not a valid run id`, {
      hint: 'a run id is 1-64 characters of letters, digits, "_" and "-"',
    });
  }
}
