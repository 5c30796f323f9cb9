// dashboard.js: the last hour at a glance (GET /api/v1/stats), refreshed
// every 5 seconds while the page is open and "Live" is on.
import { h, replace, badge, fmtTime, table, field, errorText } from '../dom.js';
import { api } from '../api.js';
import { stackedBars, lineChart, barList } from '../charts.js';

const VERDICTS = ['affirming', 'warning', 'contraindicated', 'none', 'refused'];
const REFRESH_MS = 5000;

function sum(a) { return (a || []).reduce((x, y) => x + (y || 0), 0); }

function card(title, value, sub, testid) {
  return h('div.card', { 'data-testid': testid },
    h('h3', null, title), h('p.big', null, value), sub ? h('p.sub', null, sub) : null);
}

function health(hl) {
  const store = hl.store || {};
  const sealer = hl.sealer || {};
  const key = hl.data_key || {};
  const rot = key.rotation || {};
  const coll = hl.collateral || [];
  const prog = h('progress', { max: 1, value: rot.progress === undefined ? 1 : rot.progress, 'aria-label': 'rotation progress' });
  return h('section.panel', { 'aria-labelledby': 'h-health' },
    h('h2#h-health', null, 'Health'),
    h('div.health', null,
      h('div.card', { 'data-testid': 'health-store' }, h('h3', null, 'Store'),
        badge(store.ok ? 'ok' : 'down', store.ok ? 'ok' : 'error'),
        h('p.sub', null, (store.type || '') + (store.probe_ms !== undefined ? ` · probe ${store.probe_ms.toFixed(2)} ms` : '')),
        store.error ? h('p.error', null, store.error) : null),
      h('div.card', { 'data-testid': 'health-sealer' }, h('h3', null, 'Sealer'),
        badge(sealer.kind || '?', sealer.warning ? 'warning' : 'ok'),
        sealer.description ? h('p.sub', null, sealer.description) : null,
        sealer.warning ? h('p.sub', null, sealer.warning) : null),
      h('div.card', { 'data-testid': 'health-key' }, h('h3', null, 'Data key'),
        h('p.big', null, 'v' + (key.version || '?')),
        h('p.sub', null, 'rotation: ' + (rot.state || 'idle') +
          (rot.state && rot.state !== 'idle'
            ? ` · v${rot.oldest_version} → v${key.version}` +
              (rot.rows_left !== undefined ? ` · ${rot.rows_left} rows left` : '')
            : '')), prog)),
    h('h3', null, 'Verifier collateral'),
    coll.length ? table(null, ['Kind', 'Expires', 'Days left', 'State', 'File'],
      coll.map((c) => h('tr', { 'data-state': c.status },
        h('td', null, c.kind), h('td', null, fmtTime(c.expires)), h('td', null, String(c.days_left)),
        h('td', null, badge(c.status, c.status === 'ok' ? 'ok' : c.status === 'soon' ? 'warning' : 'error')),
        h('td.mono', null, c.file))))
      : h('p.empty', null, 'No DCAP collateral or SEV-SNP certificate cache is configured ([verifier] dcap_collateral, snp_cert_cache).'));
}

function render(out, s) {
  const att = s.attestations || {};
  const byv = att.by_verdict || {};
  const rel = s.releases || {};
  const lat = s.latency_ms || {};
  const fmtMs = (v) => (v === null || v === undefined ? '–' : v.toFixed(v < 10 ? 2 : 0) + ' ms');
  const series = VERDICTS.map((v) => ({ name: v, kind: v, values: byv[v] || [] }));
  const teeRows = Object.entries(att.by_tee || {}).map(([tee, vals]) => {
    const per = (s.attestations.series || []).filter((x) => x.tee === tee);
    return h('tr', null, h('th', { scope: 'row' }, tee), VERDICTS.map((v) => {
      const x = per.find((p) => p.verdict === v);
      return h('td', null, String(x ? sum(x.counts) : 0));
    }), h('td', null, String(sum(vals))));
  });
  replace(out,
    h('div.cards', null,
      card('Attestations (1 h)', String(att.total || 0),
        VERDICTS.map((v) => v + ' ' + sum(byv[v])).join(' · '), 'card-attestations'),
      card('Releases (1 h)', String(sum(rel.allowed)), 'denied ' + sum(rel.denied), 'card-releases'),
      card('Latency p50 / p99', fmtMs(lat.window_p50) + ' / ' + fmtMs(lat.window_p99), 'all requests, last hour', 'card-latency'),
      card('Live sessions', String((s.sessions || {}).console || 0) + ' console',
        String((s.sessions || {}).attestation || 0) + ' attestation · log ' + ((s.attestation_log || {}).entries || 0) + ' entries', 'card-sessions')),
    h('section.panel', { 'aria-labelledby': 'h-att' },
      h('h2#h-att', null, 'Attestations per minute by verdict'),
      stackedBars({ labels: s.minutes, series, label: 'Attestations per minute, stacked by verdict, last 60 minutes' }),
      teeRows.length ? table('By TEE (last hour)', ['TEE', ...VERDICTS, 'total'], teeRows) : h('p.empty', null, 'No attestations in the last hour.')),
    h('div.two', null,
      h('section.panel', { 'aria-labelledby': 'h-rel' },
        h('h2#h-rel', null, 'Resource releases and denials'),
        lineChart({ labels: s.minutes, integer: true, label: 'Releases and denials per minute',
          series: [{ name: 'released', kind: 'affirming', values: rel.allowed || [] },
            { name: 'denied', kind: 'refused', values: rel.denied || [] }] })),
      h('section.panel', { 'aria-labelledby': 'h-lat' },
        h('h2#h-lat', null, 'Request latency'),
        lineChart({ labels: s.minutes, unit: 'ms', label: 'Request latency p50 and p99 per minute, milliseconds',
          series: [{ name: 'p50', kind: 'p50', values: lat.p50 || [] }, { name: 'p99', kind: 'p99', values: lat.p99 || [] }] }))),
    h('section.panel', { 'aria-labelledby': 'h-deny' },
      h('h2#h-deny', null, 'Top denial reasons (since start)'),
      barList((s.top_denial_reasons || []).map((r) => ({ label: r.reason, value: r.count })), 'No denials.')),
    health(s.health || {}),
    h('p.sub', null, 'Updated ' + fmtTime(s.now) + ' (this instance).'));
}

export default {
  path: 'dashboard',
  title: 'Dashboard',
  visible: () => true,
  async render(main, { onCleanup }) {
    const live = h('input', { type: 'checkbox', checked: true, 'data-testid': 'live' });
    const out = h('div', { 'data-testid': 'dashboard' });
    const err = h('p.error', { role: 'alert' });
    replace(main, h('div.page-head', null, h('h1', null, 'Dashboard'), h('div.inline', null, field('Live', live))), err, out);
    let timer = null;
    const load = async () => {
      try {
        render(out, await api.get('stats'));
        replace(err);
      } catch (e) {
        if (e.status !== 401) replace(err, 'Refresh failed: ' + errorText(e));
      }
    };
    await load();
    const arm = () => { clearInterval(timer); timer = live.checked ? setInterval(load, REFRESH_MS) : null; };
    live.addEventListener('change', arm);
    arm();
    onCleanup(() => clearInterval(timer));
  },
};
