// The small "Recording" badge of the student and school pages: shown in
// the top bar while the server says the lesson records (`recording`
// {on}), so nobody is recorded without seeing it (docs/recording.md).
// Call with each new signalling connection: the badge starts off, and the
// server says `recording` {on: true} right after joining when it records.
// Returns the state tests read: {on, startedAt}.

import { t, onChange } from '../i18n.js';
import './strings-recording.js';

const state = { on: false, startedAt: null };
let el = null;

function render() {
  if (!el) return;
  el.hidden = !state.on;
  el.querySelector('.rec-badge-text').textContent = t('rec.badge_short');
  el.title = t('rec.badge');
  el.setAttribute('aria-label', t('rec.badge'));
}

function make() {
  el = document.createElement('span');
  el.id = 'rec-badge';
  el.className = 'pill rec-badge';
  el.dataset.state = 'recording';
  el.setAttribute('role', 'status');
  el.hidden = true;
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const text = document.createElement('span');
  text.className = 'rec-badge-text';
  el.append(dot, text);
  const bar = document.querySelector('.topbar');
  const before = document.getElementById('lang-switch');
  if (bar) bar.insertBefore(el, before && before.parentNode === bar ? before : null);
  onChange(render);
}

export function recordingBadge(sig) {
  if (!el) make();
  state.on = false;
  state.startedAt = null;
  sig.on('recording', (m) => {
    state.on = !!m.on;
    state.startedAt = state.on && Number.isFinite(m.started_at) ? m.started_at : null;
    render();
  });
  render();
  return state;
}
