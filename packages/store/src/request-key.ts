import { createHash } from 'node:crypto';

/** What an experiment made from a run directory is for: `swanlog sync` or cloud mode's live upload. */
export type RequestPurpose = 'sync' | 'live';

/**
 * The idempotency key of the experiment a run directory uploads into: the first 40 hex characters
 * of sha256(`${runId}\n${createdAtMs}\n${purpose}`). Deterministic, so a sync killed after the
 * server created the experiment, or two syncs of one directory at once, end in one experiment.
 */
export function syncRequestKey(runId: string, createdAtMs: number, purpose: RequestPurpose): string {
  return createHash('sha256').update(`${runId}\n${createdAtMs}\n${purpose}`).digest('hex').slice(0, 40);
}
