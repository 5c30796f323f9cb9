// attestations.js: the attestation log (GET /api/v1/attestations) with
// filters and paging, and one entry in detail: claims as a tree, the
// decoded EAR token, and "send to policy dry run".
import { h, replace, field, select, badge, fmtTime, table, dl, localToRfc3339, errorText } from '../dom.js';
import { api, seg, can } from '../api.js';
import { pager } from '../ui.js';
import { jsonTree } from '../tree.js';

const TEES = ['sample', 'snp', 'tdx', 'sgx', 'tpm', 'az-snp-vtpm', 'az-tdx-vtpm', 'cca', 'csv', 'se', 'hygondcu', 'nvidia', 'sampledevice', 'other'];
const VERDICTS = ['affirming', 'warning', 'contraindicated', 'none', 'refused'];
const SHORT = { 'instance-identity': 'id', configuration: 'cfg', executables: 'exe', 'file-system': 'fs', hardware: 'hw', 'runtime-opaque': 'rt', 'storage-opaque': 'st', 'sourced-data': 'src' };

export function vectorText(tv) {
  if (!tv || typeof tv !== 'object') return '–';
  return Object.entries(tv).filter(([, v]) => v !== 0).map(([k, v]) => (SHORT[k] || k) + ' ' + v).join(', ') || 'all 0';
}

// The attestation policy an entry was judged by: "<policy_id>_<class>".
export function policyFor(rec) {
  const sub = Object.keys(rec.submods || {})[0] || 'cpu0';
  const cls = sub.replace(/\d+$/, '') || 'cpu';
  return (rec.policy_id || 'default') + '_' + cls;
}

function detail(main, id) {
  return api.get('attestations/' + seg(id)).then((rec) => {
    const ear = rec.ear || {};
    const actions = [];
    if (can.test() && rec.claims) {
      actions.push(h('a.button.primary', {
        href: '#/policies/attestation/' + seg(policyFor(rec)) + '?from=' + seg(rec.id),
        'data-testid': 'send-dry-run',
      }, 'Send to policy dry run'));
    }
    replace(main,
      h('p', null, h('a', { href: '#/attestations' }, '← Attestation log')),
      h('h1', null, 'Attestation ', h('span.mono', null, rec.id)),
      h('div.actions', null, actions),
      dl([
        ['Time', fmtTime(rec.time)], ['Endpoint', rec.endpoint || '–'], ['TEE', rec.tee || '–'],
        ['Source', rec.source || '–'], ['Verdict', badge(rec.verdict || '?')],
        ['Trust vector', vectorText(rec.trust_vector)], ['Policy', rec.policy_id || '–'],
        ['Reason', rec.reason || '–'],
        ['Token', rec.token ? `exp ${rec.token.exp ? fmtTime(new Date(rec.token.exp * 1000).toISOString()) : '–'}${rec.token.jti ? ' · jti ' + rec.token.jti : ''}` : 'none issued'],
        ['Latency', rec.latency_us !== undefined ? (rec.latency_us / 1000).toFixed(2) + ' ms' : '–'],
      ]),
      h('section.panel', { 'aria-labelledby': 'h-claims' },
        h('h2#h-claims', null, 'Claims', rec.claims_from ? h('small', null, ' (from the ' + rec.claims_from + ')') : null),
        rec.claims ? jsonTree(rec.claims, { label: 'Claims' }) :
          h('p.empty', null, rec.claims_dropped_bytes ? 'The claims were too large to keep (' + rec.claims_dropped_bytes + ' bytes).' :
            'No claims: the evidence did not verify.')),
      h('section.panel', { 'aria-labelledby': 'h-ear' },
        h('h2#h-ear', null, 'EAR token (decoded, without signature)'),
        rec.ear ? [h('h3', null, 'Header'), jsonTree(ear.header || {}, { label: 'Token header' }),
          h('h3', null, 'Payload'), ear.payload ? jsonTree(ear.payload, { openDepth: 3, label: 'Token payload' }) :
            h('p.empty', null, 'The payload was too large to keep.')] :
          h('p.empty', null, 'No token was issued.')));
  });
}

async function list(main, query) {
  const tee = select([['', 'any'], ...TEES], query.get('tee') || '', { 'data-testid': 'f-tee' });
  const verdict = select([['', 'any'], ...VERDICTS], query.get('verdict') || '', { 'data-testid': 'f-verdict' });
  const source = h('input', { type: 'text', value: query.get('source') || '', placeholder: '10.0.0.5', spellcheck: 'false' });
  const since = h('input', { type: 'datetime-local' });
  const until = h('input', { type: 'datetime-local' });
  const limit = select(['25', '50', '100'], '50');
  const tbody = h('tbody');
  const err = h('p.error', { role: 'alert' });
  const count = h('span.sub');
  const filters = () => ({
    tee: tee.value, verdict: verdict.value, source: source.value.trim(),
    since: localToRfc3339(since.value), until: localToRfc3339(until.value), limit: limit.value,
  });
  const pg = pager((cursor) => api.get('attestations', Object.assign(filters(), { cursor })), (page) => {
    replace(count, page.items.length + ' shown');
    replace(tbody, page.items.length ? page.items.map((r) => h('tr', { 'data-verdict': r.verdict },
      h('td', null, h('a', { href: '#/attestations/' + seg(r.id), 'data-testid': 'att-link' }, fmtTime(r.time))),
      h('td', null, r.tee), h('td.mono', null, r.source || ''), h('td', null, badge(r.verdict)),
      h('td', null, vectorText(r.trust_vector)),
      h('td.reason', { title: r.reason || '' }, r.reason || ''))) :
      h('tr', null, h('td', { colspan: 6 }, 'No entries match.')));
  });
  const form = h('form.filters', { 'aria-label': 'Filters' },
    field('TEE', tee), field('Verdict', verdict), field('Source address', source),
    field('Since (UTC)', since), field('Until (UTC)', until), field('Page size', limit),
    h('button.primary', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (e) => { e.preventDefault(); replace(err); pg.reset().catch((x) => replace(err, errorText(x))); });
  replace(main, h('h1', null, 'Attestation log'), form, err,
    h('div.table-wrap', null, h('table', { 'data-testid': 'att-table' },
      h('caption', null, 'Newest first ', count),
      h('thead', null, h('tr', null, ['Time', 'TEE', 'Source', 'Verdict', 'Trust vector', 'Reason'].map((x) => h('th', { scope: 'col' }, x)))),
      tbody)), pg.el);
  await pg.reset();
}

export default {
  path: 'attestations',
  title: 'Attestations',
  visible: () => true,
  render(main, { params, query }) {
    return params[0] ? detail(main, params[0]) : list(main, query);
  },
};
