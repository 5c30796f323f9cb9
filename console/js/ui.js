// ui.js: small shared widgets: toasts, modal dialogs (<dialog>: focus is
// kept inside and Escape closes), a pager for cursor lists, a message line.
import { h, replace, field } from './dom.js';

let toastTimer = null;
export function toast(msg, kind) {
  const t = document.getElementById('toast');
  replace(t, h('span', { 'data-kind': kind || 'info' }, msg));
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 5000);
}

// A modal dialog. fields: [{label, control}] collected on OK.
// Resolves to the values object on OK, null on cancel.
export function dialog({ title, text, fields = [], ok = 'OK', danger = false, requireText = null }) {
  return new Promise((resolve) => {
    const err = h('p.error', { role: 'alert' });
    const okBtn = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, ok);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    let confirmInput = null;
    const body = [];
    if (text) body.push(...[].concat(text).map((t) => (t instanceof Node ? t : h('p', null, t))));
    for (const f of fields) body.push(field(f.label, f.control, f.hint));
    if (requireText) {
      confirmInput = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
      body.push(field('Type ' + requireText + ' to confirm', confirmInput));
    }
    const form = h('form', { method: 'dialog' },
      h('h2', null, title), body, err, h('div.actions', null, cancel, okBtn));
    const dlg = h('dialog.modal', { 'aria-label': title }, form);
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    cancel.addEventListener('click', () => done(null));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(null); });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (confirmInput && confirmInput.value !== requireText) {
        replace(err, 'Type ' + requireText + ' exactly to confirm.');
        confirmInput.focus();
        return;
      }
      const values = {};
      fields.forEach((f, i) => {
        values[f.name || i] = f.control.type === 'file' ? f.control.files : f.control.value;
      });
      done(values);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = form.querySelector('input, textarea, select') || okBtn;
    first.focus();
  });
}

// A message line that says what went wrong (role=alert) or right.
export function messageLine() {
  const el = h('p.message', { role: 'status', 'aria-live': 'polite' });
  return {
    el,
    error(msg) { el.dataset.kind = 'error'; replace(el, msg); },
    ok(msg) { el.dataset.kind = 'ok'; replace(el, msg); },
    clear() { el.dataset.kind = ''; replace(el); },
  };
}

// Cursor paging for newest-first lists: load(cursor) -> {items, next_cursor}.
export function pager(load, onPage) {
  const stack = [];
  let current = null;
  let next = null;
  const prevBtn = h('button', { type: 'button' }, '← Newer');
  const nextBtn = h('button', { type: 'button' }, 'Older →');
  const info = h('span.page-info');
  async function go(cursor) {
    const page = await load(cursor);
    current = cursor;
    next = page.next_cursor;
    prevBtn.disabled = stack.length === 0;
    nextBtn.disabled = !next;
    replace(info, 'Page ' + (stack.length + 1));
    onPage(page);
  }
  prevBtn.addEventListener('click', () => { if (stack.length) go(stack.pop()); });
  nextBtn.addEventListener('click', () => { if (next) { stack.push(current); go(next); } });
  return {
    el: h('div.pager', null, prevBtn, info, nextBtn),
    reset() { stack.length = 0; return go(null); },
    reload() { return go(current); },
  };
}
