import {
  deepMerge,
  type ImportedSession,
  type JsonObject,
  RunReader,
  recordImportedConfig,
} from '@swanlog/store';

/**
 * Adds each update that changes the run's config as a revision at the session's clock (recording
 * is idempotent per session, so an import retried after a failed write adds none twice).
 */
export function addConfigRevisions(runDir: string, session: ImportedSession, updates: JsonObject[]): void {
  if (updates.length === 0) return;
  const reader = RunReader.open(runDir);
  let current: JsonObject;
  try {
    current = reader.config();
  } finally {
    reader.close();
  }
  for (const patch of updates) {
    const next = deepMerge(current, patch);
    if (JSON.stringify(next) === JSON.stringify(current)) continue;
    recordImportedConfig(runDir, { ts: session.clock, source: session.source, patch });
    current = next;
  }
}
