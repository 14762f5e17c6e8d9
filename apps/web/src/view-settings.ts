import { parseXMode, X_MODES, type XMode } from './chart-axes.js';
import { h } from './h.js';

/**
 * The chart settings the run page and the compare view share, kept in the URL so a link shows
 * the same view: `smooth=0.9`, `log=1` (every chart log-scale), `ylog=a,b` / `ylin=a,b` (charts
 * whose scale differs from that), `x=relative|wall`, `clip=1`, `steps=100-500` (the shared zoom).
 */
export interface ViewSettings {
  smoothing: number;
  /** Log-scale y for every chart, except the keys in `exceptions`. */
  logAll: boolean;
  /** Keys whose log setting is the opposite of `logAll` (toggled on the chart). */
  exceptions: Set<string>;
  xMode: XMode;
  clip: boolean;
  /** The step range every chart is zoomed to, or null. */
  zoom: { from: number; to: number } | null;
}

/** `steps=A-B` (A ≤ B, whole steps) as a zoom; anything else is no zoom. */
function parseZoom(text: string | null): { from: number; to: number } | null {
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(text ?? '');
  if (!m) return null;
  const from = Number(m[1]);
  const to = Number(m[2]);
  return Number.isSafeInteger(from) && Number.isSafeInteger(to) && from <= to ? { from, to } : null;
}

export function readViewSettings(search: string): ViewSettings {
  const q = new URLSearchParams(search);
  const logAll = q.get('log') === '1';
  const list = q.get(logAll ? 'ylin' : 'ylog') ?? '';
  return {
    smoothing: Math.min(0.99, Math.max(0, Number(q.get('smooth')) || 0)),
    logAll,
    exceptions: new Set(list.split(',').filter(Boolean)),
    xMode: parseXMode(q.get('x')),
    clip: q.get('clip') === '1',
    zoom: parseZoom(q.get('steps')),
  };
}

/** Writes the settings into the address bar (replacing the entry), keeping other parameters. */
export function saveViewSettings(v: ViewSettings): void {
  const q = new URLSearchParams(location.search);
  const set = (name: string, value: string | null) => (value === null ? q.delete(name) : q.set(name, value));
  set('smooth', v.smoothing > 0 ? String(v.smoothing) : null);
  set('log', v.logAll ? '1' : null);
  const keys = [...v.exceptions].sort().join(',');
  set('ylog', !v.logAll && keys ? keys : null);
  set('ylin', v.logAll && keys ? keys : null);
  set('x', v.xMode === 'step' ? null : v.xMode);
  set('clip', v.clip ? '1' : null);
  set('steps', v.zoom ? `${v.zoom.from}-${v.zoom.to}` : null);
  const search = q.toString().replace(/%2C/g, ',').replace(/%2F/g, '/');
  history.replaceState(history.state, '', `${location.pathname}${search ? `?${search}` : ''}`);
}

/** Whether the chart of `key` is drawn log-scale. */
export function isLog(v: ViewSettings, key: string): boolean {
  return v.logAll !== v.exceptions.has(key);
}

/**
 * The toolbar controls for the settings. `onChange` is called after a change (the settings
 * object is updated in place and saved to the URL); `perChart` tells the log-all box to redraw
 * the per-chart boxes.
 */
export function viewControls(v: ViewSettings, onChange: () => void): HTMLElement[] {
  const changed = () => {
    saveViewSettings(v);
    onChange();
  };
  const smoothValue = h('span', { 'data-testid': 'smoothing-value' }, v.smoothing.toFixed(2));
  const smoothSlider = h('input', {
    type: 'range',
    min: '0',
    max: '0.99',
    step: '0.01',
    value: String(v.smoothing),
    'data-testid': 'smoothing',
    oninput: (e) => {
      v.smoothing = Number((e.target as HTMLInputElement).value);
      smoothValue.textContent = v.smoothing.toFixed(2);
      changed();
    },
  });
  const logToggle = h('input', {
    type: 'checkbox',
    'data-testid': 'log-scale',
    title: 'log-scale y for every chart',
    onchange: (e) => {
      v.logAll = (e.target as HTMLInputElement).checked;
      v.exceptions.clear();
      changed();
    },
  }) as HTMLInputElement;
  logToggle.checked = v.logAll;
  const clipToggle = h('input', {
    type: 'checkbox',
    'data-testid': 'clip-outliers',
    onchange: (e) => {
      v.clip = (e.target as HTMLInputElement).checked;
      changed();
    },
  }) as HTMLInputElement;
  clipToggle.checked = v.clip;
  const xSelect = h(
    'select',
    {
      'data-testid': 'x-axis',
      onchange: (e) => {
        v.xMode = parseXMode((e.target as HTMLSelectElement).value);
        changed();
      },
    },
    ...X_MODES.map(({ mode, label }) => h('option', { value: mode }, label)),
  ) as HTMLSelectElement;
  xSelect.value = v.xMode;
  return [
    h('label', { class: 'toggle' }, 'x ', xSelect),
    h('label', { class: 'toggle' }, logToggle, ' log-scale y (all)'),
    h(
      'label',
      {
        class: 'toggle',
        title: 'y range from the 5th to the 95th percentile plus 10%; points beyond are marked ▲▼',
      },
      clipToggle,
      ' clip outliers',
    ),
    h('label', { class: 'toggle' }, 'smoothing ', smoothSlider, ' ', smoothValue),
  ];
}

/**
 * A chart's own log-scale box (in its caption). `sync` sets it from the settings (after the
 * log-all box changed them); a click toggles that key's exception.
 */
export function chartLogToggle(
  v: ViewSettings,
  key: string,
  onChange: () => void,
): { element: HTMLElement; sync: () => void } {
  const box = h('input', {
    type: 'checkbox',
    'data-testid': 'chart-log',
    onchange: (e) => {
      const on = (e.target as HTMLInputElement).checked;
      if (on === v.logAll) v.exceptions.delete(key);
      else v.exceptions.add(key);
      saveViewSettings(v);
      onChange();
    },
  }) as HTMLInputElement;
  const sync = () => {
    box.checked = isLog(v, key);
  };
  sync();
  return {
    element: h('label', { class: 'chart-log', title: 'log-scale y for this chart' }, box, ' log'),
    sync,
  };
}
