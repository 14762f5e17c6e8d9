import { api, type RunDetails, type RunInfo } from './api-client.js';
import { firstChartCount, keySections } from './chart-order.js';
import { configHistory, type RevisionChange, showValue } from './config-diff.js';
import { formatStep, formatTime } from './format.js';
import { h } from './h.js';
import { createRefresher, subscribeLiveEvents } from './live-events.js';
import { type ChartMarker, createMetricChart, type MetricChart } from './metric-chart.js';
import { runHref } from './runs-page.js';
import { stateBadge } from './state-badge.js';
import { chartLogToggle, isLog, readViewSettings, saveViewSettings, viewControls } from './view-settings.js';

/**
 * Calls `task` when the page is idle with a function telling the milliseconds left of that idle
 * period (requestIdleCallback; where a browser lacks it, a timer and an 8 ms budget).
 */
function whenIdle(task: (budget: () => number) => void): void {
  if (typeof requestIdleCallback === 'function') {
    requestIdleCallback((deadline) => task(() => deadline.timeRemaining()), { timeout: 1000 });
  } else {
    setTimeout(() => {
      const end = performance.now() + 8;
      task(() => end - performance.now());
    }, 0);
  }
}

interface KeyChart {
  chart: MetricChart;
  range: { from: number; to: number } | null;
  /** Points the chart's download links at its key and the current zoom. */
  setExport: () => void;
  refresh: () => void;
  /** Sets the chart's log box from the settings. */
  syncLog: () => void;
  /** Whether the chart is done with the first screen: drawn once, or known to be off screen. */
  settled: () => boolean;
  /** Asks now (not at the observer's next frame) whether the chart is near the viewport. */
  checkNear: () => void;
}

/** The run page (`/experiments/<id>`): header, a chart per key, config history, segments. */
export function renderRunPage(root: HTMLElement, id: string): void {
  let showSuperseded = false;
  const view = readViewSettings(location.search);
  // The shared zoom (a step range), kept in the URL with the other settings.
  let zoom: { from: number; to: number } | null = view.zoom;
  const redrawAll = () => {
    for (const c of charts.values()) {
      c.syncLog();
      c.refresh();
    }
  };
  const keySearch = h('input', {
    type: 'search',
    placeholder: 'search keys',
    'data-testid': 'key-search',
    oninput: () => applyKeySearch(),
  });
  let origin = 0;
  let markers: ChartMarker[] = [];
  const charts = new Map<string, KeyChart>();
  const nearViewport = createNearViewport();
  const header = h('header', { class: 'run-header' });
  const chartsBox = h('div', { class: 'charts', 'data-testid': 'charts' });
  const configBox = h('section', { class: 'config-section' });
  const envBox = h('section', { class: 'env-section' });
  const segmentsBox = h('section', { class: 'segments-section' });
  const status = h('p', { class: 'status', 'data-testid': 'run-status' });
  const toggle = h('input', {
    type: 'checkbox',
    'data-testid': 'superseded-toggle',
    onchange: (e) => {
      showSuperseded = (e.target as HTMLInputElement).checked;
      for (const c of charts.values()) c.refresh();
    },
  });
  root.replaceChildren(
    h(
      'section',
      { class: 'run-page' },
      header,
      h(
        'div',
        { class: 'toolbar' },
        keySearch,
        h('label', { class: 'toggle' }, toggle, ' show superseded points'),
        ...viewControls(view, redrawAll),
        h('span', { class: 'hint' }, 'drag on a chart to zoom, double click to reset'),
      ),
      status,
      chartsBox,
      configBox,
      envBox,
      segmentsBox,
    ),
  );

  /** Hides the charts whose key does not contain the search text, and groups left empty. */
  function applyKeySearch(): void {
    const q = keySearch.value.trim().toLowerCase();
    for (const [key, c] of charts) c.chart.element.hidden = q !== '' && !key.toLowerCase().includes(q);
    for (const group of chartsBox.querySelectorAll<HTMLElement>('.chart-group')) {
      group.hidden = ![...group.querySelectorAll<HTMLElement>('.chart')].some((el) => !el.hidden);
    }
  }

  function chartFor(key: string): KeyChart {
    const existing = charts.get(key);
    if (existing) return existing;
    const csv = h('a', { 'data-testid': 'export-csv', download: '' }, 'CSV');
    const json = h('a', { 'data-testid': 'export-json', download: '' }, 'JSON');
    const logBox = chartLogToggle(view, key, () => entry.refresh());
    const entry: KeyChart = {
      range: zoom,
      refresh: () => {},
      syncLog: logBox.sync,
      settled: () => false,
      checkNear: () => {},
      setExport: () => {
        csv.href = exportHref(id, key, 'csv', entry.range);
        json.href = exportHref(id, key, 'json', entry.range);
      },
      chart: createMetricChart({
        title: key,
        testId: `chart-${key}`,
        syncKey: `run-${id}`,
        onZoom: (range) => {
          // The zoom is shared: every chart of the run refetches that step range.
          zoom = range;
          view.zoom = range;
          saveViewSettings(view);
          for (const c of charts.values()) {
            c.range = range;
            c.setExport();
            c.refresh();
          }
        },
      }),
    };
    entry.setExport();
    entry.chart.element
      .querySelector('figcaption')
      ?.append(
        logBox.element,
        h(
          'span',
          { class: 'chart-export', title: 'download the points, full resolution' },
          '↓ ',
          csv,
          ' · ',
          json,
        ),
      );
    entry.refresh = createRefresher(
      async () => {
        const range = entry.range ?? {};
        const series = await api.series(id, key, {
          maxPoints: entry.chart.width(),
          superseded: showSuperseded,
          ...range,
        });
        const visible = series.points.filter((p) => !p.superseded);
        entry.chart.update({
          lines: [{ label: key, points: visible }],
          superseded: showSuperseded ? series.points.filter((p) => p.superseded) : [],
          markers,
          smoothing: view.smoothing,
          logScale: isLog(view, key),
          xMode: view.xMode,
          origins: [origin],
          clip: view.clip,
          note: [
            series.downsampled
              ? `${visible.length} of ${series.total} points (downsampled)`
              : `${series.total} points`,
            entry.range ? `steps ${entry.range.from}–${entry.range.to}` : '',
          ]
            .filter(Boolean)
            .join(' · '),
        });
        drawn = true;
      },
      (error) => {
        drawn = true;
        entry.chart.update({ lines: [], note: `Could not load ${key}: ${message(error)}` });
      },
    );
    // A chart off screen is fetched and drawn only once it is scrolled near the viewport.
    const fetchNow = entry.refresh;
    let onScreen = false;
    let pending = false;
    let observed = false;
    let drawn = false;
    entry.settled = () => drawn || (observed && !onScreen);
    entry.refresh = () => {
      if (onScreen) fetchNow();
      else pending = true;
    };
    const onNear = (near: boolean) => {
      onScreen = near;
      observed = true;
      if (onScreen && pending) {
        pending = false;
        fetchNow();
      }
    };
    nearViewport.observe(entry.chart.element, onNear);
    entry.checkNear = () => onNear(isNearViewport(entry.chart.element));
    charts.set(key, entry);
    return entry;
  }

  /**
   * Sections by key prefix, each a grid of charts. The first charts are placed at once, the rest
   * once those on screen are drawn (in idle time), so a run of hundreds of keys draws its first
   * screen before the page builds every chart; a chart asks for its points once near the viewport.
   */
  let placing = 0;
  function renderCharts(keys: string[]): void {
    const order: { key: string; grid: HTMLElement }[] = [];
    const sections = keySections(keys).map(([group, groupKeys]) => {
      const grid = h('div', { class: 'chart-grid' });
      for (const key of groupKeys) order.push({ key, grid });
      return h(
        'details',
        { class: 'chart-group', 'data-group': group, open: true },
        h('summary', {}, h('h2', {}, group === '' ? 'metrics' : `${group}/`)),
        grid,
      );
    });
    chartsBox.replaceChildren(...sections);
    if (keys.length === 0) chartsBox.append(h('p', { class: 'status' }, 'No metrics logged yet.'));
    const generation = ++placing;
    let next = 0;
    const placeOne = () => {
      const { key, grid } = order[next++]!;
      const isNew = !charts.has(key);
      const entry = chartFor(key);
      grid.append(entry.chart.element);
      if (isNew) entry.refresh();
    };
    // The rest go in while the page is idle, a few milliseconds at a time, so the first screen's
    // answers are drawn as they arrive rather than after hundreds of charts are built.
    const placeRest = (budget: () => number) => {
      if (generation !== placing) return;
      do placeOne();
      while (next < order.length && budget() > 1);
      applyKeySearch();
      if (next < order.length) whenIdle(placeRest);
    };
    while (next < Math.min(order.length, firstChartCount())) placeOne();
    applyKeySearch();
    // The first screen's charts ask for their points now, in one batch, rather than after the
    // frame in which the observer first reports them (one layout, and the request goes out ~1 frame
    // to 100 ms sooner on a busy machine).
    for (const o of order.slice(0, next)) charts.get(o.key)!.checkNear();
    if (next === order.length) return;
    // The rest wait until the first screen is drawn (at most 3 s), then go in while idle.
    const first = order.slice(0, next).map((o) => charts.get(o.key)!);
    const until = performance.now() + 3000;
    const waitForFirstScreen = () => {
      if (generation !== placing) return;
      if (first.every((c) => c.settled()) || performance.now() > until) whenIdle(placeRest);
      else requestAnimationFrame(waitForFirstScreen);
    };
    requestAnimationFrame(waitForFirstScreen);
  }

  let knownKeys = '';
  const refresh = createRefresher(
    async () => {
      const [run, details] = await Promise.all([api.run(id), api.details(id)]);
      document.title = `${run.name ?? run.id} · swanlog`;
      origin = originOf(run, details);
      renderHeader(header, run);
      markers = markersOf(details);
      renderConfig(configBox, run, details);
      renderEnvironment(envBox, run, details);
      renderSegments(segmentsBox, details);
      status.textContent = '';
      const keys = [...run.keys].sort();
      // Charts made by renderCharts fetch as they are placed; the others refetch here.
      const existing = keys.filter((k) => charts.has(k));
      if (keys.join('\n') !== knownKeys) {
        knownKeys = keys.join('\n');
        renderCharts(keys);
      }
      for (const key of existing) charts.get(key)!.refresh();
    },
    (error) => {
      status.textContent = `Could not load run ${id}: ${message(error)}`;
    },
  );
  refresh();
  subscribeLiveEvents((event) => {
    if (event.type === 'runs' || event.id === id) refresh();
  });
}

function renderHeader(header: HTMLElement, run: RunInfo): void {
  header.replaceChildren(
    h(
      'h1',
      {},
      stateBadge(run.state, 'run-state'),
      ' ',
      h('span', { 'data-testid': 'run-name' }, run.name ?? '(unnamed)'),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'project'),
      h('dd', { 'data-testid': 'run-project' }, run.project),
      h('dt', {}, 'id'),
      h('dd', { class: 'mono', 'data-testid': 'run-id' }, run.id),
      h('dt', {}, 'created'),
      h('dd', {}, formatTime(run.createdAt)),
      h('dt', {}, 'last step'),
      h('dd', { 'data-testid': 'last-step' }, formatStep(run.lastStep)),
      run.copiedFrom ? h('dt', {}, 'copied from') : null,
      run.copiedFrom
        ? h('dd', {}, h('a', { href: runHref(run.copiedFrom), class: 'mono' }, run.copiedFrom))
        : null,
      run.dir ? h('dt', {}, 'directory') : null,
      run.dir ? h('dd', { class: 'mono' }, run.dir) : null,
    ),
  );
}

/** Whether an element is shown and within 200 px of the viewport (as `createNearViewport` sees it). */
function isNearViewport(el: Element): boolean {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return false;
  const margin = 200;
  return (
    r.bottom >= -margin &&
    r.top <= innerHeight + margin &&
    r.right >= -margin &&
    r.left <= innerWidth + margin
  );
}

/**
 * One IntersectionObserver for every chart of a page (a 500-key run has 500): `observe` calls
 * back with whether the element is within 200 px of the viewport, now and on every change.
 */
export function createNearViewport(): { observe: (el: Element, onChange: (near: boolean) => void) => void } {
  const callbacks = new WeakMap<Element, (near: boolean) => void>();
  const observer = new IntersectionObserver(
    (items) => {
      for (const item of items) callbacks.get(item.target)?.(item.isIntersecting);
    },
    { rootMargin: '200px' },
  );
  return {
    observe(el, onChange) {
      callbacks.set(el, onChange);
      observer.observe(el);
    },
  };
}

/**
 * Where relative time starts: the run's creation, or its first segment's start when that is
 * earlier (a copy is created after the points it carries were logged).
 */
export function originOf(run: RunInfo, details: RunDetails): number {
  const starts = details.segments
    .map((s) => (typeof s.startedAt === 'number' ? s.startedAt : Date.parse(s.startedAt)))
    .filter((t) => Number.isFinite(t));
  const created = Date.parse(run.createdAt);
  return Math.min(...starts, Number.isFinite(created) ? created : Number.POSITIVE_INFINITY) || 0;
}

/** Resumes (segment starts after the first) and rewinds, as markers on the step axis. */
export function markersOf(details: RunDetails): ChartMarker[] {
  const out: ChartMarker[] = [];
  const rewindSteps = new Set(details.rewinds.map((r) => r.step));
  for (const seg of details.segments) {
    if (!seg.resumed) continue;
    if (seg.fromStep !== null && seg.fromStep !== undefined) {
      rewindSteps.add(seg.fromStep);
      continue;
    }
    const step = seg.firstStep;
    if (step !== null && step !== undefined) out.push({ step, label: 'resumed', kind: 'resume' });
  }
  for (const step of [...rewindSteps].sort((a, b) => a - b)) {
    out.push({ step, label: `rewind to ${step}`, kind: 'rewind' });
  }
  return out.sort((a, b) => a.step - b.step);
}

function renderConfig(box: HTMLElement, run: RunInfo, details: RunDetails): void {
  const history = configHistory(details.configRevisions);
  const change = (c: RevisionChange) =>
    h(
      'li',
      { class: `change-${c.kind}`, 'data-testid': `change-${c.kind}`, 'data-key': c.key },
      c.kind === 'added'
        ? ['+ ', h('span', { class: 'mono' }, c.key), ' = ', h('span', { class: 'mono' }, showValue(c.after))]
        : c.kind === 'removed'
          ? [
              '− ',
              h('span', { class: 'mono' }, c.key),
              ' ',
              h('span', { class: 'muted' }, `(was ${showValue(c.before)})`),
            ]
          : [
              '~ ',
              h('span', { class: 'mono' }, c.key),
              ': ',
              h('span', { class: 'mono' }, showValue(c.before)),
              ' → ',
              h('span', { class: 'mono' }, showValue(c.after)),
            ],
    );
  box.replaceChildren(
    h('h2', {}, 'config'),
    h('pre', { class: 'config', 'data-testid': 'config' }, JSON.stringify(run.config, null, 2)),
    history.length > 0
      ? h(
          'details',
          { 'data-testid': 'config-history', open: history.length > 1 },
          h('summary', {}, `history: ${history.length} revision${history.length === 1 ? '' : 's'}`),
          h(
            'ol',
            { class: 'config-revisions' },
            ...history.map(({ revision: r, changes }, i) =>
              h(
                'li',
                { 'data-testid': `config-revision-${i + 1}` },
                h(
                  'span',
                  { class: 'muted' },
                  `${formatTime(r.ts)}${r.source ? ` · ${r.source}` : ''} · ${summarize(changes)}`,
                ),
                changes.length
                  ? h('ul', { class: 'config-changes' }, ...changes.map(change))
                  : h('p', { class: 'muted' }, 'no change'),
              ),
            ),
          ),
        )
      : '',
  );
}

function summarize(changes: RevisionChange[]): string {
  const count = (kind: RevisionChange['kind']) => changes.filter((c) => c.kind === kind).length;
  return (
    (['added', 'changed', 'removed'] as const)
      .map((k) => (count(k) ? `${count(k)} ${k}` : ''))
      .filter(Boolean)
      .join(', ') || 'no change'
  );
}

/** Where the run came from: imported (the other tracker's kind, path, id), copied, its directory, the writers' hosts. */
function renderEnvironment(box: HTMLElement, run: RunInfo, details: RunDetails): void {
  const hosts = [...new Set(details.segments.map((s) => s.host).filter((x): x is string => !!x))];
  const rows: [string, Node | string, string][] = [];
  rows.push([
    'origin',
    run.source ? `imported from ${run.source.kind}` : run.copiedFrom ? 'a copy' : 'logged by swanlog',
    'env-origin',
  ]);
  if (run.source) {
    rows.push(['source path', h('span', { class: 'mono' }, run.source.path), 'env-source-path']);
    rows.push(['source run id', h('span', { class: 'mono' }, run.source.id), 'env-source-id']);
  }
  if (run.copiedFrom) {
    rows.push([
      'copied from',
      h('a', { href: runHref(run.copiedFrom), class: 'mono' }, run.copiedFrom),
      'env-copied-from',
    ]);
  }
  if (run.dir) rows.push(['directory', h('span', { class: 'mono' }, run.dir), 'env-dir']);
  if (hosts.length) rows.push([hosts.length === 1 ? 'host' : 'hosts', hosts.join(', '), 'env-hosts']);
  rows.push([
    'sessions',
    `${details.segments.length} (${details.segments.filter((s) => s.resumed).length} resumed)`,
    'env-sessions',
  ]);
  box.replaceChildren(
    h('h2', {}, 'environment'),
    h(
      'dl',
      { class: 'facts', 'data-testid': 'environment' },
      ...rows.flatMap(([label, value, testId]) => [
        h('dt', {}, label),
        h('dd', { 'data-testid': testId }, value),
      ]),
    ),
  );
}

function renderSegments(box: HTMLElement, details: RunDetails): void {
  box.replaceChildren(
    h('h2', {}, 'segments'),
    h(
      'table',
      { class: 'segments', 'data-testid': 'segments-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['#', 'segment', 'host', 'pid', 'started', 'ended', 'state', 'first step', 'resume'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...details.segments.map((s, i) =>
          h(
            'tr',
            { 'data-testid': `segment-${s.id}` },
            h('td', { class: 'num' }, i + 1),
            h('td', { class: 'mono' }, s.id),
            h('td', { class: 'mono' }, s.host ?? ''),
            h('td', { class: 'num' }, s.pid ?? ''),
            h('td', {}, formatTime(s.startedAt)),
            h('td', {}, formatTime(s.endedAt)),
            h('td', {}, stateBadge(String(s.state))),
            h('td', { class: 'num' }, formatStep(s.firstStep)),
            h(
              'td',
              {},
              s.fromStep !== null && s.fromStep !== undefined
                ? `rewind to ${s.fromStep}`
                : s.resumed
                  ? 'resumed'
                  : '',
            ),
          ),
        ),
      ),
    ),
  );
}

/** The streaming export of a chart's visible points at full resolution (the zoomed range when zoomed). */
export function exportHref(
  id: string,
  key: string,
  format: 'csv' | 'json',
  range: { from: number; to: number } | null,
): string {
  const params = new URLSearchParams({ format });
  if (range) {
    params.set('from', String(Math.floor(range.from)));
    params.set('to', String(Math.ceil(range.to)));
  }
  return `/api/v1/experiments/${encodeURIComponent(id)}/export/${encodeURIComponent(key)}?${params}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
