export type JsonObject = { [key: string]: unknown };

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges `patch` into `base` as a config revision does: objects merge key by key, anything else
 * (arrays included) replaces, and `null` removes the key. Neither input is modified.
 */
export function deepMerge(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(current)) setOwn(out, key, deepMerge(current, value));
    else if (isPlainObject(value)) setOwn(out, key, deepMerge({}, value));
    else setOwn(out, key, value);
  }
  return out;
}

/** `out[key] = value`, except that a key named `__proto__` becomes a property instead of the prototype. */
function setOwn(out: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
}
