import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { ApiError, api, type DashboardServerInfo, prefetch, runPath } from './api-client.js';
import { renderComparePage } from './compare-page.js';
import { h } from './h.js';
import { renderLoginPage } from './login-page.js';
import { parseRoute } from './route.js';
import { renderRunPage } from './run-page.js';
import { renderRunsPage } from './runs-page.js';

/** Boots the dashboard: asks who we are, then renders the page of the current address. */
async function main(): Promise<void> {
  const app = document.getElementById('app')!;
  const nav = document.getElementById('nav')!;
  let server: DashboardServerInfo;
  const route = parseRoute(location.pathname, location.search);
  // The run page's first requests need not wait for /server's answer.
  if (route.page === 'run') prefetch(runPath(route.id), `${runPath(route.id)}/details`);
  try {
    server = await api.server();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      renderLoginPage(app);
      return;
    }
    app.replaceChildren(h('p', { class: 'error' }, `Cannot reach the swanlog backend: ${describe(error)}`));
    return;
  }
  renderNav(nav, server);
  switch (route.page) {
    case 'runs':
      return renderRunsPage(app, server);
    case 'run':
      return renderRunPage(app, route.id);
    case 'compare':
      return renderComparePage(app, route.ids);
    case 'login':
      location.replace('/');
      return;
    case 'not-found':
      app.replaceChildren(h('p', { class: 'error' }, 'No such page. ', h('a', { href: '/' }, 'All runs')));
  }
}

function renderNav(nav: HTMLElement, server: DashboardServerInfo): void {
  nav.replaceChildren(h('a', { href: '/', class: 'nav-runs' }, 'runs'));
  nav.append(
    h(
      'span',
      { class: 'muted', 'data-testid': 'server-mode' },
      server.mode === 'watch' ? 'watch · local runs' : `server · ${server.workspace}`,
    ),
    server.mode === 'server'
      ? h(
          'button',
          {
            type: 'button',
            class: 'link',
            'data-testid': 'sign-out',
            onclick: () => {
              api.signOut().then(() => location.reload());
            },
          },
          'sign out',
        )
      : '',
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

main();
