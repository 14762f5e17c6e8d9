/** `2026-11-22 11:34:03` in local time, from an ISO string or ms since the epoch. */
export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A step number, or a dash for an empty run. */
export function formatStep(step: number | null | undefined): string {
  return step === null || step === undefined ? '—' : String(step);
}

/** What the runs list shows of `swanlog watch`'s sync records for a run. */
export function formatSync(sync: unknown): string {
  if (sync === undefined || sync === null) return '—';
  if (sync === 'never') return 'not synced';
  if (typeof sync === 'string') return sync;
  if (Array.isArray(sync)) {
    if (sync.length === 0) return 'not synced';
    return sync
      .map((r: { url?: string; complete?: boolean; experimentId?: string }) => {
        const where = r.url ? new URL(r.url, location.href).host : 'server';
        return `${r.complete ? 'synced' : 'partial'} → ${where}${r.experimentId ? ` (${r.experimentId})` : ''}`;
      })
      .join(', ');
  }
  if (typeof sync === 'object' && 'status' in sync) return String((sync as { status: unknown }).status);
  return JSON.stringify(sync);
}
