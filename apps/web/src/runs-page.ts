import { api, type DashboardServerInfo, type RunInfo } from './api-client.js';
import { formatStep, formatSync, formatTime } from './format.js';
import { h } from './h.js';
import { createRefresher, subscribeLiveEvents } from './live-events.js';
import { stateBadge } from './state-badge.js';

type SortKey = 'project' | 'name' | 'id' | 'state' | 'lastStep' | 'createdAt';

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'project', label: 'project' },
  { key: 'name', label: 'name' },
  { key: 'id', label: 'id' },
  { key: 'state', label: 'state' },
  { key: 'lastStep', label: 'last step' },
  { key: 'createdAt', label: 'created' },
];

/** The runs list (`/`): filter, sort, pick runs to compare; follows the backend's live events. */
export function renderRunsPage(root: HTMLElement, server: DashboardServerInfo): void {
  let runs: RunInfo[] = [];
  let filter = new URLSearchParams(location.search).get('q') ?? '';
  let sort: { key: SortKey; desc: boolean } = { key: 'createdAt', desc: true };
  const picked = new Set<string>();
  const watch = server.mode === 'watch';

  const tbody = h('tbody');
  const headRow = h('tr', {}, h('th', { class: 'pick' }, ''));
  const status = h('p', { class: 'status', 'data-testid': 'runs-status' });
  const problems = h('details', { class: 'problems', 'data-testid': 'runs-problems', hidden: true });
  const compare = h('a', { class: 'button', 'data-testid': 'compare-link', href: '/compare' }, 'compare');
  const search = h('input', {
    type: 'search',
    placeholder: 'filter by project, name or id',
    'data-testid': 'runs-filter',
    value: filter,
    oninput: (e) => {
      filter = (e.target as HTMLInputElement).value;
      renderRows();
    },
  });

  for (const col of COLUMNS) {
    headRow.append(
      h(
        'th',
        {
          class: 'sortable',
          'data-testid': `sort-${col.key}`,
          onclick: () => {
            sort = { key: col.key, desc: sort.key === col.key ? !sort.desc : col.key === 'createdAt' };
            renderRows();
          },
        },
        col.label,
      ),
    );
  }
  if (watch) headRow.append(h('th', {}, 'sync'));
  headRow.append(h('th', {}, 'copied from'));

  root.replaceChildren(
    h(
      'section',
      { class: 'runs-page' },
      h('div', { class: 'toolbar' }, search, compare),
      h('table', { class: 'runs', 'data-testid': 'runs-table' }, h('thead', {}, headRow), tbody),
      status,
      problems,
    ),
  );

  function renderRows(): void {
    const q = filter.trim().toLowerCase();
    const shown = runs
      .filter((r) => !q || [r.project, r.name ?? '', r.id].some((s) => s.toLowerCase().includes(q)))
      .sort(compareBy(sort.key, sort.desc));
    for (const th of headRow.querySelectorAll<HTMLElement>('th.sortable')) {
      const key = th.dataset.testid?.slice('sort-'.length);
      th.dataset.sorted = key === sort.key ? (sort.desc ? 'desc' : 'asc') : '';
    }
    tbody.replaceChildren(...shown.map(row));
    status.textContent =
      runs.length === 0
        ? 'No runs yet.'
        : `${shown.length} of ${runs.length} run${runs.length === 1 ? '' : 's'}`;
    updateCompare();
  }

  function row(r: RunInfo): HTMLElement {
    const link = (text: string) => h('a', { href: runHref(r.id), target: '_blank', rel: 'noopener' }, text);
    return h(
      'tr',
      { 'data-testid': `run-row-${r.id}`, 'data-state': r.state },
      h(
        'td',
        { class: 'pick' },
        h('input', {
          type: 'checkbox',
          'data-testid': `pick-${r.id}`,
          'aria-label': `pick ${r.id}`,
          checked: picked.has(r.id),
          onchange: (e) => {
            if ((e.target as HTMLInputElement).checked) picked.add(r.id);
            else picked.delete(r.id);
            updateCompare();
          },
        }),
      ),
      h('td', {}, r.project),
      h('td', {}, link(r.name ?? '(unnamed)')),
      h('td', { class: 'mono' }, link(r.id)),
      h('td', {}, stateBadge(r.state)),
      h('td', { class: 'num', 'data-testid': 'run-last-step' }, formatStep(r.lastStep)),
      h('td', {}, formatTime(r.createdAt)),
      watch ? h('td', { 'data-testid': 'run-sync' }, formatSync(r.sync)) : null,
      h(
        'td',
        { 'data-testid': 'run-copied-from' },
        r.copiedFrom ? h('a', { href: runHref(r.copiedFrom), class: 'mono' }, `↳ ${r.copiedFrom}`) : '',
      ),
    );
  }

  function updateCompare(): void {
    const ids = runs.filter((r) => picked.has(r.id)).map((r) => r.id);
    compare.setAttribute('href', `/compare?ids=${ids.map(encodeURIComponent).join(',')}`);
    compare.classList.toggle('disabled', ids.length < 2);
    compare.textContent = ids.length ? `compare (${ids.length})` : 'compare';
  }

  const refresh = createRefresher(
    async () => {
      runs = (await api.runs(server.workspace)).experiments;
      renderRows();
      if (watch) renderProblems(problems, await api.problems(server.workspace));
    },
    (error) => {
      status.textContent = `Could not load runs: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
  refresh();
  subscribeLiveEvents(() => refresh());
}

/** Run directories `swanlog watch` could not read: listed, so one bad directory hides nothing else. */
function renderProblems(box: HTMLElement, list: { dir: string; code: string; message: string }[]): void {
  box.hidden = list.length === 0;
  box.replaceChildren(
    h('summary', {}, `${list.length} run director${list.length === 1 ? 'y' : 'ies'} could not be read`),
    h('ul', {}, ...list.map((p) => h('li', {}, h('code', {}, p.code), ' ', p.message))),
  );
}

/** The shareable address of a run page. */
export function runHref(id: string): string {
  return `/experiments/${encodeURIComponent(id)}`;
}

function compareBy(key: SortKey, desc: boolean): (a: RunInfo, b: RunInfo) => number {
  const sign = desc ? -1 : 1;
  return (a, b) => {
    const empty = key === 'lastStep' ? -1 : '';
    const x = a[key] ?? empty;
    const y = b[key] ?? empty;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return sign * c || a.id.localeCompare(b.id);
  };
}
