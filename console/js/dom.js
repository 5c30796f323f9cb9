// dom.js: building the page without HTML strings. Every value from the
// server is put into the page as text (a Text node or textContent);
// attributes are set through an allow-list, so no event handler, style or
// markup can come from data; no HTML string is ever parsed.

const ALLOWED_ATTRS = new Set([
  'id', 'class', 'for', 'type', 'name', 'value', 'placeholder', 'href',
  'title', 'role', 'tabindex', 'hidden', 'disabled', 'checked', 'selected',
  'required', 'readonly', 'rows', 'cols', 'min', 'max', 'step', 'maxlength',
  'autocomplete', 'spellcheck', 'wrap', 'colspan', 'scope', 'open', 'accept',
  'multiple', 'size', 'datetime', 'width', 'height', 'alt', 'src', 'lang',
  'pattern', 'inputmode', 'minlength', 'method', 'autofocus', 'data-id', 'data-line', 'data-kind',
  'data-testid', 'data-state', 'data-verdict',
]);

function setAttr(el, k, v) {
  if (v === undefined || v === null || v === false) return;
  if (k.startsWith('aria-') || ALLOWED_ATTRS.has(k)) {
    if (k === 'href' && !/^(#|\/console\/|\/api\/v1\/)/.test(String(v))) {
      throw new Error('refusing a non-local link');
    }
    el.setAttribute(k, v === true ? '' : String(v));
    return;
  }
  throw new Error('attribute not allowed: ' + k);
}

function append(el, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { c.forEach((x) => append(el, x)); return; }
  if (c instanceof Node) { el.appendChild(c); return; }
  el.appendChild(document.createTextNode(String(c)));
}

// h('tag.class#id', {attrs, on: {event: fn}}, ...children)
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/.exec(spec);
  if (!m) throw new Error('bad element spec ' + spec);
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'text') {
        el.textContent = v;
      } else if (k === 'prop') {
        for (const [pk, pv] of Object.entries(v)) el[pk] = pv;
      } else {
        setAttr(el, k, v);
      }
    }
  }
  append(el, children);
  return el;
}

const SVGNS = 'http://www.w3.org/2000/svg';
const SVG_ATTRS = new Set(['viewBox', 'width', 'height', 'x', 'y', 'x1', 'y1',
  'x2', 'y2', 'cx', 'cy', 'r', 'd', 'points', 'class', 'role', 'fill',
  'stroke', 'stroke-width', 'text-anchor', 'dominant-baseline',
  'preserveAspectRatio', 'focusable', 'transform', 'rx']);

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (!SVG_ATTRS.has(k) && !k.startsWith('aria-')) throw new Error('svg attribute not allowed: ' + k);
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// A labelled form field: <div class="field"><label for=id>label</label>control</div>
let uid = 0;
export function field(label, control, hint) {
  if (!control.id) control.id = 'f' + (++uid);
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = control.id + '-hint';
    control.setAttribute('aria-describedby', hid);
    parts.push(h('small.hint', { id: hid }, hint));
  }
  return h('div.field', null, parts);
}

export function select(options, value, attrs) {
  const s = h('select', attrs || {});
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    const opt = h('option', { value: v }, label);
    if (v === value) opt.selected = true;
    s.appendChild(opt);
  }
  return s;
}

export function badge(text, kind) {
  return h('span.badge', { 'data-kind': kind || text }, text);
}

export function fmtTime(s) {
  if (!s) return '–';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// "2025-01-31T12:00" (datetime-local, taken as UTC) -> RFC 3339, or ''.
export function localToRfc3339(v) {
  if (!v) return '';
  return (v.length === 16 ? v + ':00' : v.slice(0, 19)) + 'Z';
}

export function errorText(e) {
  if (e && e.detail) return e.detail;
  return e && e.message ? e.message : String(e);
}

// A table inside a horizontally scrolling wrapper.
export function table(caption, headers, rows, attrs) {
  return h('div.table-wrap', null,
    h('table', attrs || {},
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows)));
}

export function dl(pairs) {
  return h('dl.kv', null, pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}
