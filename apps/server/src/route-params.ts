import { SwanlogError } from '@swanlog/protocol';
import { keyNameSchema, metricsQuerySchema, runIdSchema } from '@swanlog/protocol/schemas';
import { validate } from './read-body.js';
import type { MetricQuery } from './series-response.js';

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
