import type { MetricPoint } from '@swanlog/protocol';
import uPlot from 'uplot';
import { buildChartData, type LineInput } from './chart-data.js';
import { h } from './h.js';
import { smoothEma } from './smoothing.js';

/** A vertical line on the x axis: where a run resumed or rewound. */
export interface ChartMarker {
  step: number;
  label: string;
  kind: 'resume' | 'rewind';
}

export interface MetricChartOptions {
  title: string;
  testId: string;
  /** Called with the step range the user selected by dragging, or null on double click (reset). */
  onZoom?: (range: { from: number; to: number } | null) => void;
  /** Charts with the same key share one crosshair (uPlot cursor sync on the x value). */
  syncKey?: string;
}

export interface ChartContent {
  lines: LineInput[];
  superseded?: MetricPoint[];
  markers?: ChartMarker[];
  /** A note under the chart (e.g. "downsampled from N points"). */
  note?: string;
  /** Debiased EMA weight in [0, 1) for the drawn lines; the raw line stays faint behind. */
  smoothing?: number;
  /** Log-scale y: points <= 0 are left out (counted in the note). */
  logScale?: boolean;
}

export interface MetricChart {
  readonly element: HTMLElement;
  /** Draws new data; the first call builds the uPlot instance. */
  update(content: ChartContent): void;
  /** Width in CSS pixels available for the plot (the number of points worth fetching). */
  width(): number;
  destroy(): void;
}

export const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#be185d',
  '#65a30d',
];
const MARKER_COLORS = { resume: '#f59e0b', rewind: '#ef4444' } as const;
const HEIGHT = 220;

/** One chart of one metric key: a uPlot plot with resume/rewind markers, zoom and a caption. */
export function createMetricChart(options: MetricChartOptions): MetricChart {
  const plotBox = h('div', { class: 'plot' });
  const caption = h('div', { class: 'chart-note', 'data-testid': 'chart-note' });
  const markerList = h('ul', { class: 'chart-markers', 'data-testid': 'chart-markers' });
  const element = h(
    'figure',
    { class: 'chart', 'data-testid': options.testId, 'data-key': options.title },
    h('figcaption', {}, options.title),
    plotBox,
    markerList,
    caption,
  );
  let plot: uPlot | undefined;
  let markers: ChartMarker[] = [];
  let shape = '';
  const resize = new ResizeObserver(() => plot?.setSize({ width: plotWidth(plotBox), height: HEIGHT }));
  resize.observe(plotBox);

  function build(content: ChartContent, data: uPlot.AlignedData, layerCount: number): void {
    plot?.destroy();
    const series: uPlot.Series[] = [{ label: 'step' }];
    const smoothed = (content.smoothing ?? 0) > 0;
    if (smoothed) {
      content.lines.forEach((line, i) => {
        series.push({
          label: `${line.label} (raw)`,
          stroke: `${PALETTE[i % PALETTE.length]}40`,
          width: 1,
          spanGaps: true,
          value: (_u, v) => formatValue(v),
          points: { show: false },
        });
      });
    }
    content.lines.forEach((line, i) => {
      series.push({
        label: line.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: true,
        value: (_u, v) => formatValue(v),
        points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) < 60 },
      });
    });
    for (let i = 0; i < layerCount; i++) {
      series.push({
        label: i === 0 ? 'superseded' : `superseded ${i + 1}`,
        value: (_u, v) => formatValue(v),
        stroke: 'rgba(100,116,139,0.55)',
        paths: () => null,
        points: { show: true, size: 5, stroke: 'rgba(100,116,139,0.55)', fill: 'rgba(148,163,184,0.35)' },
      });
    }
    const opts: uPlot.Options = {
      width: plotWidth(plotBox),
      height: HEIGHT,
      series,
      scales: { x: { time: false }, y: content.logScale ? { distr: 3 } : {} },
      axes: [
        { values: (_u, splits) => splits.map((v) => (v === null ? '' : String(v))) },
        {
          values: (_u, splits) => {
            const ticks = splits.map(formatValue);
            element.dataset.yTicks = ticks.join(' ');
            return ticks;
          },
          size: 60,
        },
      ],
      legend: { show: content.lines.length > 1 || layerCount > 0 || smoothed },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        ...(options.syncKey ? { sync: { key: options.syncKey, setSeries: false } } : {}),
      },
      plugins: [markerPlugin(() => markers)],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            options.onZoom?.({ from: Math.floor(from), to: Math.ceil(to) });
          },
        ],
      },
    };
    plot = new uPlot(opts, data, plotBox);
    plot.over.addEventListener('dblclick', () => options.onZoom?.(null));
  }

  return {
    element,
    width: () => plotWidth(plotBox),
    update(content) {
      markers = content.markers ?? [];
      const built = buildChartData(content.lines, content.superseded);
      let leftOut = 0;
      const onAxis = (col: (number | null)[]) =>
        content.logScale
          ? col.map((v) => {
              if (v !== null && v <= 0) {
                leftOut++;
                return null;
              }
              return v;
            })
          : col;
      const raw = built.lines.map(onAxis);
      const layers = built.supersededLayers.map(onAxis);
      const weight = content.smoothing ?? 0;
      const drawn = weight > 0 ? raw.map((col) => smoothEma(col, weight)) : raw;
      const data = [built.steps, ...(weight > 0 ? raw : []), ...drawn, ...layers] as uPlot.AlignedData;
      const nextShape = `${content.lines.map((l) => l.label).join('|')}#${built.supersededLayers.length}#${weight > 0}#${!!content.logScale}`;
      if (!plot || nextShape !== shape) build(content, data, built.supersededLayers.length);
      else plot.setData(data);
      shape = nextShape;
      element.dataset.points = String(built.pointCount);
      element.dataset.lastStep = String(built.steps.at(-1) ?? '');
      element.dataset.yScale = content.logScale ? 'log' : 'linear';
      element.dataset.smoothing = String(weight);
      element.dataset.drawnLast = String(drawn[0]?.findLast((v) => v !== null) ?? '');
      element.dataset.rawLast = String(raw[0]?.findLast((v) => v !== null) ?? '');
      markerList.replaceChildren(
        ...markers.map((m) => h('li', { class: `marker-${m.kind}` }, `${m.label} (step ${m.step})`)),
      );
      const bad = built.nonFinite.reduce((a, b) => a + b, 0);
      const notes = [
        content.note,
        bad ? `${bad} non-finite value${bad === 1 ? '' : 's'} not drawn` : '',
        leftOut ? `${leftOut} point${leftOut === 1 ? '' : 's'} ≤ 0 left out (log scale)` : '',
      ];
      caption.textContent = notes.filter(Boolean).join(' · ');
    },
    destroy() {
      resize.disconnect();
      plot?.destroy();
      plot = undefined;
      element.remove();
    },
  };
}

/** A value for an axis tick or the legend: short, locale-independent, exponent when tiny or huge. */
export function formatValue(v: number | null): string {
  if (v === null || v === undefined) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function plotWidth(box: HTMLElement): number {
  return Math.max(200, Math.floor(box.clientWidth || 600));
}

/** Draws the markers as dashed vertical lines with their labels, above the series. */
function markerPlugin(getMarkers: () => ChartMarker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const [min, max] = [u.scales.x?.min, u.scales.x?.max];
          if (min === undefined || max === undefined) return;
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = uPlot.pxRatio * 1.5;
          ctx.font = `${Math.round(11 * uPlot.pxRatio)}px system-ui, sans-serif`;
          const shown = getMarkers()
            .filter((m) => m.step >= min && m.step <= max)
            .map((m) => ({ m, x: Math.round(u.valToPos(m.step, 'x', true)) }))
            .sort((a, b) => a.x - b.x);
          const pad = 4 * uPlot.pxRatio;
          const rows = layoutLabelRows(
            shown.map(({ m, x }) => ({ x: x + pad, width: ctx.measureText(m.label).width + pad })),
          );
          for (const [i, { m, x }] of shown.entries()) {
            ctx.strokeStyle = MARKER_COLORS[m.kind];
            ctx.fillStyle = MARKER_COLORS[m.kind];
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(m.label, x + pad, top + (12 + 13 * rows[i]!) * uPlot.pxRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * Rows for marker labels so none overlaps another: each label (sorted by x) takes the first row
 * whose last label ends before it starts.
 */
export function layoutLabelRows(labels: readonly { x: number; width: number }[]): number[] {
  const rowEnds: number[] = [];
  return labels.map(({ x, width }) => {
    let row = rowEnds.findIndex((end) => end <= x);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = x + width;
    return row;
  });
}
