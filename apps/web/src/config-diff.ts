import { flattenConfig } from '@swanlog/protocol/flatten-config';
/** A config value as a table cell shows it: a scalar, or JSON for the rest. */
export type ConfigValue = string | number | boolean | null;

export { flattenConfig };

/** How a cell shows a value; a key a run does not have is `—`. */
export function showValue(v: ConfigValue | undefined): string {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** The flattened keys of several configs, sorted, and which of them differ (or are missing somewhere). */
export function compareConfigs(configs: Record<string, ConfigValue>[]): {
  keys: string[];
  differing: Set<string>;
} {
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const differing = new Set<string>();
  for (const key of keys) {
    const shown = new Set(configs.map((c) => (key in c ? JSON.stringify(c[key]) : '\u0000missing')));
    if (shown.size > 1) differing.add(key);
  }
  return { keys, differing };
}

/** One config revision's change against the config before it. */
export interface RevisionChange {
  key: string;
  kind: 'added' | 'changed' | 'removed';
  before?: ConfigValue;
  after?: ConfigValue;
}

/** What changed between two flattened configs, sorted by key. */
export function diffConfigs(
  before: Record<string, ConfigValue>,
  after: Record<string, ConfigValue>,
): RevisionChange[] {
  const out: RevisionChange[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const inBefore = key in before;
    const inAfter = key in after;
    if (inBefore && !inAfter) out.push({ key, kind: 'removed', before: before[key] });
    else if (!inBefore && inAfter) out.push({ key, kind: 'added', after: after[key] });
    else if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      out.push({ key, kind: 'changed', before: before[key], after: after[key] });
    }
  }
  return out;
}

type Json = { [key: string]: unknown };

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Merges a config revision's patch as the store does (`deepMerge` in @swanlog/store): objects
 * merge key by key, anything else (arrays included) replaces, `null` removes the key.
 */
export function mergePatch(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    let next: unknown;
    if (value === null) {
      delete out[key];
      continue;
    }
    if (isObject(value)) next = mergePatch(isObject(current) ? current : {}, value);
    else next = value;
    Object.defineProperty(out, key, { value: next, writable: true, enumerable: true, configurable: true });
  }
  return out;
}

export interface ConfigRevision {
  ts: number;
  source: string | null;
  patch: Record<string, unknown>;
}

/**
 * Each revision with what it changed in the config before it, in the order the API lists them
 * (the order the config is merged in: by (ts, source) on the server, as written in a run directory).
 */
export function configHistory(
  revisions: readonly ConfigRevision[],
): { revision: ConfigRevision; changes: RevisionChange[] }[] {
  let config: Json = {};
  return revisions.map((revision) => {
    const next = mergePatch(config, revision.patch);
    const changes = diffConfigs(flattenConfig(config), flattenConfig(next));
    config = next;
    return { revision, changes };
  });
}
