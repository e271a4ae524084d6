// The teacher page's recording card (docs/recording.md): a Record / Stop
// button (record_start / record_stop), the recording indicator with the
// time recorded so far, the "record every lesson" setting of the account,
// and the teacher's recordings (GET /api/recordings) with play, download
// and delete, and how much of the space for recordings they use.
//
// The server tells every page `recording` {on, started_at} and the
// teacher's tabs `recordings` (the list) when something changes; the list
// is also fetched when the lesson opens. State for tests:
// window.ccTeacher.recording = {on, startedAt, busy, list, usedBytes,
// totalBytes, quotaBytes, recordDefault, defaultAvailable, error, stopped}.

import { t, onChange, lang } from '../i18n.js';
import './strings-recording.js';
import { $, errorText } from './signal.js';

const CLOCK_MS = 1000;

export function mountRecording({ getSig }) {
  const ui = {
    card: $('rec-card'), toggle: $('rec-toggle'), state: $('rec-state'), stateText: $('rec-state-text'),
    error: $('rec-error'), notice: $('rec-notice'),
    def: $('rec-default'), defRow: $('rec-default-row'), defHint: $('rec-default-hint'),
    disk: $('rec-disk'), empty: $('rec-empty'), list: $('rec-list'),
    playerBox: $('rec-player-box'), player: $('rec-player'), playerTitle: $('rec-player-title'),
    playerClose: $('rec-player-close'),
  };
  const st = {
    on: false, startedAt: null, receivedAt: null, busy: null,
    list: [], usedBytes: 0, totalBytes: 0, quotaBytes: 0,
    recordDefault: false, defaultAvailable: false,
    error: null, stopped: null, playing: null, loaded: false,
  };

  function fmtBytes(n) {
    const mb = n / 1e6;
    if (mb >= 1000) return t('rec.gb', { n: (mb / 1000).toLocaleString(lang(), { maximumFractionDigits: 1 }) });
    return t('rec.mb', { n: mb.toLocaleString(lang(), { maximumFractionDigits: mb < 10 ? 1 : 0 }) });
  }
  function fmtDuration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const m = Math.floor(s / 60);
    return m ? t('rec.minutes', { m, s: s % 60 }) : t('rec.seconds', { s });
  }
  function clock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (x) => String(x).padStart(2, '0');
    return h ? `${h}:${two(m)}:${two(r)}` : `${two(m)}:${two(r)}`;
  }
  // How long it has recorded: from the server's start time, unless this
  // computer's clock is clearly off from the server's.
  function elapsed() {
    if (!st.on) return 0;
    const now = Date.now();
    if (st.startedAt && st.startedAt <= now + 2000 && now - st.startedAt < 86400000) {
      return now - st.startedAt;
    }
    return now - (st.receivedAt || now);
  }

  function showError(key) {
    st.error = key;
    ui.error.textContent = key ? (key.startsWith('code.') ? errorText(key.slice(5)) : t(key)) : '';
    ui.error.hidden = !key;
  }

  function renderState() {
    ui.state.dataset.state = st.on ? 'recording' : 'off';
    ui.stateText.textContent = st.on ? t('rec.on', { time: clock(elapsed()) }) : t('rec.off');
  }

  function render() {
    if (!ui.card) return;
    ui.toggle.textContent = st.busy === 'starting' ? t('rec.starting')
      : st.busy === 'stopping' ? t('rec.stopping') : t(st.on ? 'rec.stop' : 'rec.start');
    ui.toggle.className = `btn ${st.on ? 'btn-danger' : 'btn-primary'} rec-toggle`;
    ui.toggle.disabled = !!st.busy || !getSig();
    ui.toggle.setAttribute('aria-pressed', String(st.on));
    renderState();
    ui.notice.hidden = !st.stopped;
    ui.notice.textContent = st.stopped ? t(`rec.stopped_${st.stopped}`) : '';
    ui.def.checked = !!st.recordDefault;
    ui.def.disabled = !st.defaultAvailable;
    ui.defHint.textContent = t(st.defaultAvailable ? 'rec.default_hint' : 'rec.default_local');
    ui.disk.hidden = !st.loaded;
    ui.disk.textContent = t('rec.disk', {
      used: fmtBytes(st.usedBytes), quota: fmtBytes(st.quotaBytes), total: fmtBytes(st.totalBytes),
    });
    ui.empty.hidden = st.list.length > 0 || !st.loaded;
    renderList();
  }

  function renderList() {
    const loc = lang() === 'vi' ? 'vi-VN' : 'en-GB';
    ui.list.replaceChildren(...st.list.map((r) => {
      const li = document.createElement('li');
      li.className = 'rec-item';
      li.dataset.id = String(r.id);
      li.dataset.state = r.state;
      const title = r.title || t('rec.no_title');
      const date = new Date(r.started_at).toLocaleString(loc, { dateStyle: 'short', timeStyle: 'short' });
      const head = document.createElement('span');
      head.className = 'rec-title';
      head.textContent = t('rec.item', { title, date });
      const meta = document.createElement('span');
      meta.className = 'hint rec-meta';
      let m = t('rec.meta', { duration: fmtDuration(r.duration_ms), size: fmtBytes(r.bytes) });
      if (r.state !== 'done') m += ` · ${t(`rec.state_${r.state}`)}`;
      meta.textContent = m;
      const actions = document.createElement('span');
      actions.className = 'rec-actions';
      const play = document.createElement('button');
      play.type = 'button';
      play.className = 'btn btn-small';
      play.dataset.act = 'play';
      play.textContent = t(st.playing === r.id ? 'rec.hide' : 'rec.play');
      const busy = r.state === 'recording' || r.state === 'repairing';
      play.disabled = busy;
      const dl = document.createElement('a');
      dl.className = 'btn btn-small';
      dl.href = `${r.url}?download=1`;
      dl.setAttribute('download', '');
      dl.dataset.act = 'download';
      dl.textContent = t('rec.download');
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'btn btn-small btn-danger';
      del.dataset.act = 'delete';
      del.textContent = t('rec.delete');
      del.disabled = busy;
      actions.append(play, dl, del);
      li.append(head, meta, actions);
      return li;
    }));
  }

  function setList(m) {
    if (!m || !Array.isArray(m.recordings)) return;
    st.list = m.recordings.filter((r) => r && Number.isFinite(r.id) && typeof r.url === 'string');
    st.usedBytes = Number(m.used_bytes) || 0;
    st.totalBytes = Number(m.total_bytes) || 0;
    st.quotaBytes = Number(m.quota_bytes) || 0;
    st.recordDefault = !!m.record_default;
    st.defaultAvailable = !!m.record_default_available;
    st.loaded = true;
    if (st.playing && !st.list.some((r) => r.id === st.playing)) closePlayer();
    render();
  }

  async function api(method, path, body) {
    const res = await fetch(path, {
      method, credentials: 'same-origin', cache: 'no-store',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const j = await res.json().catch(() => null);
    if (!res.ok) throw Object.assign(new Error(j?.message || `HTTP ${res.status}`), { code: j?.error });
    return j;
  }

  async function refresh() {
    try {
      setList(await api('GET', '/api/recordings'));
    } catch (_) {
      showError('rec.load_failed');
    }
  }

  function closePlayer() {
    st.playing = null;
    ui.player.pause();
    ui.player.removeAttribute('src');
    ui.player.load();
    ui.playerBox.hidden = true;
  }

  function openPlayer(r) {
    st.playing = r.id;
    ui.playerTitle.textContent = t('rec.player', { title: r.title || t('rec.no_title') });
    ui.player.src = r.url;
    ui.playerBox.hidden = false;
    ui.player.play().catch(() => { /* the controls are there */ });
  }

  async function toggle() {
    const sig = getSig();
    if (!sig || st.busy) return;
    const starting = !st.on;
    st.busy = starting ? 'starting' : 'stopping';
    st.stopped = null;
    showError(null);
    render();
    try {
      await sig.request({ type: starting ? 'record_start' : 'record_stop' });
    } catch (e) {
      showError(`code.${e.code || 'server_error'}`);
    } finally {
      st.busy = null;
      render();
    }
  }

  ui.toggle?.addEventListener('click', toggle);
  ui.def?.addEventListener('change', async () => {
    const want = ui.def.checked;
    try {
      setList(await api('POST', '/api/recordings/settings', { record_default: want }));
      showError(null);
    } catch (_) {
      ui.def.checked = st.recordDefault;
      showError('rec.save_failed');
    }
  });
  ui.list?.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button[data-act]');
    const li = ev.target.closest('li[data-id]');
    if (!btn || !li) return;
    const r = st.list.find((x) => String(x.id) === li.dataset.id);
    if (!r) return;
    if (btn.dataset.act === 'play') {
      if (st.playing === r.id) closePlayer(); else openPlayer(r);
      render();
    } else if (btn.dataset.act === 'delete') {
      if (!window.confirm(t('rec.delete_confirm', { title: r.title || t('rec.no_title') }))) return;
      try {
        setList(await api('DELETE', `/api/recordings/${r.id}`));
        showError(null);
      } catch (e) {
        showError(e.code === 'recording' ? 'code.recording' : 'rec.delete_failed');
      }
    }
  });
  ui.playerClose?.addEventListener('click', () => { closePlayer(); render(); });
  setInterval(() => { if (st.on) renderState(); }, CLOCK_MS);
  onChange(render);

  return {
    state: st,
    refresh,
    render,
    // A new signalling connection: until the server says otherwise, the
    // lesson does not record.
    listen(sig) {
      st.on = false;
      sig.on('recording', (m) => {
        st.on = !!m.on;
        st.startedAt = st.on && Number.isFinite(m.started_at) ? m.started_at : null;
        st.receivedAt = Date.now();
        if (!st.on && (m.reason === 'quota' || m.reason === 'failed')) st.stopped = m.reason;
        render();
      });
      sig.on('recordings', setList);
      sig.on('error', (m) => {
        // A lesson of a teacher who records every lesson could not start
        // recording (no request of this page behind it).
        if (m.ref === 'record_start' && !m.id) showError(`code.${m.code}`);
      });
      render();
    },
  };
}
