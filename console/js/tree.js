// tree.js: a JSON value as a collapsible tree (<details>/<summary>: the
// keyboard and screen readers know them). Keys and values are text.
import { h } from './dom.js';

function scalar(v) {
  if (v === null) return h('span.j-null', null, 'null');
  if (typeof v === 'string') return h('span.j-str', null, JSON.stringify(v));
  if (typeof v === 'number') return h('span.j-num', null, String(v));
  if (typeof v === 'boolean') return h('span.j-bool', null, String(v));
  return h('span', null, String(v));
}

function node(key, v, depth, openDepth) {
  const label = key === null ? null : h('span.j-key', null, key);
  if (v === null || typeof v !== 'object') {
    return h('li', null, label, label ? ': ' : null, scalar(v));
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  const summary = h('summary', null, label, label ? ' ' : null,
    h('span.j-meta', null, Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`));
  const d = h('details', { open: depth < openDepth }, summary,
    h('ul.tree', null, entries.map(([k, x]) => node(k, x, depth + 1, openDepth))));
  return h('li', null, d);
}

export function jsonTree(value, { openDepth = 2, label = 'JSON tree' } = {}) {
  return h('ul.tree.root', { role: 'tree', 'aria-label': label }, node(null, value, 0, openDepth));
}
