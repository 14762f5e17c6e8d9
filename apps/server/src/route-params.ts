import { SwanlogError } from '@swanlog/protocol';
import { keyNameSchema, metricsQuerySchema, runIdSchema } from '@swanlog/protocol/schemas';
import { validate } from './read-body.js';
import { DEFAULT_MAX_POINTS, type MetricQuery } from './series-response.js';

/** An experiment id from a path, or INVALID_RUN_ID. */
export function validateId(id: string): string {
  const result = runIdSchema.safeParse(id);
  if (!result.success) {
    throw new SwanlogError('INVALID_RUN_ID', `${JSON.stringify(id)} is not a valid experiment id`, {
      hint: 'an id is 1-64 characters of letters, digits, "_" and "-"',
    });
  }
  return result.data;
}

/** The metric key of a metrics URL, percent-decoded from the raw path (keys may contain `/`). */
export function metricKeyOf(url: string, marker = '/metrics/'): string {
  const path = new URL(url).pathname;
  const at = path.indexOf(marker);
  const raw = path.slice(at + marker.length);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch (error) {
    throw new SwanlogError('BAD_REQUEST', `metric key ${JSON.stringify(raw)} is not valid percent-encoding`, {
      cause: error,
    });
  }
  return validate(keyNameSchema, key, 'metric key');
}

/** `?maxPoints&from&to&superseded` of a metrics request, validated. */
export function metricQueryOf(params: Record<string, string>): MetricQuery {
  const query = validate(metricsQuerySchema, params, 'query');
  if (query.from !== undefined && query.to !== undefined && query.from > query.to)
    throw new SwanlogError('BAD_REQUEST', `from (${query.from}) is above to (${query.to})`);
  return {
    maxPoints: query.maxPoints,
    from: query.from,
    to: query.to,
    superseded: query.superseded === '1' || query.superseded === 'true',
  };
}

/** At most this many keys in one multi-key metrics request (`GET /experiments/:id/metrics?key=…`). */
export const MAX_KEYS_PER_REQUEST = 100;
/** At most this many points asked for in one multi-key request: keys × maxPoints. */
export const MAX_POINTS_PER_REQUEST = 1_000_000;

/**
 * The keys and query of a multi-key metrics request (`?key=a&key=b&maxPoints=N…`): 1 to
 * MAX_KEYS_PER_REQUEST distinct keys, keys × maxPoints (default 10,000) at most
 * MAX_POINTS_PER_REQUEST; otherwise BAD_REQUEST with a hint.
 */
export function multiKeyQueryOf(
  keys: string[] | undefined,
  params: Record<string, string>,
): { keys: string[]; query: MetricQuery } {
  const list = keys ?? [];
  if (list.length === 0) {
    throw new SwanlogError('BAD_REQUEST', 'no metric key given', {
      hint: 'name each key in its own parameter: ?key=train%2Floss&key=val%2Floss',
    });
  }
  if (list.length > MAX_KEYS_PER_REQUEST) {
    throw new SwanlogError(
      'BAD_REQUEST',
      `${list.length} keys asked for in one request, at most ${MAX_KEYS_PER_REQUEST}`,
      { hint: `split the keys over several requests of at most ${MAX_KEYS_PER_REQUEST}` },
    );
  }
  const seen = new Set<string>();
  for (const key of list) {
    validate(keyNameSchema, key, 'metric key');
    if (seen.has(key)) {
      throw new SwanlogError('BAD_REQUEST', `metric key ${JSON.stringify(key)} is asked for twice`, {
        hint: 'name each key once',
      });
    }
    seen.add(key);
  }
  const query = metricQueryOf(params);
  const perKey = query.maxPoints ?? DEFAULT_MAX_POINTS;
  if (list.length * perKey > MAX_POINTS_PER_REQUEST) {
    throw new SwanlogError(
      'BAD_REQUEST',
      `${list.length} keys × maxPoints ${perKey} is above ${MAX_POINTS_PER_REQUEST} points in one request`,
      { hint: 'ask for fewer keys per request or a smaller maxPoints' },
    );
  }
  return { keys: list, query };
}
