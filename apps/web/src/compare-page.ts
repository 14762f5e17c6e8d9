import type { MetricPoint } from '@swanlog/protocol';
import { api, type RunInfo } from './api-client.js';
import { h } from './h.js';
import { createRefresher, subscribeLiveEvents } from './live-events.js';
import { createMetricChart, type MetricChart, PALETTE } from './metric-chart.js';
import { runHref } from './runs-page.js';
import { stateBadge } from './state-badge.js';

/** The compare view (`/compare?ids=a,b`): a chart per key of any run, one line per run. */
export function renderComparePage(root: HTMLElement, ids: string[]): void {
  const legend = h('ul', { class: 'compare-legend', 'data-testid': 'compare-legend' });
  const chartsBox = h('div', { class: 'chart-grid' });
  const status = h('p', { class: 'status', 'data-testid': 'compare-status' });
  root.replaceChildren(
    h('section', { class: 'compare-page' }, h('h1', {}, 'compare'), legend, status, chartsBox),
  );
  if (ids.length === 0) {
    status.textContent = 'Pick runs on the runs list to compare them.';
    return;
  }
  const charts = new Map<string, { chart: MetricChart; range: { from: number; to: number } | null }>();
  let runs: RunInfo[] = [];

  const labelOf = (r: RunInfo) => `${r.name ?? '(unnamed)'} · ${r.id}`;

  async function drawKey(key: string): Promise<void> {
    const entry = charts.get(key)!;
    const lines = await Promise.all(
      runs.map(async (r) => {
        if (!r.keys.includes(key)) return { label: labelOf(r), points: [] as MetricPoint[] };
        const s = await api.series(r.id, key, { maxPoints: entry.chart.width(), ...(entry.range ?? {}) });
        return { label: labelOf(r), points: s.points };
      }),
    );
    entry.chart.update({ lines, note: entry.range ? `steps ${entry.range.from}–${entry.range.to}` : '' });
  }

  const refresh = createRefresher(
    async () => {
      runs = await Promise.all(ids.map((id) => api.run(id)));
      legend.replaceChildren(
        ...runs.map((r, i) =>
          h(
            'li',
            { 'data-testid': `compare-run-${r.id}` },
            h('span', { class: 'swatch', style: `background:${PALETTE[i % PALETTE.length]}` }),
            h('a', { href: runHref(r.id), target: '_blank', rel: 'noopener' }, labelOf(r)),
            ' ',
            stateBadge(r.state),
          ),
        ),
      );
      const keys = [...new Set(runs.flatMap((r) => r.keys))].sort();
      for (const key of keys) {
        if (charts.has(key)) continue;
        const entry = {
          range: null as { from: number; to: number } | null,
          chart: createMetricChart({
            title: key,
            testId: `compare-chart-${key}`,
            onZoom: (range) => {
              entry.range = range;
              drawKey(key).catch(showError);
            },
          }),
        };
        charts.set(key, entry);
      }
      chartsBox.replaceChildren(...keys.map((k) => charts.get(k)!.chart.element));
      status.textContent = keys.length ? '' : 'These runs have no metrics yet.';
      await Promise.all(keys.map(drawKey));
    },
    (error) => showError(error),
  );
  function showError(error: unknown): void {
    status.textContent = `Could not load the runs: ${error instanceof Error ? error.message : String(error)}`;
  }
  refresh();
  subscribeLiveEvents((event) => {
    if (event.type === 'runs' || ids.includes(event.id)) refresh();
  });
}
