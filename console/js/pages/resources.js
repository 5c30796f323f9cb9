// resources.js: the secrets the KBS releases, as a tree repository /
// type / tag with metadata and versions; upload as text or file; restore;
// delete behind a typed confirmation. Values are never shown, except
// when an admin asks for one (the server audits it as resource.reveal).
import { h, replace, field, badge, fmtTime, table, dl, errorText } from '../dom.js';
import { api, seg, can } from '../api.js';
import { toast, dialog, messageLine } from '../ui.js';

const SEG = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
// The same for the pattern attribute (compiled with the v flag: escape '-').
const SEG_PATTERN = '[A-Za-z0-9_\\-][A-Za-z0-9_.\\-]{0,127}';

function path(name) { return 'resources/' + name.split('/').map(seg).join('/'); }

function tree(items, selected, onPick) {
  const repos = new Map();
  for (const it of items) {
    const [r, t, g] = it.name.split('/');
    if (!repos.has(r)) repos.set(r, new Map());
    const types = repos.get(r);
    if (!types.has(t)) types.set(t, []);
    types.get(t).push([g, it]);
  }
  const tagItem = ([g, it]) => h('li', null,
    h('button.link', {
      type: 'button', 'aria-current': it.name === selected ? 'true' : null,
      'data-testid': 'res-' + it.name, on: { click: () => onPick(it.name) },
    }, g, h('small', null, ` v${it.version} · ${it.size} B`)));
  const typeItem = ([t, tags]) => h('li', null,
    h('details', { open: true }, h('summary', null, t), h('ul', null, tags.map(tagItem))));
  const repoItem = ([r, types]) => h('li', null,
    h('details', { open: true }, h('summary', null, r), h('ul', null, Array.from(types, typeItem))));
  return h('ul.rtree', { 'aria-label': 'Resources by repository, type and tag' }, Array.from(repos, repoItem));
}

function uploadForm(onDone) {
  const repo = h('input', { type: 'text', required: true, pattern: SEG_PATTERN, spellcheck: 'false', 'data-testid': 'up-repo' });
  const type = h('input', { type: 'text', required: true, pattern: SEG_PATTERN, spellcheck: 'false', 'data-testid': 'up-type' });
  const tag = h('input', { type: 'text', required: true, pattern: SEG_PATTERN, spellcheck: 'false', 'data-testid': 'up-tag' });
  const modeText = h('input', { type: 'radio', name: 'mode', value: 'text', checked: true });
  const modeFile = h('input', { type: 'radio', name: 'mode', value: 'file' });
  const text = h('textarea', { rows: 4, spellcheck: 'false', autocomplete: 'off', 'data-testid': 'up-text' });
  const file = h('input', { type: 'file', 'data-testid': 'up-file' });
  const ctype = h('input', { type: 'text', placeholder: 'text/plain or application/octet-stream', spellcheck: 'false' });
  const msg = messageLine();
  const textField = field('Value (text)', text, 'Stored as the bytes of this text (UTF-8).');
  const fileField = field('Value (file)', file);
  fileField.hidden = true;
  const sync = () => { textField.hidden = !modeText.checked; fileField.hidden = modeText.checked; };
  modeText.addEventListener('change', sync);
  modeFile.addEventListener('change', sync);
  const form = h('form.upload', { 'aria-labelledby': 'h-up' },
    h('h2#h-up', null, 'Upload a resource (new version)'),
    h('div.row3', null, field('Repository', repo), field('Type', type), field('Tag', tag)),
    h('fieldset', null, h('legend', null, 'Value from'),
      h('label.radio', null, modeText, ' text'), h('label.radio', null, modeFile, ' file')),
    textField, fileField, field('Content type (optional)', ctype),
    h('button.primary', { type: 'submit', 'data-testid': 'up-submit' }, 'Upload'), msg.el);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.clear();
    const name = [repo.value, type.value, tag.value].join('/');
    if (![repo.value, type.value, tag.value].every((s) => SEG.test(s))) {
      msg.error('Each part is 1 to 128 of A-Z a-z 0-9 _ - . and does not start with a dot.');
      return;
    }
    let body, ct;
    if (modeText.checked) {
      body = new TextEncoder().encode(text.value);
      ct = ctype.value || 'text/plain';
    } else {
      if (!file.files.length) { msg.error('Choose a file.'); return; }
      body = await file.files[0].arrayBuffer();
      ct = ctype.value || file.files[0].type || 'application/octet-stream';
    }
    if (ct.toLowerCase().startsWith('application/json')) {
      msg.error('Use another content type: application/json bodies are read as {"value": ...} by the API.');
      return;
    }
    try {
      const meta = await api.putRaw(path(name), body, ct);
      text.value = '';
      file.value = '';
      msg.ok(`Stored ${meta.name} version ${meta.version}.`);
      toast(`Stored ${meta.name} v${meta.version}`);
      onDone(meta.name);
    } catch (err) {
      msg.error(errorText(err));
    }
  });
  return form;
}

async function details(box, name, refresh) {
  const [meta, vers] = await Promise.all([api.get(path(name)), api.get(path(name) + '/versions')]);
  const revealBox = h('div.reveal', { 'aria-live': 'polite' });
  const msg = messageLine();
  const actions = [];
  if (can.reveal()) {
    actions.push(h('button', { type: 'button', 'data-testid': 'reveal', on: { click: async () => {
      const reason = h('input', { type: 'text', maxlength: 1024 });
      const v = await dialog({ title: 'Show the value of ' + name, ok: 'Show value',
        text: 'The value of a secret is shown only on request, and the request is recorded in the audit trail with your name and this reason.',
        fields: [{ label: 'Reason (recorded)', control: reason, name: 'reason' }] });
      if (!v) return;
      try {
        const r = await api.post(path(name) + '/reveal', { reason: v.reason });
        const shown = r.value !== null ? r.value : r.value_base64;
        replace(revealBox, h('p.sub', null, r.value !== null ? 'Value (text):' : 'Value (base64; not text):'),
          h('pre.secret', { 'data-testid': 'revealed' }, shown),
          h('button', { type: 'button', on: { click: () => replace(revealBox) } }, 'Hide'));
      } catch (e) { msg.error(errorText(e)); }
    } } }, 'Show value…'));
  }
  if (can.write()) {
    actions.push(h('button.danger', { type: 'button', 'data-testid': 'delete', on: { click: async () => {
      const v = await dialog({ title: 'Delete ' + name, ok: 'Delete', danger: true, requireText: name,
        text: 'This deletes the resource and every kept version. Guests can no longer fetch it.' });
      if (!v) return;
      try {
        await api.del(path(name));
        toast('Deleted ' + name);
        refresh(null);
      } catch (e) { msg.error(errorText(e)); }
    } } }, 'Delete…'));
  }
  replace(box,
    h('h2', null, h('span.mono', null, name)),
    dl([['Active version', 'v' + meta.version], ['Size', meta.size + ' bytes'], ['Content type', meta.content_type],
      ['Created', fmtTime(meta.created)], ['By', meta.created_by || ''], ['Versions kept', String(meta.versions)]]),
    h('div.actions', null, actions), revealBox, msg.el,
    table('Versions', ['Version', 'Size', 'Created', 'By', 'Content type', ''], vers.items.map((v) => h('tr', null,
      h('td', null, 'v' + v.version), h('td', null, String(v.size)), h('td', null, fmtTime(v.created)),
      h('td', null, v.created_by || ''), h('td', null, v.content_type || ''),
      h('td', null, v.active ? badge('active', 'ok') : can.write() ? h('button.link', { type: 'button', on: { click: async () => {
        try {
          const m = await api.post(path(name) + '/restore', { version: v.version });
          toast(`Restored v${v.version} as v${m.version}`);
          refresh(name);
        } catch (e) { msg.error(errorText(e)); }
      } } }, 'Restore') : '')))));
}

export default {
  path: 'resources',
  title: 'Resources',
  visible: () => true,
  async render(main) {
    const treeBox = h('div.tree-box');
    const detailBox = h('div.detail-box', { 'data-testid': 'res-detail' }, h('p.empty', null, 'Choose a resource.'));
    const filter = h('input', { type: 'search', placeholder: 'repo/type/tag prefix', spellcheck: 'false' });
    const note = h('p.sub');
    let selected = null;
    let items = [];
    let cursor = null;
    const more = h('button', { type: 'button', hidden: true }, 'Load the next 1000');
    const draw = () => {
      replace(note, `${items.length} resource(s)${cursor ? ' shown; more exist (narrow with a prefix, or load more)' : ''}`);
      more.hidden = !cursor;
      replace(treeBox, items.length ? tree(items, selected, (n) => refresh(n)) : h('p.empty', null, 'No resources.'));
    };
    // One page (1000 names) at a time: a store of 10,000 resources lists
    // quickly, and a prefix narrows it.
    const loadPage = async (after) => {
      const page = await api.get('resources', { prefix: filter.value || undefined, limit: 1000, cursor: after || undefined });
      items = after ? items.concat(page.items) : page.items;
      cursor = page.next_cursor;
    };
    more.addEventListener('click', async () => { await loadPage(cursor); draw(); });
    const refresh = async (pick) => {
      selected = pick;
      await loadPage(null);
      draw();
      if (selected) await details(detailBox, selected, refresh);
      else replace(detailBox, h('p.empty', null, 'Choose a resource.'));
    };
    const ff = h('form.inline-form', { 'aria-label': 'Filter', on: { submit: (e) => { e.preventDefault(); refresh(null); } } },
      field('Prefix', filter), h('button', { type: 'submit' }, 'Filter'));
    replace(main, h('h1', null, 'Resources'),
      h('p.sub', null, 'Values are write-only: they are never listed or shown' + (can.reveal() ? ' unless you ask for one (audited).' : '.')),
      h('div.split', null, h('section.panel', { 'aria-label': 'Resource tree' }, ff, note, treeBox, more),
        h('section.panel', { 'aria-label': 'Resource' }, detailBox)),
      can.write() ? h('section.panel', null, uploadForm((n) => refresh(n))) : null);
    await refresh(null);
  },
};
