// policies.js: the Lua policies: list, editor with line numbers and
// compile errors at their line, save, versions with restore and a diff
// between any two, and the dry run (stored nothing) against pasted input
// or an attestation log entry.
import { h, replace, field, badge, fmtTime, table, errorText } from '../dom.js';
import { api, seg, can } from '../api.js';
import { toast, messageLine } from '../ui.js';
import { codeEditor } from '../editor.js';
import { diffView } from '../diff.js';

const NEW_ATTESTATION = `-- An attestation policy: return a function of the claims that
-- returns an AR4SI trust vector (see docs/policies.md).
return function(input)
  return { trust_vector = { hardware = 2, executables = 3, configuration = 2 } }
end
`;

const RESOURCE_INPUT = {
  claims: { submods: { cpu0: { 'ear.status': 'affirming' } } },
  request: { plugin: 'resource', 'resource-path': ['default', 'key', 'disk'], query: {}, method: 'GET' },
};

async function overview(main) {
  const { items } = await api.get('policies', { limit: 1000 });
  const id = h('input', { type: 'text', placeholder: 'e.g. default_cpu or strict_cpu', pattern: '[A-Za-z0-9_\\-][A-Za-z0-9_.\\-]{0,127}', spellcheck: 'false' });
  const form = h('form.inline-form', { 'aria-label': 'New attestation policy' },
    field('New attestation policy id', id), h('button', { type: 'submit' }, 'Create'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (id.value) location.hash = '#/policies/attestation/' + seg(id.value) + '?new=1';
  });
  replace(main, h('h1', null, 'Policies'),
    table(null, ['Kind', 'Id', 'Active version', 'Updated', 'By'], items.map((p) => h('tr', null,
      h('td', null, p.kind),
      h('td', null, h('a', { href: '#/policies/' + seg(p.kind) + '/' + seg(p.id), 'data-testid': 'policy-' + p.kind + '-' + p.id }, p.id)),
      h('td', null, String(p.active_version)), h('td', null, fmtTime(p.updated)), h('td', null, p.updated_by || '')))),
    can.write() ? form : null);
}

function resultView(r) {
  const parts = [];
  if (r.status) parts.push(h('p', null, 'Status: ', badge(r.status)));
  if (typeof r.result === 'boolean') parts.push(h('p', null, 'Result: ', badge(r.result ? 'allowed' : 'denied', r.result ? 'affirming' : 'refused')));
  else if (r.result && typeof r.result === 'object') {
    parts.push(table('Trust vector', ['Claim', 'Value'], Object.entries(r.result).map(([k, v]) =>
      h('tr', null, h('td', null, k), h('td', null, String(v))))));
  }
  parts.push(h('p', null, 'Reason: ', h('span', { 'data-testid': 'dry-reason' }, r.reason || '–')));
  if (r.error) parts.push(h('p.error', { 'data-testid': 'dry-error' }, 'Error: ', r.error));
  parts.push(h('h3', null, 'log() lines'));
  parts.push((r.log && r.log.length) ? h('pre.log', { 'data-testid': 'dry-log' }, r.log.map((l) => h('span', null, l + '\n'))) :
    h('p.empty', null, 'The policy logged nothing.'));
  return parts;
}

async function editor(main, kind, id, query) {
  const isNew = query.get('new') === '1';
  const base = 'policies/' + seg(kind) + '/' + seg(id);
  let text = '';
  let versions = [];
  if (!isNew) {
    text = (await api.get(base)).policy;
    versions = (await api.get(base + '/versions')).items;
  } else {
    text = NEW_ATTESTATION;
  }
  const ed = codeEditor({ value: text, label: `Lua text of ${kind} policy ${id}`, testid: 'policy-editor' });
  const msg = messageLine();
  const saveBtn = h('button.primary', { type: 'button', 'data-testid': 'policy-save' }, 'Save as new version');
  saveBtn.addEventListener('click', async () => {
    msg.clear();
    ed.clearError();
    try {
      const r = await api.put(base, { policy: ed.value });
      msg.ok('Saved as version ' + r.version + '.');
      toast('Policy saved: version ' + r.version);
      if (isNew) { location.hash = '#/policies/' + seg(kind) + '/' + seg(id); return; }
      versions = (await api.get(base + '/versions')).items;
      renderVersions();
    } catch (e) {
      ed.setError(errorText(e));
      msg.error('Not saved: the policy does not compile.');
    }
  });

  // Dry run.
  const input = h('textarea.code.input', { rows: 10, spellcheck: 'false', wrap: 'off', 'data-testid': 'dry-input' });
  input.value = JSON.stringify(kind === 'resource' ? RESOURCE_INPUT : {}, null, 2);
  const fromId = h('input', { type: 'text', placeholder: 'attestation log id', spellcheck: 'false', value: query.get('from') || '' });
  const dryOut = h('div.dry-out', { 'data-testid': 'dry-out', 'aria-live': 'polite' });
  const loadFrom = async () => {
    if (!fromId.value) return;
    try {
      const rec = await api.get('attestations/' + seg(fromId.value.trim()));
      if (!rec.claims) throw new Error('that entry has no claims (its evidence did not verify)');
      input.value = JSON.stringify(rec.claims, null, 2);
      replace(dryOut, h('p.sub', null, `Input: the claims of attestation ${rec.id} (${rec.tee}, ${rec.verdict}${rec.reason ? ': ' + rec.reason : ''}).`));
    } catch (e) {
      replace(dryOut, h('p.error', { role: 'alert' }, 'Cannot load the entry: ' + errorText(e)));
    }
  };
  const loadBtn = h('button', { type: 'button', on: { click: loadFrom } }, 'Load claims');
  const runBtn = h('button.primary', { type: 'button', 'data-testid': 'dry-run' }, 'Dry run');
  runBtn.addEventListener('click', async () => {
    let inp;
    try { inp = JSON.parse(input.value); } catch (e) {
      replace(dryOut, h('p.error', { role: 'alert' }, 'The input is not JSON: ' + e.message));
      return;
    }
    try {
      const r = await api.post(base + '/test', { input: inp, policy: ed.value });
      replace(dryOut, resultView(r));
      if (r.error) ed.setError(r.error); else ed.clearError();
    } catch (e) {
      replace(dryOut, h('p.error', { role: 'alert' }, errorText(e)));
    }
  });

  // Versions, restore, diff.
  const versionsBox = h('div');
  const diffBox = h('div');
  const va = h('select', { 'data-testid': 'diff-a' });
  const vb = h('select', { 'data-testid': 'diff-b' });
  const diffBtn = h('button', { type: 'button', 'data-testid': 'diff-show' }, 'Compare');
  const diffRow = h('div.inline-form', null, field('From', va), field('To', vb), diffBtn);
  diffBtn.addEventListener('click', async () => {
    try {
      const [a, b] = await Promise.all([api.get(base, { version: va.value }), api.get(base, { version: vb.value })]);
      replace(diffBox, diffView(a.policy, b.policy, 'v' + va.value, 'v' + vb.value));
    } catch (e) { replace(diffBox, h('p.error', null, errorText(e))); }
  });
  function renderVersions() {
    const opts = versions.map((v) => [String(v.version), 'v' + v.version + (v.active ? ' (active)' : '')]);
    const fill = (sel, value) => replace(sel, opts.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
    fill(va, String((versions[1] || versions[0] || {}).version));
    fill(vb, String((versions[0] || {}).version));
    diffRow.hidden = versions.length < 2;
    replace(versionsBox, versions.length ? table(null, ['Version', 'Created', 'By', 'SHA-256', 'Active', ''],
      versions.map((v) => h('tr', null,
        h('td', null, 'v' + v.version), h('td', null, fmtTime(v.created)), h('td', null, v.created_by || ''),
        h('td.mono', { title: v.sha256 }, (v.sha256 || '').slice(0, 12)), h('td', null, v.active ? badge('active', 'ok') : ''),
        h('td', null,
          h('button.link', { type: 'button', on: { click: async () => {
            const r = await api.get(base, { version: v.version });
            ed.value = r.policy;
            msg.ok('Loaded v' + v.version + ' into the editor (not saved).');
          } } }, 'Load'),
          can.write() && !v.active ? h('button.link', { type: 'button', 'data-testid': 'restore-' + v.version, on: { click: async () => {
            try {
              const r = await api.post(base + '/restore', { version: v.version });
              toast('Restored v' + v.version + ' as v' + r.version);
              versions = (await api.get(base + '/versions')).items;
              ed.value = (await api.get(base)).policy;
              renderVersions();
            } catch (e) { msg.error(errorText(e)); }
          } } }, 'Restore') : null)))) : h('p.empty', null, 'Not saved yet.'));
  }
  renderVersions();

  replace(main,
    h('p', null, h('a', { href: '#/policies' }, '← Policies')),
    h('h1', null, kind + ' policy ', h('span.mono', null, id)),
    h('section.panel', { 'aria-labelledby': 'h-edit' }, h('h2#h-edit', null, 'Lua text'), ed.el,
      can.write() ? h('div.actions', null, saveBtn) : h('p.sub', null, 'Read only for your role.'), msg.el),
    can.test() ? h('section.panel', { 'aria-labelledby': 'h-dry' },
      h('h2#h-dry', null, 'Dry run (the text in the editor; nothing is stored)'),
      kind === 'attestation' ? h('div.inline-form', null, field('Input from the attestation log', fromId), loadBtn) : null,
      field(kind === 'attestation' ? 'Input: the claims (JSON)' : 'Input: {"claims", "request"} (JSON)', input),
      h('div.actions', null, runBtn), dryOut) : null,
    h('section.panel', { 'aria-labelledby': 'h-ver' }, h('h2#h-ver', null, 'Versions'), versionsBox,
      diffRow, diffBox));
  if (query.get('from')) await loadFrom();
}

export default {
  path: 'policies',
  title: 'Policies',
  visible: () => true,
  render(main, { params, query }) {
    return params.length >= 2 ? editor(main, params[0], params[1], query) : overview(main);
  },
};
