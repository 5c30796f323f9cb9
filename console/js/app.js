// app.js: the console shell: session, navigation (#/page/...), the
// header (user, role, log out, change password) and the page lifecycle
// (a page may register cleanups, e.g. its refresh timer).
import { h, replace, errorText } from './dom.js';
import { session, loadSession, logout, setUnauthenticatedHandler, request, can } from './api.js';
import { toast, dialog } from './ui.js';
import * as loginPage from './pages/login.js';
import dashboard from './pages/dashboard.js';
import attestations from './pages/attestations.js';
import policies from './pages/policies.js';
import resources from './pages/resources.js';
import rv from './pages/rv.js';
import audit from './pages/audit.js';
import users from './pages/users.js';

const pages = [dashboard, attestations, policies, resources, rv, audit, users];
const main = document.getElementById('main');
let cleanups = [];

function runCleanups() {
  cleanups.forEach((fn) => { try { fn(); } catch (e) { /* ignore */ } });
  cleanups = [];
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || 'dashboard', params: parts.slice(1), query: new URLSearchParams(q || '') };
}

function buildNav() {
  const list = document.getElementById('nav-list');
  const { name } = parseHash();
  replace(list, pages.filter((p) => p.visible()).map((p) =>
    h('li', null, h('a', {
      href: '#/' + p.path,
      'aria-current': p.path === name ? 'page' : null,
      'data-testid': 'nav-' + p.path,
    }, p.title))));
}

function showShell(on) {
  document.getElementById('nav').hidden = !on;
  document.getElementById('who').hidden = !on;
  document.getElementById('nav-toggle').hidden = !on;
  if (on) {
    replace(document.getElementById('who-name'), session.user);
    const r = document.getElementById('who-role');
    replace(r, session.role);
    r.dataset.kind = session.role;
  }
}

async function route() {
  runCleanups();
  if (!session.user) {
    showShell(false);
    loginPage.render(main, { onLogin: () => { showShell(true); route(); } });
    return;
  }
  showShell(true);
  buildNav();
  const { name, params, query } = parseHash();
  const page = pages.find((p) => p.path === name);
  document.getElementById('nav').classList.remove('open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');
  if (!page || !page.visible()) {
    replace(main, h('h1', null, 'Not available'),
      h('p', null, page ? 'Your role (' + session.role + ') cannot use this page.' : 'No such page.'),
      h('p', null, h('a', { href: '#/dashboard' }, 'Go to the dashboard')));
    return;
  }
  document.title = page.title + ' · trusteed console';
  replace(main, h('p.loading', null, 'Loading…'));
  try {
    await page.render(main, { params, query, onCleanup: (fn) => cleanups.push(fn) });
  } catch (e) {
    if (e.status !== 401) {
      replace(main, h('h1', null, page.title), h('p.error', { role: 'alert' }, errorText(e)));
    }
  }
  main.focus({ preventScroll: true });
}

setUnauthenticatedHandler(() => {
  if (!session.user) return;
  session.user = session.role = session.csrf = null;
  toast('Your session has ended: log in again.', 'error');
  route();
});

document.getElementById('btn-logout').addEventListener('click', async () => {
  try { await logout(); } catch (e) { /* the session is gone either way */ }
  toast('Logged out.');
  route();
});

document.getElementById('btn-password').addEventListener('click', async () => {
  const cur = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const pw = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const pw2 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const v = await dialog({
    title: 'Change your password', ok: 'Change password',
    text: 'Every session of yours ends; you log in again with the new password.',
    fields: [
      { label: 'Current password', control: cur, name: 'cur' },
      { label: 'New password (at least 8 characters)', control: pw, name: 'pw' },
      { label: 'New password again', control: pw2, name: 'pw2' },
    ],
  });
  if (!v) return;
  if (v.pw !== v.pw2) { toast('The new passwords differ.', 'error'); return; }
  try {
    await request('POST', '/api/v1/account/password', { json: { current_password: v.cur, password: v.pw }, noAuthRedirect: true });
    session.user = null;
    toast('Password changed: log in again.');
    route();
  } catch (e) {
    toast(errorText(e), 'error');
  }
});

document.getElementById('nav-toggle').addEventListener('click', (e) => {
  const nav = document.getElementById('nav');
  const open = !nav.classList.contains('open');
  nav.classList.toggle('open', open);
  e.currentTarget.setAttribute('aria-expanded', String(open));
});

// Only "#/..." fragments are pages ("#main" is the skip link's target).
window.addEventListener('hashchange', () => {
  if (location.hash === '' || location.hash.startsWith('#/')) route();
});

document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

(async () => {
  try {
    await loadSession();
  } catch (e) {
    replace(main, h('p.error', { role: 'alert' }, 'The server cannot be reached: ' + errorText(e)));
    return;
  }
  route();
})();

export { can };
