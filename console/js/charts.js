// charts.js: inline SVG charts built element by element (no library, no
// inline style: colours come from CSS classes). Each chart has a text
// alternative in aria-label and a <title> per mark.
import { h, svg } from './dom.js';

const W = 600, H = 180, PAD_L = 40, PAD_B = 22, PAD_T = 8, PAD_R = 8;

// A round axis maximum; counts get one divisible by the 4 grid steps.
function niceMax(v, integer) {
  if (integer) return Math.max(4, Math.ceil(niceMax(v) / 4) * 4);
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hhmm(s) {
  const d = new Date(s);
  return isNaN(d) ? '' : d.toISOString().slice(11, 16);
}

function axes(max, labels, unit) {
  const g = svg('g', { class: 'axes' });
  const ih = H - PAD_T - PAD_B;
  for (let i = 0; i <= 4; i++) {
    const y = PAD_T + ih - (ih * i) / 4;
    g.appendChild(svg('line', { x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: 'grid' }));
    const v = (max * i) / 4;
    g.appendChild(svg('text', { x: PAD_L - 4, y: y + 3, 'text-anchor': 'end', class: 'tick' },
      (Number.isInteger(v) ? v : v.toFixed(1)) + (i === 4 && unit ? ' ' + unit : '')));
  }
  const n = labels.length;
  const iw = W - PAD_L - PAD_R;
  for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 6))) {
    g.appendChild(svg('text', { x: PAD_L + (iw * (i + 0.5)) / n, y: H - 6, 'text-anchor': 'middle', class: 'tick' }, hhmm(labels[i])));
  }
  return g;
}

function legend(series) {
  return h('ul.legend', null, series.map((s) =>
    h('li', null, h('span.swatch', { 'data-kind': s.kind }), s.name)));
}

// series: [{name, kind, values[]}], stacked per label.
export function stackedBars({ labels, series, label, unit }) {
  const n = labels.length;
  const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals), true);
  const iw = W - PAD_L - PAD_R, ih = H - PAD_T - PAD_B;
  const bw = iw / n;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label, focusable: 'false' });
  root.appendChild(svg('title', {}, label));
  root.appendChild(axes(max, labels, unit));
  for (let i = 0; i < n; i++) {
    let y = PAD_T + ih;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (!v) continue;
      const bh = (ih * v) / max;
      y -= bh;
      const r = svg('rect', { x: PAD_L + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh, class: 's-' + s.kind });
      r.appendChild(svg('title', {}, `${hhmm(labels[i])} ${s.name}: ${v}`));
      root.appendChild(r);
    }
  }
  return h('figure.chart-box', null, root, legend(series));
}

// series: [{name, kind, values[] (null = no data)}]
export function lineChart({ labels, series, label, unit, integer }) {
  const n = labels.length;
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const max = niceMax(Math.max(0, ...all), integer);
  const iw = W - PAD_L - PAD_R, ih = H - PAD_T - PAD_B;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label, focusable: 'false' });
  root.appendChild(svg('title', {}, label));
  root.appendChild(axes(max, labels, unit));
  for (const s of series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      const x = PAD_L + (iw * (i + 0.5)) / n;
      const y = PAD_T + ih - (ih * v) / max;
      d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1) + ' ';
      pen = true;
      const c = svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 2, class: 'p-' + s.kind });
      c.appendChild(svg('title', {}, `${hhmm(labels[i])} ${s.name}: ${v}${unit ? ' ' + unit : ''}`));
      root.appendChild(c);
    });
    if (d) root.insertBefore(svg('path', { d, class: 'l-' + s.kind, fill: 'none' }), root.childNodes[2] || null);
  }
  return h('figure.chart-box', null, root, legend(series));
}

// items: [{label, value}] as labelled meters.
export function barList(items, emptyText) {
  if (!items.length) return h('p.empty', null, emptyText);
  const max = Math.max(...items.map((x) => x.value));
  return h('ol.barlist', null, items.map((x) =>
    h('li', null,
      h('span.barlist-label', { title: x.label }, x.label),
      h('meter', { min: 0, max, value: x.value, 'aria-label': x.label }),
      h('span.barlist-value', null, String(x.value)))));
}
