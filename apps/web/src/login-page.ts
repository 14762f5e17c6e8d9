import { ApiError, api } from './api-client.js';
import { h } from './h.js';

/**
 * The sign-in form of `swanlog server`: posts the API key as JSON to /api/v1/session, which
 * answers with an HttpOnly cookie; the key never goes into a URL or into storage.
 */
export function renderLoginPage(root: HTMLElement): void {
  const error = h('p', { class: 'error', 'data-testid': 'login-error', role: 'alert', hidden: true });
  const key = h('input', {
    type: 'password',
    name: 'apiKey',
    autocomplete: 'current-password',
    required: true,
    placeholder: 'API key',
    'data-testid': 'login-key',
  });
  const submit = h('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'login',
      method: 'post',
      action: '/api/v1/session',
      'data-testid': 'login-form',
      onsubmit: (e) => {
        e.preventDefault();
        submit.disabled = true;
        error.hidden = true;
        api
          .signIn(key.value)
          .then(() => {
            if (location.pathname === '/login') location.replace('/');
            else location.reload();
          })
          .catch((err: unknown) => {
            error.textContent =
              err instanceof ApiError
                ? err.message
                : `Could not sign in: ${err instanceof Error ? err.message : err}`;
            error.hidden = false;
            submit.disabled = false;
          });
      },
    },
    h('h1', {}, 'Sign in to swanlog'),
    h('p', { class: 'muted' }, 'Use an API key made with ', h('code', {}, 'swanlog server key create'), '.'),
    h('label', {}, 'API key', key),
    submit,
    error,
  );
  root.replaceChildren(h('section', { class: 'login-page' }, form));
  key.focus();
}
