// diff.js: a line diff of two texts (longest common subsequence), shown as
// a unified listing: "-" lines only in the old text, "+" only in the new.
import { h } from './dom.js';

const MAX_CELLS = 4e6;

export function diffLines(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const n = x.length, m = y.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) return null;
  const w = m + 1;
  const L = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * w + j] = x[i] === y[j] ? L[(i + 1) * w + j + 1] + 1 :
        Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; }
    else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) out.push(['-', x[i++]]);
    else out.push(['+', y[j++]]);
  }
  while (i < n) out.push(['-', x[i++]]);
  while (j < m) out.push(['+', y[j++]]);
  return out;
}

export function diffView(a, b, labelA, labelB) {
  const d = diffLines(a, b);
  if (!d) return h('p.error', null, 'The texts are too long to compare here.');
  const added = d.filter((r) => r[0] === '+').length;
  const removed = d.filter((r) => r[0] === '-').length;
  return h('div.diff', { 'data-testid': 'diff' },
    h('p.sub', null, `${labelA} → ${labelB}: ${added} line(s) added, ${removed} removed`),
    h('pre.diff-body', { tabindex: 0, 'aria-label': 'Differences' }, d.map(([t, line]) =>
      h('span', { class: t === '+' ? 'add' : t === '-' ? 'del' : 'same' }, t + ' ' + line + '\n'))));
}
