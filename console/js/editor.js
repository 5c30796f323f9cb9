// editor.js: a plain <textarea> with a line-number gutter kept in step
// with its scrolling, and compile errors marked at their line. Tab keeps
// its usual meaning (leaving the field), so the editor never traps the
// keyboard.
import { h, replace } from './dom.js';

export function lineOf(message) {
  const m = /\bline (\d+)/.exec(message) || /\]:(\d+):/.exec(message) || /:(\d+):/.exec(message);
  return m ? parseInt(m[1], 10) : 0;
}

export function codeEditor({ value = '', label, testid }) {
  const gutter = h('div.gutter', { 'aria-hidden': 'true' });
  const ta = h('textarea.code', {
    spellcheck: 'false', wrap: 'off', autocomplete: 'off', rows: 22,
    'aria-label': label, 'data-testid': testid,
  });
  const note = h('p.error.editor-error', { role: 'alert', 'data-testid': testid ? testid + '-error' : null });
  let errLine = 0;
  ta.value = value;
  const render = () => {
    const n = ta.value.split('\n').length;
    if (gutter.childElementCount !== n || errLine) {
      replace(gutter, Array.from({ length: n }, (_, i) =>
        h('span', { class: i + 1 === errLine ? 'ln err' : 'ln', 'data-line': i + 1 }, String(i + 1))));
    }
    gutter.scrollTop = ta.scrollTop;
  };
  ta.addEventListener('input', () => { render(); });
  ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });
  render();
  const scrollTo = (line) => {
    const lh = ta.scrollHeight / Math.max(1, ta.value.split('\n').length);
    ta.scrollTop = Math.max(0, (line - 5) * lh);
    gutter.scrollTop = ta.scrollTop;
  };
  const goTo = (line) => {
    const lines = ta.value.split('\n');
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    ta.focus();
    ta.setSelectionRange(start, start + (lines[line - 1] || '').length);
    scrollTo(line);
  };
  return {
    el: h('div.editor-wrap', null, h('div.editor', null, gutter, ta), note),
    textarea: ta,
    get value() { return ta.value; },
    set value(v) { ta.value = v; errLine = 0; replace(note); render(); },
    setError(msg) {
      errLine = lineOf(msg);
      render();
      replace(note, errLine ? [`Line ${errLine}: `, msg, ' ',
        h('button.link', { type: 'button', on: { click: () => goTo(errLine) } }, 'Go to line ' + errLine)] : msg);
      const mark = gutter.querySelector('.err');
      if (mark) mark.setAttribute('title', msg);
      if (errLine) scrollTo(errLine);
    },
    clearError() { errLine = 0; replace(note); render(); },
    errorLine: () => errLine,
  };
}
