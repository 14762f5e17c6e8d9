/** A config value as the runs table and the config views show it. */
export type FlatConfigValue = string | number | boolean | null;

/**
 * A config flattened for table columns and diffs: nested objects joined by `/`, an empty object
 * as `{}`, arrays and anything else as JSON. Used by the server's runs table and by the dashboard
 * (this module imports nothing, so the browser bundle can take it).
 */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): Record<string, FlatConfigValue> {
  const out: Record<string, FlatConfigValue> = {};
  for (const [k, v] of Object.entries(config ?? {})) {
    const key = prefix === '' ? k : `${prefix}/${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const nested = flattenConfig(v as Record<string, unknown>, key);
      if (Object.keys(nested).length === 0) out[key] = '{}';
      else Object.assign(out, nested);
    } else if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[key] = v;
    } else {
      out[key] = JSON.stringify(v);
    }
  }
  return out;
}
