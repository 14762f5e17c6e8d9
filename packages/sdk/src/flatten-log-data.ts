import { describeValue, isPlainObject, isValidName, SwanlogError } from '@swanlog/protocol';

/** A key log() left out under `onInvalid: 'warn'`, and why. */
export interface SkippedKey {
  key: string;
  reason: string;
}

export interface FlattenResult {
  /** The call's values by flattened key (a null-prototype object, so `__proto__` is a key). */
  values: Record<string, number>;
  skipped: SkippedKey[];
}

/**
 * Flattens one log() call: nested plain objects become `parent/child` keys, depth first in key
 * order. A value that is neither a number nor a plain object, a symbol key, or a flattened key that
 * another key of the call also yields is INVALID_VALUE; with `skip` they are left out and listed
 * instead (a colliding key loses all of its values: which one was meant cannot be told).
 */
export function flattenLogData(runId: string, data: Record<string, unknown>, skip: boolean): FlattenResult {
  const flat = new Flattener(runId, skip);
  flat.walk(data, '', []);
  for (const key of flat.collided) delete flat.values[key];
  return { values: flat.values, skipped: flat.skipped };
}

/**
 * Under `onInvalid: 'warn'`: the values without the keys that are not valid metric keys (the
 * writer refuses the whole call for one of them).
 */
export function dropInvalidKeys(values: Record<string, number>): FlattenResult {
  const kept = Object.create(null) as Record<string, number>;
  const skipped: SkippedKey[] = [];
  for (const key of Object.keys(values)) {
    if (isValidName(key)) kept[key] = values[key]!;
    else
      skipped.push({
        key,
        reason: 'it is not a valid key (1-255 characters of well-formed text without control characters)',
      });
  }
  return { values: kept, skipped };
}

class Flattener {
  readonly values = Object.create(null) as Record<string, number>;
  readonly skipped: SkippedKey[] = [];
  readonly collided = new Set<string>();

  constructor(
    private readonly runId: string,
    private readonly skip: boolean,
  ) {}

  walk(node: Record<string, unknown>, prefix: string, parents: object[]): void {
    if (Object.getOwnPropertySymbols(node).length > 0) this.symbolKey(prefix);
    const chain = [...parents, node];
    for (const name of Object.keys(node)) {
      const key = prefix + name;
      const value = node[name];
      if (typeof value === 'number') this.put(key, value);
      else if (!isPlainObject(value))
        this.refuse(key, `${describeValue(value)}; log() takes numbers`, valueHint(value));
      else if (chain.includes(value))
        this.refuse(key, 'an object that contains itself', 'log a copy without the cycle');
      else this.walk(value, `${key}/`, chain);
    }
  }

  private put(key: string, value: number): void {
    if (this.collided.has(key)) return;
    if (this.values[key] === undefined) {
      this.values[key] = value;
      return;
    }
    const message = `key ${JSON.stringify(key)} occurs twice in one call (written out and from a nested object)`;
    if (!this.skip) {
      throw new SwanlogError('INVALID_VALUE', `run ${this.runId}: ${message}`, {
        hint: 'nested objects flatten with "/": rename one of the two, or log them in separate calls',
      });
    }
    this.collided.add(key);
    this.skipped.push({ key, reason: 'it occurs twice in the call (written out and from a nested object)' });
  }

  private refuse(key: string, what: string, hint: string): void {
    if (!this.skip) {
      throw new SwanlogError(
        'INVALID_VALUE',
        `run ${this.runId}: value of key ${JSON.stringify(key)} is ${what}`,
        {
          hint,
        },
      );
    }
    this.skipped.push({ key, reason: `its value is ${what}` });
  }

  private symbolKey(prefix: string): void {
    const where = prefix === '' ? 'log()' : `the object at ${JSON.stringify(prefix.slice(0, -1))}`;
    if (!this.skip) {
      throw new SwanlogError(
        'INVALID_VALUE',
        `run ${this.runId}: ${where} got a symbol key; keys are strings`,
        {
          hint: 'name the metric with a string, e.g. run.log({ loss: 0.25 })',
        },
      );
    }
    this.skipped.push({ key: `${prefix}<symbol>`, reason: 'a symbol is not a key' });
  }
}

function valueHint(value: unknown): string {
  if (value instanceof Map) return 'pass Object.fromEntries(map) instead of the Map';
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return 'nested objects must be plain objects: copy it with { ...obj }, or log its numbers';
  return 'convert the value to a number (NaN and Infinity are fine), or log it as config instead';
}
