import type { MetricPoint } from '@swanlog/protocol';
import uPlot from 'uplot';
import { clippedRange, DURATION_INCRS, formatDuration, formatWall, timeX, type XMode } from './chart-axes.js';
import { buildChartData, type LineInput, type XOf } from './chart-data.js';
import { h } from './h.js';
import { smoothEma } from './smoothing.js';

/** A vertical line on the x axis: where a run resumed or rewound. */
export interface ChartMarker {
  step: number;
  label: string;
  kind: 'resume' | 'rewind';
  /** The line whose steps the marker belongs to (compare: one run's resume); 0 by default. */
  line?: number;
}

export interface MetricChartOptions {
  title: string;
  testId: string;
  /** Called with the step range the user selected by dragging, or null on double click (reset). */
  onZoom?: (range: { from: number; to: number } | null) => void;
  /** Charts with the same key share one crosshair (uPlot cursor sync on the x value). */
  syncKey?: string;
  /** Most lines for which the chart shows uPlot's legend under it (the compare page has its own). */
  maxLegendLines?: number;
}

export interface ChartContent {
  lines: LineInput[];
  superseded?: MetricPoint[];
  /** Markers at steps; `line` says which line's steps (the first by default) on a time axis. */
  markers?: ChartMarker[];
  /** A note under the chart (e.g. "downsampled from N points"). */
  note?: string;
  /** Debiased EMA weight in [0, 1) for the drawn lines; the raw line stays faint behind. */
  smoothing?: number;
  /** Log-scale y: points <= 0 are left out (counted in the note). */
  logScale?: boolean;
  /** The x axis: step (default), time since `origins[line]`, or wall clock. */
  xMode?: XMode;
  /** Per line, the time (ms since the epoch) relative time counts from. */
  origins?: number[];
  /** Clip outliers: the y range spans the 5th–95th percentile (plus a margin); points beyond are marked at the edge. */
  clip?: boolean;
  /** Per line, its color (PALETTE by position otherwise). */
  colors?: string[];
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
  '#0f766e',
  '#a16207',
  '#4f46e5',
  '#e11d48',
  '#15803d',
  '#c026d3',
  '#b45309',
  '#0369a1',
  '#7c3aed',
  '#4d7c0f',
  '#db2777',
  '#57534e',
];
const MARKER_COLORS = { resume: '#f59e0b', rewind: '#ef4444' } as const;
const HEIGHT = 220;
const X_LABEL: Record<XMode, string> = { step: 'step', relative: 'time', wall: 'wall clock' };

/** One chart of one metric key: a uPlot plot with resume/rewind markers, zoom and a caption. */
export function createMetricChart(options: MetricChartOptions): MetricChart {
  const plotBox = h('div', { class: 'plot' });
  const caption = h('div', { class: 'chart-note', 'data-testid': 'chart-note' });
  const markerList = h('ul', { class: 'chart-markers', 'data-testid': 'chart-markers' });
  const element = h(
    'figure',
    { class: 'chart', 'data-testid': options.testId, 'data-key': options.title },
    h('figcaption', {}, h('span', { class: 'chart-title' }, options.title)),
    plotBox,
    markerList,
    caption,
  );
  let plot: uPlot | undefined;
  /** Markers placed on the current x axis. */
  let placed: { m: ChartMarker; x: number }[] = [];
  let shape = '';
  let clip: { min: number; max: number } | null = null;
  let logScale = false;
  let xMode: XMode = 'step';
  /** The lines as last drawn, with each point's x: a zoom on a time axis maps back to steps. */
  let drawnLines: { points: MetricPoint[]; xs: number[] }[] = [];
  /** Index of the first drawn (not raw) line series in uPlot's series. */
  let firstDrawn = 1;
  let lineCount = 0;
  /** The first and last x of the data drawn. */
  let xExtent: (number | undefined)[] = [];
  const resize = new ResizeObserver(() => plot?.setSize({ width: plotWidth(plotBox), height: HEIGHT }));
  resize.observe(plotBox);

  /** The step range of the points whose x lies in [from, to], over all lines. */
  function stepRange(from: number, to: number): { from: number; to: number } | null {
    if (xMode === 'step') return { from: Math.floor(from), to: Math.ceil(to) };
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const line of drawnLines) {
      line.points.forEach((p, i) => {
        const x = line.xs[i]!;
        if (x >= from && x <= to) {
          lo = Math.min(lo, p.step);
          hi = Math.max(hi, p.step);
        }
      });
    }
    return lo <= hi ? { from: lo, to: hi } : null;
  }

  function formatX(v: number | null, span: number): string {
    if (v === null || v === undefined) return '';
    if (xMode === 'relative') return formatDuration(v);
    if (xMode === 'wall') return formatWall(v, span);
    return String(v);
  }

  function build(content: ChartContent, data: uPlot.AlignedData, layerCount: number): void {
    plot?.destroy();
    const colors = content.colors ?? content.lines.map((_, i) => PALETTE[i % PALETTE.length]!);
    const series: uPlot.Series[] = [
      {
        label: X_LABEL[xMode],
        value: (u, v) => formatX(v, (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0)),
      },
    ];
    const smoothed = (content.smoothing ?? 0) > 0;
    if (smoothed) {
      content.lines.forEach((line, i) => {
        series.push({
          label: `${line.label} (raw)`,
          stroke: `${colors[i]}40`,
          width: 1,
          spanGaps: true,
          value: (_u, v) => formatValue(v),
          points: { show: false },
        });
      });
    }
    firstDrawn = 1 + (smoothed ? content.lines.length : 0);
    lineCount = content.lines.length;
    content.lines.forEach((line, i) => {
      series.push({
        label: line.label,
        stroke: colors[i],
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
    const yRange: uPlot.Scale.Range = (_u, min, max) => {
      if (clip) return [clip.min, clip.max];
      if (logScale) {
        // A log axis with nothing on it (or nothing above 0) still needs a range above 0.
        if (min === null || max === null || !(min > 0) || !(max > 0)) return [1, 10];
        return uPlot.rangeLog(min, max, 10, true);
      }
      if (min === null || max === null) return [0, 1];
      return uPlot.rangeNum(min, max, 0.1, true);
    };
    const opts: uPlot.Options = {
      width: plotWidth(plotBox),
      height: HEIGHT,
      series,
      scales: {
        x: {
          time: xMode === 'wall',
          // Points logged within one millisecond share a time: a zero-width time axis gets a
          // second (either side on the wall clock) rather than uPlot's default of a day.
          ...(xMode === 'step'
            ? {}
            : {
                // (uPlot itself stretches a single time to a day before asking.)
                range: (_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax => {
                  const [lo, hi] = xExtent;
                  if (lo === undefined || hi === undefined) return [min ?? 0, max ?? 1];
                  if (hi - lo >= 1e-3) return [lo, hi];
                  return xMode === 'relative' ? [lo, lo + 1] : [lo - 1, hi + 1];
                },
              }),
        },
        y: logScale ? { distr: 3, range: yRange } : { range: yRange },
      },
      axes: [
        {
          ...(xMode === 'relative' ? { incrs: DURATION_INCRS } : {}),
          ...(xMode === 'wall' ? { space: 70 } : {}),
          values: (u, splits) => {
            const span = (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0);
            const ticks = splits.map((v) => formatX(v, span));
            element.dataset.xTicks = ticks.join(' ');
            return ticks;
          },
        },
        {
          values: (_u, splits) => {
            const ticks = splits.map(formatValue);
            element.dataset.yTicks = ticks.join(' ');
            return ticks;
          },
          size: 60,
        },
      ],
      legend: {
        show:
          (content.lines.length > 1 || layerCount > 0 || smoothed) &&
          content.lines.length <= (options.maxLegendLines ?? Number.POSITIVE_INFINITY),
      },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        ...(options.syncKey ? { sync: { key: options.syncKey, setSeries: false } } : {}),
      },
      plugins: [
        markerPlugin(() => placed),
        clipPlugin(
          () => clip,
          () => ({ firstDrawn, lineCount }),
        ),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            const range = stepRange(from, to);
            if (range) options.onZoom?.(range);
          },
        ],
        draw: [
          (u) => {
            element.dataset.yMin = String(u.scales.y?.min ?? '');
            element.dataset.yMax = String(u.scales.y?.max ?? '');
          },
        ],
      },
    };
    plot = new uPlot(opts, data, plotBox);
    // The faint raw lines behind smoothed ones need no legend row of their own.
    if (smoothed) {
      const rows = plot.root.querySelectorAll<HTMLElement>('.u-legend .u-series');
      for (let i = 1; i < firstDrawn; i++) rows[i]?.classList.add('raw-series');
    }
    plot.over.addEventListener('dblclick', () => options.onZoom?.(null));
  }

  return {
    element,
    width: () => plotWidth(plotBox),
    update(content) {
      const markers = content.markers ?? [];
      xMode = content.xMode ?? 'step';
      logScale = !!content.logScale;
      const origins = content.origins ?? [];
      const xOf: XOf =
        xMode === 'step'
          ? (p) => p.step
          : (p, line) => timeX(p.ts, xMode as 'relative' | 'wall', origins[Math.max(0, line)] ?? 0);
      drawnLines = content.lines.map((l, i) => ({ points: l.points, xs: l.points.map((p) => xOf(p, i)) }));
      placed = markers.flatMap((m) => {
        if (xMode === 'step') return [{ m, x: m.step }];
        const line = drawnLines[m.line ?? 0];
        const at = line?.points.findIndex((p) => !p.superseded && p.step >= m.step) ?? -1;
        return at >= 0 ? [{ m, x: line!.xs[at]! }] : [];
      });
      const built = buildChartData(content.lines, content.superseded, xOf);
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
      clip = content.clip ? clippedRange(raw.flat(), logScale) : null;
      let clipped = 0;
      if (clip) {
        for (const col of drawn)
          for (const v of col) if (v !== null && (v < clip.min || v > clip.max)) clipped++;
      }
      xExtent = [built.steps[0], built.steps.at(-1)];
      const data = [built.steps, ...(weight > 0 ? raw : []), ...drawn, ...layers] as uPlot.AlignedData;
      const nextShape = `${content.lines.map((l) => l.label).join('|')}#${built.supersededLayers.length}#${weight > 0}#${logScale}#${xMode}#${(content.colors ?? []).join(',')}`;
      if (!plot || nextShape !== shape) build(content, data, built.supersededLayers.length);
      else plot.setData(data);
      shape = nextShape;
      element.dataset.points = String(built.pointCount);
      element.dataset.lastStep = String(
        content.lines[0]?.points.findLast((p) => !p.superseded)?.step ?? built.steps.at(-1) ?? '',
      );
      element.dataset.xMode = xMode;
      element.dataset.colors = (
        content.colors ?? content.lines.map((_, i) => PALETTE[i % PALETTE.length]!)
      ).join(' ');
      element.dataset.yScale = logScale ? 'log' : 'linear';
      element.dataset.smoothing = String(weight);
      element.dataset.clipped = String(clipped);
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
        clipped ? `${clipped} outlier${clipped === 1 ? '' : 's'} clipped (marked ▲▼ at the edge)` : '',
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
function markerPlugin(getMarkers: () => { m: ChartMarker; x: number }[]): uPlot.Plugin {
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
            .filter(({ x }) => x >= min && x <= max)
            .map(({ m, x }) => ({ m, x: Math.round(u.valToPos(x, 'x', true)) }))
            .sort((a, b) => a.x - b.x);
          const pad = 4 * uPlot.pxRatio;
          // uPlot leaves the canvas right-aligned after its axes: labels start at their line,
          // or end at the plot's right edge when they would run past it.
          ctx.textAlign = 'left';
          ctx.textBaseline = 'alphabetic';
          const right = u.bbox.left + u.bbox.width;
          const labels = shown.map(({ m, x }) => {
            const width = ctx.measureText(m.label).width + pad;
            return { x: Math.max(u.bbox.left, Math.min(x + pad, right - width)), width };
          });
          const rows = layoutLabelRows(labels);
          for (const [i, { m, x }] of shown.entries()) {
            ctx.strokeStyle = MARKER_COLORS[m.kind];
            ctx.fillStyle = MARKER_COLORS[m.kind];
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(m.label, labels[i]!.x, top + (12 + 13 * rows[i]!) * uPlot.pxRatio);
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

/** Marks the points a clipped y range leaves out: a small triangle at the top or bottom edge, in the line's color. */
function clipPlugin(
  getClip: () => { min: number; max: number } | null,
  getLines: () => { firstDrawn: number; lineCount: number },
): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const clip = getClip();
          if (!clip) return;
          const { firstDrawn, lineCount } = getLines();
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          const size = 4 * uPlot.pxRatio;
          ctx.save();
          for (let s = firstDrawn; s < firstDrawn + lineCount; s++) {
            const col = u.data[s];
            const xs = u.data[0];
            if (!col || !xs) continue;
            const stroke = u.series[s]?.stroke;
            ctx.fillStyle = typeof stroke === 'function' ? stroke(u, s) : (stroke ?? '#64748b');
            for (let i = 0; i < col.length; i++) {
              const v = col[i];
              if (v === null || v === undefined || (v >= clip.min && v <= clip.max)) continue;
              const x = u.valToPos(xs[i]!, 'x', true);
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.beginPath();
              if (v > clip.max) {
                ctx.moveTo(x, top);
                ctx.lineTo(x - size, top + size * 1.6);
                ctx.lineTo(x + size, top + size * 1.6);
              } else {
                ctx.moveTo(x, top + height);
                ctx.lineTo(x - size, top + height - size * 1.6);
                ctx.lineTo(x + size, top + height - size * 1.6);
              }
              ctx.fill();
            }
          }
          ctx.restore();
        },
      ],
    },
  };
}
