/**
 * The runs-table filter: words separated by spaces, all of which must hold (AND).
 * - `key op value` with op one of = != < <= > >=: `key` is looked up among the flattened config
 *   keys first, then the metric keys (the metric's last value); `config.lr` / `metric.lr` pick one.
 * - `state:crashed`, `tag:baseline`: those fields.
 * - anything else: free text, matched case-insensitively against the run's id, name and project.
 * Double quotes keep spaces inside one word: `name="my run"`.
 */

export type TableValue = string | number | boolean | null;

export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterTerm =
  | { kind: 'compare'; scope: 'any' | 'config' | 'metric'; key: string; op: Op; value: string }
  | { kind: 'state'; value: string }
  | { kind: 'tag'; value: string }
  | { kind: 'text'; value: string };

/** The fields of a runs-table row that the filter reads. */
export interface FilterableRow {
  id: string;
  name: string | null;
  project: string;
  state: string;
  tags: string[];
  config: Record<string, string | number | boolean | null>;
  metrics: Record<string, { last: number | null }>;
}

function splitWords(input: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of input) {
    if (ch === '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (any) words.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) words.push(cur);
  return words;
}

const COMPARE = /^([^=!<>]+?)(!=|<=|>=|=|<|>)(.*)$/;

export function parseFilter(input: string): FilterTerm[] {
  return splitWords(input).map((word): FilterTerm => {
    const lower = word.toLowerCase();
    if (lower.startsWith('state:')) return { kind: 'state', value: word.slice(6) };
    if (lower.startsWith('tag:')) return { kind: 'tag', value: word.slice(4) };
    const m = COMPARE.exec(word);
    if (m && m[3] !== '') {
      let key = m[1]!;
      let scope: 'any' | 'config' | 'metric' = 'any';
      if (key.startsWith('config.')) {
        scope = 'config';
        key = key.slice(7);
      } else if (key.startsWith('metric.')) {
        scope = 'metric';
        key = key.slice(7);
      }
      return { kind: 'compare', scope, key, op: m[2] as Op, value: m[3]! };
    }
    return { kind: 'text', value: word };
  });
}

function compareValues(actual: string | number | boolean | null, op: Op, wanted: string): boolean {
  if (actual === null) return op === '!=' ? wanted !== 'null' : op === '=' && wanted === 'null';
  const wantedNum = Number(wanted);
  let c: number;
  if (typeof actual === 'number' && wanted.trim() !== '' && !Number.isNaN(wantedNum)) {
    if (Number.isNaN(actual)) return op === '!=';
    c = actual < wantedNum ? -1 : actual > wantedNum ? 1 : 0;
  } else {
    const a = String(actual);
    if (op === '=' || op === '!=') {
      const eq = a.toLowerCase() === wanted.toLowerCase();
      return op === '=' ? eq : !eq;
    }
    c = a < wanted ? -1 : a > wanted ? 1 : 0;
  }
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

function termHolds(row: FilterableRow, t: FilterTerm): boolean {
  switch (t.kind) {
    case 'state':
      return row.state.toLowerCase() === t.value.toLowerCase();
    case 'tag':
      return row.tags.some((tag) => tag.toLowerCase() === t.value.toLowerCase());
    case 'text': {
      const v = t.value.toLowerCase();
      return [row.id, row.name ?? '', row.project].some((s) => s.toLowerCase().includes(v));
    }
    case 'compare': {
      if (t.scope !== 'metric' && Object.hasOwn(row.config, t.key)) {
        return compareValues(row.config[t.key]!, t.op, t.value);
      }
      if (t.scope !== 'config' && Object.hasOwn(row.metrics, t.key)) {
        return compareValues(row.metrics[t.key]!.last, t.op, t.value);
      }
      return false;
    }
  }
}

/** The rows for which every term holds, in their order. */
export function applyFilter<R extends FilterableRow>(rows: readonly R[], input: string): R[] {
  const terms = parseFilter(input);
  if (terms.length === 0) return rows.slice();
  return rows.filter((row) => terms.every((t) => termHolds(row, t)));
}

/**
 * A message naming what is wrong with a filter, or null when it is fine: a comparison without a
 * key or value, or a key that no run has (a typo would otherwise just show an empty table).
 */
export function filterProblem(input: string, configKeys: string[], metricKeys: string[]): string | null {
  for (const t of parseFilter(input)) {
    if (t.kind === 'text') {
      const m = /^([^=!<>]*)(!=|<=|>=|=|<|>)$/.exec(t.value);
      if (m) return `"${t.value}": no value after ${m[2]} (e.g. ${m[1] || 'lr'}${m[2]}0.01)`;
      if (/^(!=|<=|>=|=|<|>)/.test(t.value))
        return `"${t.value}": a comparison needs a key first (e.g. lr>0.01)`;
    }
    if (t.kind !== 'compare') continue;
    const keys =
      t.scope === 'config' ? configKeys : t.scope === 'metric' ? metricKeys : [...configKeys, ...metricKeys];
    if (!keys.includes(t.key)) {
      const known = keys.length ? keys.slice(0, 8).join(', ') + (keys.length > 8 ? ', …' : '') : 'none';
      return `unknown ${t.scope === 'any' ? '' : `${t.scope} `}key "${t.key}": no run has it (known: ${known})`;
    }
  }
  return null;
}

/** Throws filterProblem's message, if any. */
export function checkFilter(input: string, configKeys: string[], metricKeys: string[]): void {
  const problem = filterProblem(input, configKeys, metricKeys);
  if (problem) throw new Error(problem);
}
