import type { MetricPoint } from '@swanlog/protocol';
import { api, type RunDetails, type RunInfo } from './api-client.js';
import { type ConfigValue, compareConfigs, flattenConfig, showValue } from './config-diff.js';
import { h } from './h.js';
import { createRefresher, subscribeLiveEvents } from './live-events.js';
import { type ChartMarker, createMetricChart, type MetricChart, PALETTE } from './metric-chart.js';
import { MAX_COMPARED } from './route.js';
import { createNearViewport, markersOf, originOf } from './run-page.js';
import { runHref } from './runs-page.js';
import { stateBadge } from './state-badge.js';
import { chartLogToggle, isLog, readViewSettings, saveViewSettings, viewControls } from './view-settings.js';

/** A run's color in the compare view: by its position in the `ids` list, so the same link draws the same colors. */
export function compareColor(position: number): string {
  return PALETTE[position % PALETTE.length]!;
}

interface Compared {
  id: string;
  position: number;
  run: RunInfo;
  details: RunDetails;
  config: Record<string, ConfigValue>;
  label: string;
}

interface CompareChart {
  chart: MetricChart;
  refresh: () => void;
  syncLog: () => void;
}

/**
 * The compare view (`/compare?ids=a,b`): up to 20 runs overlaid on one chart per key, a legend
 * with the config values that differ between them, per-run resume/rewind markers, the run
 * page's controls (smoothing, log scale for all or per chart, x axis, clip, shared zoom, synced
 * crosshair; kept in the URL) and a table of the compared configs.
 */
export function renderComparePage(root: HTMLElement, ids: string[]): void {
  const view = readViewSettings(location.search);
  // The shared zoom (a step range), kept in the URL with the other settings.
  let zoom: { from: number; to: number } | null = view.zoom;
  const legend = h('ul', { class: 'compare-legend', 'data-testid': 'compare-legend' });
  const chartsBox = h('div', { class: 'charts', 'data-testid': 'compare-charts' });
  const configBox = h('section', { class: 'config-section' });
  const status = h('p', { class: 'status', 'data-testid': 'compare-status' });
  const charts = new Map<string, CompareChart>();
  const nearViewport = createNearViewport();
  let compared: Compared[] = [];
  let showAllConfig = false;
  const redrawAll = () => {
    for (const c of charts.values()) {
      c.syncLog();
      c.refresh();
    }
  };
  root.replaceChildren(
    h(
      'section',
      { class: 'compare-page' },
      h('h1', {}, 'compare'),
      legend,
      h(
        'div',
        { class: 'toolbar' },
        ...viewControls(view, redrawAll),
        h('span', { class: 'hint' }, 'drag on a chart to zoom, double click to reset'),
      ),
      status,
      chartsBox,
      configBox,
    ),
  );
  if (ids.length === 0) {
    status.textContent = 'Pick runs on the runs list to compare them.';
    return;
  }
  if (ids.length > MAX_COMPARED) {
    status.textContent = `Compare shows at most ${MAX_COMPARED} runs; this link names ${ids.length}. Pick ${MAX_COMPARED} or fewer on the runs list.`;
    status.classList.add('error');
    return;
  }

  function chartFor(key: string): CompareChart {
    const existing = charts.get(key);
    if (existing) return existing;
    const logBox = chartLogToggle(view, key, () => entry.refresh());
    const chart = createMetricChart({
      title: key,
      testId: `compare-chart-${key}`,
      syncKey: 'compare',
      // Past 6 runs a legend under every chart is a wall of names: the page's legend has the colors.
      maxLegendLines: 6,
      onZoom: (range) => {
        zoom = range;
        view.zoom = range;
        saveViewSettings(view);
        for (const c of charts.values()) c.refresh();
      },
    });
    chart.element.querySelector('figcaption')?.append(logBox.element);
    const draw = createRefresher(
      async () => {
        const range = zoom;
        const runs = compared;
        const lines = await Promise.all(
          runs.map(async (c) => {
            if (!c.run.keys.includes(key)) return { label: c.label, points: [] as MetricPoint[] };
            const s = await api.series(c.id, key, { maxPoints: chart.width(), ...(range ?? {}) });
            return { label: c.label, points: s.points.filter((p) => !p.superseded) };
          }),
        );
        const markers: ChartMarker[] = runs.flatMap((c, line) =>
          c.run.keys.includes(key)
            ? markersOf(c.details).map((m) => ({ ...m, line, label: `${c.label}: ${m.label}` }))
            : [],
        );
        chart.update({
          lines,
          colors: runs.map((c) => compareColor(c.position)),
          origins: runs.map((c) => originOf(c.run, c.details)),
          markers,
          smoothing: view.smoothing,
          logScale: isLog(view, key),
          xMode: view.xMode,
          clip: view.clip,
          note: range ? `steps ${range.from}–${range.to}` : '',
        });
      },
      (error) => chart.update({ lines: [], note: `Could not load ${key}: ${message(error)}` }),
    );
    // Charts off screen are fetched (one request per run) only once scrolled near.
    let onScreen = false;
    let pending = false;
    const entry: CompareChart = {
      chart,
      syncLog: logBox.sync,
      refresh: () => {
        if (onScreen) draw();
        else pending = true;
      },
    };
    nearViewport.observe(chart.element, (near) => {
      onScreen = near;
      if (onScreen && pending) {
        pending = false;
        draw();
      }
    });
    charts.set(key, entry);
    return entry;
  }

  let knownKeys = '';
  function renderCharts(keys: string[]): void {
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const slash = key.indexOf('/');
      const group = slash > 0 ? key.slice(0, slash) : '';
      groups.set(group, [...(groups.get(group) ?? []), key]);
    }
    chartsBox.replaceChildren(
      ...[...groups.entries()]
        .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
        .map(([group, groupKeys]) =>
          h(
            'details',
            { class: 'chart-group', 'data-group': group, open: true },
            h('summary', {}, h('h2', {}, group === '' ? 'metrics' : `${group}/`)),
            h('div', { class: 'chart-grid' }, ...groupKeys.map((k) => chartFor(k).chart.element)),
          ),
        ),
    );
  }

  function renderLegend(differing: string[]): void {
    legend.replaceChildren(
      ...compared.map((c) =>
        h(
          'li',
          { 'data-testid': `compare-run-${c.id}` },
          h('span', { class: 'swatch', style: `background:${compareColor(c.position)}` }),
          h('a', { href: runHref(c.id), target: '_blank', rel: 'noopener' }, c.run.name ?? c.id),
          ' ',
          h(
            'span',
            { class: 'mono muted', 'data-testid': 'compare-run-config' },
            differing.map((k) => `${k}=${showValue(c.config[k])}`).join(' · '),
          ),
          ' ',
          stateBadge(c.run.state),
        ),
      ),
    );
  }

  function renderConfigTable(): void {
    const { keys, differing } = compareConfigs(compared.map((c) => c.config));
    const shown = showAllConfig ? keys : keys.filter((k) => differing.has(k));
    const toggle = h('input', {
      type: 'checkbox',
      'data-testid': 'config-diff-all',
      onchange: (e) => {
        showAllConfig = (e.target as HTMLInputElement).checked;
        renderConfigTable();
      },
    }) as HTMLInputElement;
    toggle.checked = showAllConfig;
    configBox.replaceChildren(
      h('h2', {}, 'config'),
      h(
        'label',
        { class: 'toggle' },
        toggle,
        ` show all ${keys.length} keys (${differing.size} differ${differing.size === 1 ? 's' : ''})`,
      ),
      shown.length === 0
        ? h('p', { class: 'status' }, keys.length === 0 ? 'No config logged.' : 'The configs are the same.')
        : h(
            'table',
            { class: 'config-diff', 'data-testid': 'config-diff' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'key'),
                ...compared.map((c) =>
                  h(
                    'th',
                    {},
                    h('span', { class: 'swatch', style: `background:${compareColor(c.position)}` }),
                    c.run.name ?? c.id,
                  ),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...shown.map((k) =>
                h(
                  'tr',
                  { 'data-testid': `config-row-${k}`, class: differing.has(k) ? 'differs' : '' },
                  h('td', { class: 'mono' }, k),
                  ...compared.map((c) => h('td', { class: 'mono' }, showValue(c.config[k]))),
                ),
              ),
            ),
          ),
    );
  }

  const refresh = createRefresher(
    async () => {
      const loaded = await Promise.all(
        ids.map(async (id, position) => {
          try {
            const [run, details] = await Promise.all([api.run(id), api.details(id)]);
            return { id, position, run, details, config: flattenConfig(run.config), label: '' };
          } catch (error) {
            return { id, error };
          }
        }),
      );
      const failed = loaded.filter((l): l is { id: string; error: unknown } => 'error' in l);
      compared = loaded.filter((l): l is Compared => !('error' in l));
      const { differing } = compareConfigs(compared.map((c) => c.config));
      // Chart legends and marker labels name the run (the id too when names repeat); the page's
      // legend beside each color has the config values that differ.
      const names = compared.map((c) => c.run.name ?? c.id);
      const unique = new Set(names).size === names.length;
      const diffKeys = [...differing];
      for (const c of compared) {
        c.label = unique ? (c.run.name ?? c.id) : `${c.run.name ?? '(unnamed)'} · ${c.id}`;
      }
      // A key whose value is each run's own name (the trainer's experiment/name) says nothing new.
      renderLegend(diffKeys.filter((k) => !compared.every((c) => c.config[k] === c.run.name)));
      renderConfigTable();
      status.textContent = failed.length
        ? failed.map((f) => `Could not load run ${f.id}: ${message(f.error)}`).join(' · ')
        : '';
      const keys = [...new Set(compared.flatMap((c) => c.run.keys))].sort();
      if (keys.join('\n') !== knownKeys) {
        knownKeys = keys.join('\n');
        renderCharts(keys);
      }
      if (keys.length === 0 && !failed.length) status.textContent = 'These runs have no metrics yet.';
      for (const key of keys) chartFor(key).refresh();
    },
    (error) => {
      status.textContent = `Could not load the runs: ${message(error)}`;
    },
  );
  refresh();
  subscribeLiveEvents((event) => {
    if (event.type === 'runs' || ids.includes(event.id)) refresh();
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
