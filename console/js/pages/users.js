// users.js: console users (admin only): add, role, disable/enable, set a
// password, delete behind a typed confirmation.
import { h, replace, field, select, badge, fmtTime, errorText } from '../dom.js';
import { api, listAll, seg, can, session } from '../api.js';
import { toast, dialog, messageLine } from '../ui.js';

const ROLES = ['admin', 'operator', 'auditor'];
const ROLE_HELP = 'admin: everything; operator: everything but the audit trail and users; auditor: read only, plus the audit trail.';

function addForm(onDone) {
  const name = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', 'data-testid': 'user-name' });
  const role = select(ROLES, 'operator', { 'data-testid': 'user-role' });
  const pw = h('input', { type: 'password', required: true, autocomplete: 'new-password', 'data-testid': 'user-password' });
  const pw2 = h('input', { type: 'password', required: true, autocomplete: 'new-password', 'data-testid': 'user-password2' });
  const msg = messageLine();
  const form = h('form', { 'aria-labelledby': 'h-uadd' }, h('h2#h-uadd', null, 'Add a user'),
    field('User name', name, '1–64 of A-Z a-z 0-9 . _ @ -'), field('Role', role, ROLE_HELP),
    field('Password (at least 8 characters)', pw), field('Password again', pw2),
    h('button.primary', { type: 'submit', 'data-testid': 'user-add' }, 'Add user'), msg.el);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (pw.value !== pw2.value) { msg.error('The passwords differ.'); return; }
    try {
      await api.post('users', { name: name.value, role: role.value, password: pw.value });
      msg.ok('Added ' + name.value + ' (' + role.value + ').');
      name.value = pw.value = pw2.value = '';
      onDone();
    } catch (x) { msg.error(errorText(x)); }
  });
  return form;
}

export default {
  path: 'users',
  title: 'Users',
  visible: () => can.users(),
  async render(main) {
    const tbody = h('tbody');
    const msg = messageLine();
    const act = async (fn, okText) => {
      try { await fn(); toast(okText); load(); } catch (x) { msg.error(errorText(x)); }
    };
    const load = async () => {
      const { items } = await listAll('users');
      replace(tbody, items.map((u) => {
        const role = select(ROLES, u.role, { 'aria-label': 'Role of ' + u.name });
        return h('tr', { 'data-testid': 'user-row-' + u.name },
          h('td.mono', null, u.name, u.name === session.user ? h('small', null, ' (you)') : null),
          h('td', null, role, ' ', h('button.link', { type: 'button', on: { click: () =>
            act(() => api.post('users/' + seg(u.name) + '/role', { role: role.value }), 'Role of ' + u.name + ' is now ' + role.value) } }, 'Apply')),
          h('td', null, u.disabled ? badge('disabled', 'error') : badge('enabled', 'ok')),
          h('td', null, fmtTime(u.password_changed)),
          h('td', null, fmtTime(u.created), ' ', h('small', null, u.created_by || '')),
          h('td.actions', null,
            h('button.link', { type: 'button', on: { click: () =>
              act(() => api.post('users/' + seg(u.name) + (u.disabled ? '/enable' : '/disable')), u.name + (u.disabled ? ' enabled' : ' disabled')) } },
            u.disabled ? 'Enable' : 'Disable'),
            h('button.link', { type: 'button', on: { click: async () => {
              const pw = h('input', { type: 'password', autocomplete: 'new-password', required: true });
              const v = await dialog({ title: 'New password for ' + u.name, ok: 'Set password',
                text: 'Their sessions end; they log in with the new password.',
                fields: [{ label: 'New password', control: pw, name: 'pw' }] });
              if (v) act(() => api.post('users/' + seg(u.name) + '/password', { password: v.pw }), 'Password of ' + u.name + ' set');
            } } }, 'Set password…'),
            h('button.link.danger', { type: 'button', on: { click: async () => {
              const v = await dialog({ title: 'Delete user ' + u.name, ok: 'Delete', danger: true, requireText: u.name,
                text: 'The user and their sessions are gone at once.' });
              if (v) act(() => api.del('users/' + seg(u.name)), 'Deleted ' + u.name);
            } } }, 'Delete…')));
      }));
    };
    replace(main, h('h1', null, 'Users'), h('p.sub', null, ROLE_HELP), msg.el,
      h('div.table-wrap', null, h('table', { 'data-testid': 'users-table' },
        h('thead', null, h('tr', null, ['Name', 'Role', 'State', 'Password changed', 'Created', ''].map((x) => h('th', { scope: 'col' }, x)))),
        tbody)),
      h('section.panel', null, addForm(load)));
    await load();
  },
};
