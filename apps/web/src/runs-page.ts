import { ApiError, api, type DashboardServerInfo } from './api-client.js';
import { decodeValue } from './decode-value.js';
import { applyFilter, checkFilter, type TableValue } from './filter-expr.js';
import { formatStep, formatSync, formatTime } from './format.js';
import { h } from './h.js';
import { createRefresher, subscribeLiveEvents } from './live-events.js';
import { MAX_COMPARED } from './route.js';
import type { RunsTableRowWire } from './runs-table.js';
import { stateBadge } from './state-badge.js';

type Stat = 'last' | 'min' | 'max';

/** A row as the table holds it: metric summaries decoded to numbers. */
interface Row {
  id: string;
  name: string | null;
  project: string;
  state: string;
  createdAt: number;
  lastStep: number | null;
  tags: string[];
  note: string;
  archived: boolean;
  config: Record<string, TableValue>;
  metrics: Record<string, { last: number | null; min: number | null; max: number | null; step: number }>;
  sync?: unknown;
  copiedFrom?: string | null;
}

const BUILTIN: { id: string; label: string }[] = [
  { id: 'project', label: 'project' },
  { id: 'name', label: 'name' },
  { id: 'id', label: 'id' },
  { id: 'state', label: 'state' },
  { id: 'lastStep', label: 'last step' },
  { id: 'createdAt', label: 'created' },
];
const PAGE_SIZE = 50;

/**
 * The runs table (`/`): one request for every run with its flattened config and metric summaries;
 * columns from a picker, sort by any column, a filter expression, paging. The filter, sort,
 * columns, statistic and "show archived" live in the address, so a link shows the same table.
 */
export function renderRunsPage(root: HTMLElement, server: DashboardServerInfo): void {
  const params = new URLSearchParams(location.search);
  let rows: Row[] = [];
  let configKeys: string[] = [];
  let metricKeys: string[] = [];
  let filter = params.get('q') ?? '';
  let sort: { col: string; desc: boolean } = {
    col: params.get('sort') ?? 'createdAt',
    desc: params.has('sort') ? params.get('desc') === '1' : true,
  };
  /** null: the default columns (every top-level config key). */
  let chosen: string[] | null = params.has('cols')
    ? (params.get('cols') ?? '').split(',').filter(Boolean)
    : null;
  let stat: Stat = (['last', 'min', 'max'] as const).find((s) => s === params.get('stat')) ?? 'last';
  let showArchived = params.get('archived') === '1';
  let page = 0;
  const picked = new Set<string>();
  const watch = server.mode === 'watch';
  const canEdit = server.mode === 'server' && server.canEdit === true;

  const thead = h('thead');
  const tbody = h('tbody');
  const status = h('p', { class: 'status', 'data-testid': 'runs-status' });
  const filterError = h('p', { class: 'error', 'data-testid': 'filter-error', hidden: true });
  const problems = h('details', { class: 'problems', 'data-testid': 'runs-problems', hidden: true });
  const pager = h('div', { class: 'pager', 'data-testid': 'runs-pager' });
  const undoBar = h('div', { class: 'undo', 'data-testid': 'undo-bar', hidden: true });
  const picker = h('details', { class: 'column-picker', 'data-testid': 'column-picker' });
  const compare = h('a', { class: 'button', 'data-testid': 'compare-link', href: '/compare' }, 'compare');
  const search = h('input', {
    type: 'search',
    placeholder: 'filter: text, lr>0.01, optimizer/name=adam, state:crashed, tag:baseline',
    'data-testid': 'runs-filter',
    value: filter,
    oninput: (e) => {
      filter = (e.target as HTMLInputElement).value;
      page = 0;
      render();
    },
  });
  const statSelect = h(
    'select',
    {
      'data-testid': 'metric-stat',
      'aria-label': 'metric summary',
      onchange: (e) => {
        stat = (e.target as HTMLSelectElement).value as Stat;
        render();
      },
    },
    ...(['last', 'min', 'max'] as const).map((s) => h('option', { value: s, selected: s === stat }, s)),
  );
  const archivedBox = h('input', {
    type: 'checkbox',
    'data-testid': 'show-archived',
    checked: showArchived,
    onchange: (e) => {
      showArchived = (e.target as HTMLInputElement).checked;
      page = 0;
      render();
    },
  });

  root.replaceChildren(
    h(
      'section',
      { class: 'runs-page' },
      h(
        'div',
        { class: 'toolbar' },
        search,
        h('label', {}, 'metrics: ', statSelect),
        h('label', {}, archivedBox, ' show archived'),
        compare,
      ),
      filterError,
      picker,
      undoBar,
      h(
        'div',
        { class: 'table-wrap' },
        h('table', { class: 'runs', 'data-testid': 'runs-table' }, thead, tbody),
      ),
      pager,
      status,
      problems,
    ),
  );

  function columns(): string[] {
    const base = BUILTIN.map((c) => c.id);
    const extra = chosen ?? configKeys.filter((k) => !k.includes('/')).map((k) => `c:${k}`);
    return [...base, ...extra];
  }

  function label(col: string): string {
    if (col.startsWith('c:')) return col.slice(2);
    if (col.startsWith('m:')) return `${col.slice(2)} (${stat})`;
    return BUILTIN.find((c) => c.id === col)?.label ?? col;
  }

  function value(r: Row, col: string): TableValue {
    if (col.startsWith('c:')) return r.config[col.slice(2)] ?? null;
    if (col.startsWith('m:')) return r.metrics[col.slice(2)]?.[stat] ?? null;
    const v = (r as unknown as Record<string, TableValue>)[col];
    return v ?? null;
  }

  function saveUrl(): void {
    const p = new URLSearchParams(location.search);
    const set = (k: string, v: string | null) => (v === null || v === '' ? p.delete(k) : p.set(k, v));
    set('q', filter.trim() ? filter : null);
    set('sort', sort.col === 'createdAt' && sort.desc ? null : sort.col);
    set('desc', sort.col === 'createdAt' && sort.desc ? null : sort.desc ? '1' : '0');
    set('cols', chosen === null ? null : chosen.join(','));
    if (chosen !== null && chosen.length === 0) p.set('cols', '');
    set('stat', stat === 'last' ? null : stat);
    set('archived', showArchived ? '1' : null);
    const qs = p.toString();
    history.replaceState(history.state, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
  }

  function renderPicker(): void {
    const current = new Set(columns());
    const box = (col: string) =>
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          'data-testid': `col-${col}`,
          checked: current.has(col),
          onchange: (e) => {
            const on = (e.target as HTMLInputElement).checked;
            const list = columns().filter((c) => !BUILTIN.some((b) => b.id === c) && c !== col);
            chosen = on ? [...list, col] : list;
            render();
          },
        }),
        ` ${col.slice(2)}`,
      );
    const wasOpen = picker.open;
    picker.replaceChildren(
      h('summary', {}, 'columns'),
      h('div', { class: 'picker-group' }, h('strong', {}, 'config'), ...configKeys.map((k) => box(`c:${k}`))),
      h(
        'div',
        { class: 'picker-group' },
        h('strong', {}, 'metrics'),
        ...metricKeys.map((k) => box(`m:${k}`)),
      ),
    );
    picker.open = wasOpen;
  }

  function renderHead(cols: string[]): void {
    const tr = h('tr', {}, h('th', { class: 'pick' }, ''));
    for (const col of cols) {
      tr.append(
        h(
          'th',
          {
            class: 'sortable',
            'data-testid': `sort-${col}`,
            'data-sorted': col === sort.col ? (sort.desc ? 'desc' : 'asc') : '',
            onclick: () => {
              sort = { col, desc: sort.col === col ? !sort.desc : col === 'createdAt' };
              render();
            },
          },
          label(col),
        ),
      );
    }
    tr.append(h('th', {}, 'tags'));
    if (!watch) tr.append(h('th', {}, 'note'));
    if (watch) tr.append(h('th', {}, 'sync'));
    tr.append(h('th', {}, 'copied from'));
    if (canEdit) tr.append(h('th', {}, 'edit'));
    thead.replaceChildren(tr);
  }

  function render(): void {
    saveUrl();
    const cols = columns();
    renderPicker();
    renderHead(cols);
    let shown: Row[];
    try {
      checkFilter(filter, configKeys, metricKeys);
      shown = applyFilter(rows, filter);
      filterError.hidden = true;
      filterError.textContent = '';
    } catch (error) {
      filterError.hidden = false;
      filterError.textContent = error instanceof Error ? error.message : String(error);
      shown = rows.slice();
    }
    const archivedCount = shown.filter((r) => r.archived).length;
    if (!showArchived) shown = shown.filter((r) => !r.archived);
    shown.sort(compareBy((r) => value(r, sort.col), sort.desc));
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    tbody.replaceChildren(...shown.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map((r) => row(r, cols)));
    pager.replaceChildren(
      ...(pages > 1
        ? [
            h(
              'button',
              { type: 'button', 'data-testid': 'page-prev', disabled: page === 0, onclick: () => go(-1) },
              '‹ prev',
            ),
            h('span', { 'data-testid': 'page-index' }, ` page ${page + 1} of ${pages} `),
            h(
              'button',
              {
                type: 'button',
                'data-testid': 'page-next',
                disabled: page >= pages - 1,
                onclick: () => go(1),
              },
              'next ›',
            ),
          ]
        : []),
    );
    status.textContent =
      rows.length === 0
        ? 'No runs yet.'
        : `${shown.length} of ${rows.length} run${rows.length === 1 ? '' : 's'}` +
          (!showArchived && archivedCount ? ` (${archivedCount} archived hidden)` : '');
    updateCompare();
  }

  function go(delta: number): void {
    page += delta;
    render();
  }

  function cell(r: Row, col: string): HTMLElement {
    const link = (text: string) => h('a', { href: runHref(r.id), target: '_blank', rel: 'noopener' }, text);
    switch (col) {
      case 'project':
        return h('td', {}, r.project);
      case 'name':
        return h(
          'td',
          {},
          link(r.name ?? '(unnamed)'),
          r.archived ? h('span', { class: 'badge', 'data-testid': 'archived-badge' }, ' archived') : '',
        );
      case 'id':
        return h('td', { class: 'mono' }, link(r.id));
      case 'state':
        return h('td', {}, stateBadge(r.state));
      case 'lastStep':
        return h('td', { class: 'num', 'data-testid': 'run-last-step' }, formatStep(r.lastStep));
      case 'createdAt':
        return h('td', {}, formatTime(r.createdAt));
    }
    const v = value(r, col);
    return h(
      'td',
      { class: typeof v === 'number' ? 'num' : '', 'data-testid': `cell-${col}` },
      formatValue(v),
    );
  }

  function row(r: Row, cols: string[]): HTMLElement {
    return h(
      'tr',
      { 'data-testid': `run-row-${r.id}`, 'data-state': r.state, 'data-archived': r.archived ? '1' : '0' },
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
      ...cols.map((c) => cell(r, c)),
      h('td', { 'data-testid': 'run-tags' }, r.tags.join(', ')),
      watch ? null : h('td', { class: 'note', 'data-testid': 'run-note' }, r.note),
      watch ? h('td', { 'data-testid': 'run-sync' }, formatSync(r.sync)) : null,
      h(
        'td',
        { 'data-testid': 'run-copied-from' },
        r.copiedFrom ? h('a', { href: runHref(r.copiedFrom), class: 'mono' }, `↳ ${r.copiedFrom}`) : '',
      ),
      canEdit ? editCell(r) : null,
    );
  }

  /** Team metadata controls (server mode, a session signed in with a write key). */
  function editCell(r: Row): HTMLElement {
    const error = h('span', { class: 'error', 'data-testid': 'edit-error' });
    const save = (patch: { tags?: string[]; note?: string; name?: string; archived?: boolean }) =>
      api.patchMeta(r.id, patch, server.csrfToken).then(
        (meta) => {
          Object.assign(r, { name: meta.name, tags: meta.tags, note: meta.note, archived: meta.archived });
          return true;
        },
        (e: unknown) => {
          error.textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
          return false;
        },
      );
    const input = (testid: string, value: string, placeholder: string, toPatch: (v: string) => object) =>
      h('input', {
        type: 'text',
        'data-testid': testid,
        'aria-label': `${placeholder} of ${r.id}`,
        placeholder,
        value,
        onchange: (e) => {
          save(toPatch((e.target as HTMLInputElement).value)).then((ok) => ok && render());
        },
      });
    return h(
      'td',
      { class: 'edit' },
      input('edit-name', r.name ?? '', 'name', (v) => ({ name: v.trim() })),
      input('edit-tags', r.tags.join(', '), 'tags, comma-separated', (v) => ({
        tags: [
          ...new Set(
            v
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          ),
        ],
      })),
      input('edit-note', r.note, 'note', (v) => ({ note: v })),
      h(
        'button',
        {
          type: 'button',
          'data-testid': r.archived ? 'unarchive' : 'archive',
          onclick: () => {
            const archived = !r.archived;
            save({ archived }).then((ok) => {
              if (!ok) return;
              if (archived) showUndo(r, save);
              else undoBar.hidden = true;
              render();
            });
          },
        },
        r.archived ? 'unarchive' : 'archive',
      ),
      error,
    );
  }

  function showUndo(r: Row, save: (p: { archived: boolean }) => Promise<boolean>): void {
    undoBar.hidden = false;
    undoBar.replaceChildren(
      `Archived ${r.name ?? r.id}. `,
      h(
        'button',
        {
          type: 'button',
          'data-testid': 'undo-archive',
          onclick: () => {
            save({ archived: false }).then((ok) => {
              if (!ok) return;
              undoBar.hidden = true;
              render();
            });
          },
        },
        'undo',
      ),
    );
  }

  function updateCompare(): void {
    const ids = rows.filter((r) => picked.has(r.id)).map((r) => r.id);
    compare.setAttribute('href', `/compare?ids=${ids.map(encodeURIComponent).join(',')}`);
    compare.classList.toggle('disabled', ids.length < 2 || ids.length > MAX_COMPARED);
    compare.textContent = ids.length ? `compare (${ids.length})` : 'compare';
    compare.title = ids.length > MAX_COMPARED ? `compare shows at most ${MAX_COMPARED} runs: pick fewer` : '';
  }

  let deferred = false;
  const typingInTable = () => {
    const el = document.activeElement;
    return el instanceof HTMLInputElement && el.type === 'text' && tbody.contains(el);
  };
  tbody.addEventListener('focusout', () => {
    setTimeout(() => {
      if (deferred && !typingInTable()) {
        deferred = false;
        render();
      }
    }, 0);
  });

  const refresh = createRefresher(
    async () => {
      // One request: the table's rows carry everything the page shows (copiedFrom, sync too).
      const table = await api.runsTable(server.workspace);
      rows = table.runs.map(toRow);
      configKeys = table.configKeys;
      metricKeys = table.metricKeys;
      // A live refresh while someone types in an edit box waits until the box loses focus.
      if (typingInTable()) deferred = true;
      else render();
      if (watch) renderProblems(problems, await api.problems(server.workspace));
    },
    (error) => {
      status.textContent = `Could not load runs: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
  refresh();
  subscribeLiveEvents(() => refresh());
}

function toRow(r: RunsTableRowWire): Row {
  const num = (v: number | string | null) => (v === null ? null : decodeValue(v));
  const metrics: Row['metrics'] = {};
  for (const [k, m] of Object.entries(r.metrics)) {
    metrics[k] = { last: num(m.last), min: num(m.min), max: num(m.max), step: m.step };
  }
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    state: r.state,
    createdAt: r.createdAt,
    lastStep: r.lastStep ?? null,
    tags: r.tags ?? [],
    note: r.note ?? '',
    archived: r.archived === true,
    config: r.config,
    metrics,
    sync: r.sync,
    copiedFrom: r.copiedFrom ?? null,
  };
}

function formatValue(v: TableValue): string {
  if (v === null) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(5)));
  }
  return String(v);
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

/** Numbers numerically, text by locale; empty values last either way; ties by id. */
function compareBy(get: (r: Row) => TableValue, desc: boolean): (a: Row, b: Row) => number {
  const sign = desc ? -1 : 1;
  return (a, b) => {
    const x = get(a);
    const y = get(b);
    const ex = x === null || (typeof x === 'number' && Number.isNaN(x));
    const ey = y === null || (typeof y === 'number' && Number.isNaN(y));
    if (ex || ey) return ex && ey ? a.id.localeCompare(b.id) : ex ? 1 : -1;
    const c =
      typeof x === 'number' && typeof y === 'number'
        ? x < y
          ? -1
          : x > y
            ? 1
            : 0
        : String(x).localeCompare(String(y));
    return sign * c || a.id.localeCompare(b.id);
  };
}
