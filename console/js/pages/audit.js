// audit.js: the audit trail (GET /api/v1/audit), newest first, with
// filters and paging. Roles admin and auditor.
import { h, replace, field, fmtTime, localToRfc3339, errorText, badge } from '../dom.js';
import { api, can } from '../api.js';
import { pager } from '../ui.js';

export default {
  path: 'audit',
  title: 'Audit',
  visible: () => can.audit(),
  async render(main) {
    const action = h('input', { type: 'text', placeholder: 'resource. or policy.put', spellcheck: 'false' });
    const actor = h('input', { type: 'text', placeholder: 'alice (admin)', spellcheck: 'false' });
    const since = h('input', { type: 'datetime-local' });
    const until = h('input', { type: 'datetime-local' });
    const tbody = h('tbody');
    const err = h('p.error', { role: 'alert' });
    const pg = pager((cursor) => api.get('audit', {
      action: action.value, actor: actor.value, since: localToRfc3339(since.value),
      until: localToRfc3339(until.value), limit: 50, cursor,
    }), (page) => {
      replace(tbody, page.items.length ? page.items.map((r) => h('tr', null,
        h('td', null, fmtTime(r.time)), h('td', null, r.actor), h('td.mono', null, r.action),
        h('td.mono', null, r.target), h('td', null, badge(r.outcome, r.outcome === 'ok' || r.outcome === 'allowed' ? 'ok' : 'error')),
        h('td.reason', null, r.reason))) : h('tr', null, h('td', { colspan: 6 }, 'No records match.')));
    });
    const form = h('form.filters', { 'aria-label': 'Filters' },
      field('Action prefix', action), field('Actor (exact)', actor), field('Since (UTC)', since), field('Until (UTC)', until),
      h('button.primary', { type: 'submit' }, 'Apply'));
    form.addEventListener('submit', (e) => { e.preventDefault(); replace(err); pg.reset().catch((x) => replace(err, errorText(x))); });
    replace(main, h('h1', null, 'Audit trail'), form, err,
      h('div.table-wrap', null, h('table', { 'data-testid': 'audit-table' }, h('caption', null, 'Newest first'),
        h('thead', null, h('tr', null, ['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Reason'].map((x) => h('th', { scope: 'col' }, x)))),
        tbody)), pg.el);
    await pg.reset();
  },
};
