import { h } from './h.js';

/** A run's state as a coloured badge (running, finished, crashed, aborted). */
export function stateBadge(state: string, testId?: string): HTMLElement {
  return h('span', { class: `badge state-${state}`, 'data-testid': testId, 'data-state': state }, state);
}
