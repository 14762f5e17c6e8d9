import { hasControlCharacters } from './control-characters.js';

/** Longest metric key, project, workspace or run name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 255;

/**
 * Whether `s` may be a metric key, project, workspace or run name: 1-255 UTF-16 code units, no
 * control characters, and well-formed (no lone surrogate). SQLite stores text as UTF-8 and turns
 * a lone surrogate into U+FFFD, so `"\ud800"` and `"\udc00"` would be read back as one name.
 */
export function isValidName(s: string): boolean {
  return s.length > 0 && s.length <= MAX_NAME_LENGTH && s.isWellFormed() && !hasControlCharacters(s);
}
