// Admin page: the teachers of this classcast (docs/accounts.md). An admin
// lists them, adds one (the server makes a one-time password, shown here
// once), resets a password (a new one-time password) and disables or
// enables an account. Everything is decided by the server (/api/teachers,
// admin only, same origin only); this page only asks and shows.
//
// Tests read window.ccAdmin = {account, teachers, otp, error}.

import { t, apply, mountSwitch, onChange } from '../i18n.js';
import { $ } from './signal.js';
import { mountAccount, teachers as api, accountErrorText } from './account.js';

const ui = {
  error: $('error'), notice: $('notice'),
  admin: $('admin'), notAdmin: $('not-admin'),
  list: $('teachers'), empty: $('teachers-empty'),
  otp: $('otp'), otpH: $('otp-h'), otpPassword: $('otp-password'), otpDone: $('otp-done'),
  addForm: $('add-form'), addName: $('add-name'), addDisplay: $('add-display'),
  addAdmin: $('add-admin'), addError: $('add-error'), addBtn: $('add-btn'),
};

const st = { account: null, teachers: [], otp: null, error: null, notice: null, addError: null };
window.ccAdmin = st;

const account = mountAccount({
  localIsEnough: false,
  onChange(acc) {
    st.account = { state: acc.state, teacher: acc.teacher };
    if (acc.notice) { st.notice = { key: acc.notice }; acc.notice = null; }
    render();
    if (isAdmin()) refresh();
  },
});

function isAdmin() {
  return st.account && st.account.state === 'signed_in' && st.account.teacher && st.account.teacher.admin;
}
// The classroom computer's built-in teacher manages nobody: it signs in.
const isLocal = () => !!(st.account && st.account.teacher && st.account.teacher.local);

function showErr(el, err) {
  el.hidden = !err;
  el.textContent = err ? accountErrorText(err.code, err.vars) : '';
}

function render() {
  const signedIn = st.account && st.account.state === 'signed_in';
  ui.admin.hidden = !isAdmin();
  ui.notAdmin.hidden = !(signedIn && !isAdmin() && !isLocal());
  showErr(ui.error, st.error);
  showErr(ui.addError, st.addError);
  ui.notice.hidden = !st.notice;
  ui.notice.textContent = st.notice ? t(st.notice.key, st.notice.vars) : '';
  ui.otp.hidden = !st.otp;
  if (st.otp) {
    ui.otpH.textContent = t('admin.otp_h', { name: st.otp.name });
    ui.otpPassword.textContent = st.otp.password;
  }
  renderList();
}

function renderList() {
  ui.list.textContent = '';
  ui.empty.hidden = st.teachers.length > 0;
  const me = st.account && st.account.teacher ? st.account.teacher.name : null;
  for (const tc of st.teachers) {
    const tr = document.createElement('tr');
    tr.dataset.name = tc.name;
    tr.dataset.disabled = String(!!tc.disabled);
    const cell = (text) => {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
      return td;
    };
    cell(tc.name + (tc.name === me ? ` ${t('admin.you')}` : ''));
    cell(tc.display_name || '');
    cell(t(tc.admin ? 'admin.role_admin' : 'admin.role_teacher'));
    cell(t(tc.disabled ? 'admin.status_disabled' : tc.must_change_password ? 'admin.status_new' : 'admin.status_active'));
    const actions = document.createElement('div');
    actions.className = 'actions-row';
    cell('').append(actions);
    if (tc.name !== me) {
      const btn = (key, cls, fn) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = `btn btn-small ${cls}`;
        b.textContent = t(key);
        b.addEventListener('click', fn);
        actions.append(b);
        return b;
      };
      btn('admin.reset', 'act-reset', () => reset(tc));
      if (tc.disabled) btn('admin.enable', 'act-enable', () => setDisabled(tc, false));
      else btn('admin.disable', 'btn-danger act-disable', () => setDisabled(tc, true));
    }
    ui.list.append(tr);
  }
}

// Another refusal may mean the session ended: ask who we are again.
async function failed(e, field = 'error') {
  st[field] = { code: e.code || 'network', vars: { seconds: e.retryAfter || 10 } };
  render();
  if (e.code === 'not_signed_in' || e.code === 'not_admin' || e.code === 'must_change_password') await account.check();
}

async function refresh() {
  try {
    st.teachers = await api.list();
    st.error = null;
  } catch (e) {
    await failed(e);
    return;
  }
  render();
}

function confirmed(key, name) {
  return window.confirm(t(key, { name }));
}

async function reset(tc) {
  if (!confirmed('admin.confirm_reset', tc.name)) return;
  try {
    const r = await api.reset(tc.name);
    st.otp = { name: tc.name, password: r.password };
    st.notice = null;
    st.error = null;
  } catch (e) {
    await failed(e);
  }
  await refresh();
}

async function setDisabled(tc, disabled) {
  if (disabled && !confirmed('admin.confirm_disable', tc.name)) return;
  try {
    await api.setDisabled(tc.name, disabled);
    st.notice = { key: disabled ? 'admin.disabled_done' : 'admin.enabled_done', vars: { name: tc.name } };
    st.error = null;
  } catch (e) {
    await failed(e);
  }
  await refresh();
}

ui.addForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = ui.addName.value.trim();
  if (!name) {
    st.addError = { code: 'bad_name' };
    render();
    ui.addName.focus();
    return;
  }
  st.addError = null;
  ui.addBtn.disabled = true;
  try {
    const r = await api.add(name, ui.addDisplay.value.trim(), ui.addAdmin.checked);
    st.otp = { name: r.teacher.name, password: r.password };
    st.notice = { key: 'admin.added', vars: { name: r.teacher.name } };
    ui.addName.value = '';
    ui.addDisplay.value = '';
    ui.addAdmin.checked = false;
  } catch (e) {
    await failed(e, 'addError');
  } finally {
    ui.addBtn.disabled = false;
  }
  await refresh();
});

// The one-time password goes away once noted (it is never shown again).
ui.otpDone.addEventListener('click', () => { st.otp = null; render(); });

onChange(() => { account.render(); render(); });
mountSwitch($('lang-switch'));
apply();
account.check();
