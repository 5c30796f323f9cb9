// login.js: user name and password; the server's refusals are shown as
// they come (wrong credentials, delay, lockout with its wait).
import { h, replace, field, errorText } from '../dom.js';
import { login } from '../api.js';

export function render(main, { onLogin }) {
  document.title = 'Log in · trusteed console';
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, autofocus: true, spellcheck: 'false', 'data-testid': 'login-user' });
  const pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
  const msg = h('p.error', { role: 'alert', 'data-testid': 'login-error' });
  const btn = h('button.primary', { type: 'submit', 'data-testid': 'login-submit' }, 'Log in');
  const form = h('form.login', { 'aria-labelledby': 'login-title' },
    h('h1#login-title', null, 'Log in to trusteed'),
    field('User name', user),
    field('Password', pass),
    msg, btn,
    h('p.hint', null, 'trusteed --dev writes the password of user admin to <state-dir>/admin/console-password.'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    btn.disabled = true;
    replace(msg);
    try {
      await login(user.value, pass.value);
      pass.value = '';
      onLogin();
    } catch (err) {
      pass.value = '';
      if (err.status === 429) {
        replace(msg, errorText(err));
      } else if (err.status === 401) {
        replace(msg, 'Wrong user name or password.');
      } else {
        replace(msg, errorText(err));
      }
      pass.focus();
    } finally {
      btn.disabled = false;
    }
  });
  replace(main, h('section.login-wrap', null, form));
  user.focus();
}
