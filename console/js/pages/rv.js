// rv.js: reference values: state badges, expiry soon highlighted, add,
// revoke with a reason, import a Trustee RVPS envelope.
import { h, replace, field, select, badge, fmtTime, localToRfc3339, errorText } from '../dom.js';
import { api, seg, can, listAll } from '../api.js';
import { toast, dialog, messageLine } from '../ui.js';

const SOON_DAYS = 30;

function compact(v) {
  const s = JSON.stringify(v);
  return s.length > 120 ? s.slice(0, 117) + '…' : s;
}

function addForm(onDone) {
  const name = h('input', { type: 'text', required: true, spellcheck: 'false', 'data-testid': 'rv-name' });
  const value = h('textarea', { rows: 3, required: true, spellcheck: 'false', 'data-testid': 'rv-value', placeholder: '["a1b2c3..."] or "abc" or {"k": 1}' });
  const exp = h('input', { type: 'datetime-local' });
  const msg = messageLine();
  const form = h('form', { 'aria-labelledby': 'h-rvadd' }, h('h2#h-rvadd', null, 'Add or replace a value'),
    field('Name', name), field('Value (JSON)', value), field('Expires (UTC; default 12 months)', exp),
    h('button.primary', { type: 'submit', 'data-testid': 'rv-add' }, 'Save'), msg.el);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let v;
    try { v = JSON.parse(value.value); } catch (x) { msg.error('The value is not JSON: ' + x.message); return; }
    const body = { value: v };
    if (exp.value) body.expiration = localToRfc3339(exp.value);
    try {
      await api.put('reference-values/' + seg(name.value), body);
      msg.ok('Saved ' + name.value + '.');
      toast('Saved reference value ' + name.value);
      onDone();
    } catch (x) { msg.error(errorText(x)); }
  });
  return form;
}

function importForm(onDone) {
  const env = h('textarea', { rows: 5, spellcheck: 'false', placeholder: '{"version":"0.1.0","type":"sample","payload":"..."}' });
  const file = h('input', { type: 'file', accept: '.json,application/json' });
  const msg = messageLine();
  file.addEventListener('change', async () => { if (file.files.length) env.value = await file.files[0].text(); });
  const form = h('form', { 'aria-labelledby': 'h-rvimp' }, h('h2#h-rvimp', null, 'Import an RVPS envelope'),
    field('Envelope (JSON)', env), field('…or from a file', file),
    h('button', { type: 'submit' }, 'Import'), msg.el);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let j;
    try { j = JSON.parse(env.value); } catch (x) { msg.error('Not JSON: ' + x.message); return; }
    try {
      const r = await api.post('reference-values', j);
      msg.ok('Imported: ' + r.names.join(', '));
      onDone();
    } catch (x) { msg.error(errorText(x)); }
  });
  return form;
}

export default {
  path: 'rv',
  title: 'Reference values',
  visible: () => true,
  async render(main) {
    const state = select([['', 'any'], 'valid', 'expired', 'revoked'], '');
    const tbody = h('tbody');
    const msg = messageLine();
    const load = async () => {
      const { items } = await listAll('reference-values', { state: state.value || undefined });
      const now = Date.now();
      replace(tbody, items.length ? items.map((r) => {
        const exp = Date.parse(r.expiration);
        const soon = r.state === 'valid' && exp - now < SOON_DAYS * 86400e3;
        return h('tr', { 'data-state': soon ? 'soon' : r.state, 'data-testid': 'rv-row' },
          h('td.mono', null, r.name),
          h('td', null, badge(r.state, r.state === 'valid' ? 'ok' : r.state === 'expired' ? 'warning' : 'error'),
            soon ? h('span.badge', { 'data-kind': 'warning' }, 'expires soon') : null),
          h('td.mono', { title: JSON.stringify(r.value) }, compact(r.value)),
          h('td', null, 'v' + r.version),
          h('td', { class: soon ? 'soon' : null }, fmtTime(r.expiration)),
          h('td', null, r.revoked ? `${r.revoked.reason || '(no reason)'} — ${r.revoked.by || ''}, ${fmtTime(r.revoked.at)}` : ''),
          h('td', null, can.write() && r.state !== 'revoked' ? h('button.link', {
            type: 'button', 'data-testid': 'rv-revoke', on: { click: async () => {
              const reason = h('textarea', { rows: 2, maxlength: 1024, required: true });
              const v = await dialog({ title: 'Revoke ' + r.name, ok: 'Revoke', danger: true,
                text: 'Policies stop seeing this value at once; it stays listed as revoked.',
                fields: [{ label: 'Reason (recorded)', control: reason, name: 'reason' }] });
              if (!v) return;
              try {
                await api.post('reference-values/' + seg(r.name) + '/revoke', { reason: v.reason });
                toast('Revoked ' + r.name);
                load();
              } catch (x) { msg.error(errorText(x)); }
            } } }, 'Revoke…') : ''));
      }) : h('tr', null, h('td', { colspan: 7 }, 'No reference values.')));
    };
    const ff = h('form.inline-form', { 'aria-label': 'Filter', on: { submit: (e) => { e.preventDefault(); load(); } } },
      field('State', state), h('button', { type: 'submit' }, 'Filter'));
    replace(main, h('h1', null, 'Reference values'), ff, msg.el,
      h('div.table-wrap', null, h('table', { 'data-testid': 'rv-table' },
        h('caption', null, 'Values expiring within ' + SOON_DAYS + ' days are highlighted'),
        h('thead', null, h('tr', null, ['Name', 'State', 'Value', 'Version', 'Expires', 'Revocation', ''].map((x) => h('th', { scope: 'col' }, x)))),
        tbody)),
      can.write() ? h('div.two', null, h('section.panel', null, addForm(load)), h('section.panel', null, importForm(load))) : null);
    await load();
  },
};
