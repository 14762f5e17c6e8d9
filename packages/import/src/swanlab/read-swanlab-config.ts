import { readFileSync } from 'node:fs';
import { SwanlogError } from '@swanlog/protocol';
import type { JsonObject } from '@swanlog/store';
import { parse } from 'yaml';

/** The keys SwanLab writes around each config value in `files/config.yaml`. */
const WRAPPER_KEYS = new Set(['value', 'desc', 'sort']);

/**
 * A SwanLab run's config from its `files/config.yaml`: plain mappings as they are, and SwanLab's
 * `{value, desc, sort}` entries as their value. A folder without the file has an empty config; a
 * file that is not a YAML mapping is `SOURCE_CORRUPT`.
 */
export function readSwanlabConfig(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    throw new SwanlogError('SOURCE_CORRUPT', `${path} is not valid YAML`, {
      hint: 'fix or remove the file: the run imports without its config then',
      cause: error,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) {
    throw new SwanlogError('SOURCE_CORRUPT', `${path} does not hold a mapping of config values`, {
      hint: 'fix or remove the file: the run imports without its config then',
    });
  }
  const config: JsonObject = {};
  for (const [key, value] of Object.entries(parsed)) config[key] = unwrap(value);
  return config;
}

function unwrap(value: unknown): unknown {
  if (isMapping(value) && 'value' in value && Object.keys(value).every((k) => WRAPPER_KEYS.has(k))) {
    return value.value;
  }
  return value;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
