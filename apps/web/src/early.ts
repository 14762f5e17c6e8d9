// Inlined into index.html by build.mjs (a classic script, run while the page is parsed): starts
// `/server` and, on a run page, the run and its details, then, as soon as the run's keys are known,
// the series of the charts of its first screen in one request, all while app.js still loads.
// api-client takes each answer once (`__swanlogEarly`, `__swanlogEarlySeries`).
import type { EarlySeries } from './api-client.js';
import { earlyChartCount, earlyMaxPoints, keySections } from './chart-order.js';

const ask = (path: string) =>
  fetch(`/api/v1${path}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
const early: Record<string, Promise<Response> | undefined> = { '/server': ask('/server') };
window.__swanlogEarly = early;
const match = /^\/experiments\/([A-Za-z0-9_-]{1,64})\/*$/.exec(location.pathname);
if (match) {
  const id = match[1]!;
  const path = `/experiments/${id}`;
  const run = ask(path);
  early[path] = run;
  early[`${path}/details`] = ask(`${path}/details`);
  // A view with settings in its URL (a zoom, superseded points) asks for other series: the page does.
  if (location.search === '') {
    // Registered before api-client awaits the same response, so the clone comes first.
    const keys = run.then((res) =>
      res.ok ? (res.clone().json() as Promise<{ keys?: string[] }>).then((r) => r.keys ?? []) : [],
    );
    const maxPoints = earlyMaxPoints();
    const first = keys.then((all) =>
      keySections([...all].sort())
        .flatMap(([, k]) => k)
        .slice(0, earlyChartCount()),
    );
    const series: EarlySeries = {
      id,
      maxPoints,
      keys: first.then((k) => new Set(k)),
      answer: Promise.resolve({ series: [] }),
    };
    series.answer = first.then((first) => {
      if (first.length === 0) return { series: [] };
      const params = new URLSearchParams({ maxPoints: String(maxPoints) });
      for (const key of first) params.append('key', key);
      return ask(`${path}/metrics?${params}`).then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      });
    });
    series.answer.catch(() => {});
    series.keys.catch(() => {});
    window.__swanlogEarlySeries = series;
  }
}
