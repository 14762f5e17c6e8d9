// The run page's chart layout rules, shared with the early script (early.ts) that asks for the
// first screen's series before the app has loaded.

/**
 * The keys grouped into sections by the prefix before their first `/` (`train/loss` → `train`),
 * the sections without a prefix first, then by name; keys keep their order within a section.
 */
export function keySections(keys: string[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const slash = key.indexOf('/');
    const group = slash > 0 ? key.slice(0, slash) : '';
    const list = groups.get(group);
    if (list) list.push(key);
    else groups.set(group, [key]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
}

/** Charts are at least 520 px wide (plus the grid's gap) and about 260 px tall. */
const CHART_SPAN = 532;
const CHART_HEIGHT = 260;

/** Chart columns at this window width. */
export function chartColumns(): number {
  return Math.max(1, Math.floor(innerWidth / CHART_SPAN));
}

/**
 * Charts placed with the page: a first screen and a row more, 8 to 64; the rest follow when
 * idle. Fewer charts in the document make each chart's first layout cheaper.
 */
export function firstChartCount(): number {
  const rows = Math.ceil((innerHeight + 200) / CHART_HEIGHT) + 1;
  return Math.min(64, Math.max(8, chartColumns() * rows));
}

/** Charts within 200 px of the first viewport, as near as the early script can tell (≤ 16). */
export function earlyChartCount(): number {
  return Math.min(16, chartColumns() * Math.ceil((innerHeight + 200) / CHART_HEIGHT));
}

/** A width no chart of the first screen exceeds: the points the early script asks for per chart. */
export function earlyMaxPoints(): number {
  return Math.ceil(innerWidth / chartColumns());
}
