// Lesson history page: the signed-in teacher's lessons, newest first (GET
// /api/lessons, a page at a time), and for one lesson the attendance (GET
// /api/lessons/{code}/attendance) with the CSV file to download
// (docs/accounts.md "Lesson history"). The server decides who sees what:
// only the teacher who owns a lesson gets its attendance.
//
// Tests read window.ccHistory = {account, lessons, more, open, error}.

import { t, lang, apply, mountSwitch, onChange } from '../i18n.js';
import { $ } from './signal.js';
import { mountAccount } from './account.js';
import './strings-teacher.js';
import './strings-history.js';

const PAGE = 50;

const ui = {
  error: $('error'), history: $('history'),
  table: $('lessons-table'), body: $('lessons'), empty: $('lessons-empty'), more: $('more'),
  att: $('attendance'), attH: $('attendance-h'), attSub: $('attendance-sub'),
  attTable: $('attendance-table'), attBody: $('attendance-body'), attEmpty: $('attendance-empty'),
  csv: $('csv'),
};

const st = {
  account: null,
  lessons: [], // the server's lesson entries, newest first
  more: false, // there are older ones
  loaded: false,
  open: null, // {code, lesson, rows} whose attendance is shown
  error: null, // an error code
};
window.ccHistory = st;

class ApiError extends Error {
  constructor(code) { super(code); this.code = code; }
}

async function get(path) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  } catch (_) {
    throw new ApiError('network');
  }
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) throw new ApiError((data && typeof data.error === 'string') ? data.error : `http_${res.status}`);
  return data || {};
}

const account = mountAccount({
  onChange(acc) {
    st.account = { state: acc.state, teacher: acc.teacher };
    render();
    if (acc.state === 'signed_in' && !st.loaded) load(0);
  },
});

function errorText(code) {
  const key = `hist.err.${code}`;
  const s = t(key);
  return s === key ? t('hist.err.unknown', { code }) : s;
}

const locale = () => (lang() === 'vi' ? 'vi-VN' : 'en-GB');
const when = (s) => (s ? new Date(s * 1000) : null);
const dateText = (s) => (s ? when(s).toLocaleDateString(locale(), { day: '2-digit', month: '2-digit', year: 'numeric' }) : '');
const dateTimeText = (s) => (s ? `${dateText(s)} ${when(s).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' })}` : '');
const timeText = (s) => (s ? when(s).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '');
const minutes = (sec) => Math.round((Number(sec) || 0) / 60);

function durationText(l) {
  if (l.state === 'live') return t('hist.live');
  if (l.state === 'waiting') return t('hist.not_started');
  if (l.duration_s === null || l.duration_s === undefined) return t('hist.not_held');
  const m = minutes(l.duration_s);
  return m >= 60 ? t('hist.hours', { h: Math.floor(m / 60), m: m % 60 }) : t('hist.minutes', { n: m });
}

function td(text, cls) {
  const e = document.createElement('td');
  if (cls) e.className = cls;
  e.textContent = text;
  return e;
}

function renderLessons() {
  ui.body.textContent = '';
  for (const l of st.lessons) {
    const tr = document.createElement('tr');
    tr.dataset.code = l.code;
    tr.dataset.state = l.state;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-small';
    b.dataset.code = l.code;
    b.textContent = t('hist.open');
    const act = document.createElement('td');
    act.append(b);
    tr.append(td(dateTimeText(l.started_at || l.created_at)), td(l.title || t('hist.no_title'), 'hist-title'),
      td(l.code, 'hist-code'), td(durationText(l)), td(String(l.students ?? 0)), act);
    ui.body.append(tr);
  }
  ui.table.hidden = !st.lessons.length;
  ui.empty.hidden = !(st.loaded && !st.lessons.length);
  ui.more.hidden = !st.more;
}

function renderAttendance() {
  const o = st.open;
  ui.att.hidden = !o;
  if (!o) return;
  const l = o.lesson || {};
  ui.attH.textContent = t('hist.att_h', { title: l.title || t('hist.no_title') });
  ui.attSub.textContent = t('hist.att_sub', { code: o.code, date: dateTimeText(l.started_at || l.created_at) });
  ui.attBody.textContent = '';
  for (const r of o.rows) {
    const tr = document.createElement('tr');
    tr.dataset.member = r.member;
    tr.dataset.role = r.role;
    const watched = minutes(r.watching_s);
    const weak = minutes(r.weak_s);
    tr.append(td(r.name, 'att-name'), td(t(`sem.role.${r.role}`)), td(timeText(r.joined_at)),
      td(r.left_at ? timeText(r.left_at) : t('hist.still_here')),
      td(weak ? t('hist.weak_note', { n: watched, w: weak }) : String(watched)));
    ui.attBody.append(tr);
  }
  ui.attTable.hidden = !o.rows.length;
  ui.attEmpty.hidden = !!o.rows.length;
  ui.csv.setAttribute('href', `/api/lessons/${encodeURIComponent(o.code)}/attendance.csv?lang=${lang() === 'vi' ? 'vi' : 'en'}`);
}

function render() {
  const signedIn = st.account && st.account.state === 'signed_in';
  ui.history.hidden = !signedIn;
  ui.error.hidden = !st.error;
  ui.error.textContent = st.error ? errorText(st.error) : '';
  renderLessons();
  renderAttendance();
}

async function load(offset) {
  try {
    const r = await get(`/api/lessons?offset=${offset}&limit=${PAGE}`);
    const got = Array.isArray(r.lessons) ? r.lessons.filter((l) => l && typeof l.code === 'string') : [];
    st.lessons = offset ? [...st.lessons, ...got] : got;
    st.more = !!r.more;
    st.loaded = true;
    st.error = null;
  } catch (e) {
    st.error = e.code;
    if (e.code === 'not_signed_in') account.check();
  }
  render();
}

async function openLesson(code) {
  try {
    const r = await get(`/api/lessons/${encodeURIComponent(code)}/attendance`);
    st.open = { code, lesson: r.lesson || null, rows: Array.isArray(r.attendance) ? r.attendance : [] };
    st.error = null;
  } catch (e) {
    st.error = e.code;
  }
  render();
  if (st.open) ui.att.scrollIntoView({ block: 'nearest' });
}

ui.body.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-code]');
  if (b) openLesson(b.dataset.code);
});
ui.more.addEventListener('click', () => load(st.lessons.length));

onChange(() => { account.render(); render(); });
mountSwitch($('lang-switch'));
apply();
account.check();
