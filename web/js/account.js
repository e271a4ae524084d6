// Teacher accounts on the pages (docs/accounts.md): who is signed in, the
// sign-in form, choosing a new password, signing out, and the admin's
// teacher API. The session lives in an HttpOnly cookie the server sets;
// this script never sees it, it only asks the server (/api/...).
//
// mountAccount() wires the markup a page shares (teacher.html, admin.html):
//   #signin (form #signin-form, #signin-name, #signin-password,
//            #signin-error, #signin-btn, optional #signin-cancel)
//   #choose-password (form #password-form, #pw-current, #pw-new,
//            #pw-repeat, #password-error, #password-lead, #password-cancel)
//   #account-bar (#account-who, #admin-link, #change-password, #signout,
//            #signin-other)
// and calls onChange(account) whenever what the page may show changes:
// account.state is 'checking' | 'offline' | 'signed_out' | 'must_change' |
// 'signed_in', account.teacher is the server's {name, display_name, admin,
// must_change_password, local} or null.

import { t } from '../i18n.js';
import { $ } from './signal.js';

export class AccountError extends Error {
  constructor(code, message, retryAfter) {
    super(message || code);
    this.name = 'AccountError';
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// The text for an account error code in the current language.
export function accountErrorText(code, vars = {}) {
  const key = `account.err.${code}`;
  const s = t(key, vars);
  return s === key ? t('account.err.unknown', { code }) : s;
}

async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new AccountError('network', e && e.message);
  }
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) {
    const code = (data && typeof data.error === 'string') ? data.error : `http_${res.status}`;
    const retry = data && Number.isInteger(data.retry_after) ? data.retry_after
      : parseInt(res.headers.get('Retry-After') || '', 10) || undefined;
    throw new AccountError(code, data && data.message, retry);
  }
  return data || {};
}

// Who is signed in: the teacher, or null.
export async function me() {
  try {
    return (await call('GET', '/api/me')).teacher || null;
  } catch (e) {
    if (e.code === 'not_signed_in') return null;
    throw e;
  }
}
export const signIn = async (name, password) => (await call('POST', '/api/signin', { name, password })).teacher;
export const signOut = () => call('POST', '/api/signout', {});
export const changePassword = async (password, newPassword) =>
  (await call('POST', '/api/password', { password, new_password: newPassword })).teacher;

// The admin's API: every call answers with the server's data.
export const teachers = {
  list: async () => (await call('GET', '/api/teachers')).teachers || [],
  add: (name, displayName, admin) => call('POST', '/api/teachers', { name, display_name: displayName, admin: !!admin }),
  reset: (name) => call('POST', '/api/teachers/reset', { name }),
  setDisabled: (name, disabled) => call('POST', '/api/teachers/disable', { name, disabled: !!disabled }),
};

// localIsEnough: false on a page the built-in local teacher may not use
// (the admin page): there it is offered the sign-in form instead.
export function mountAccount({ onChange = () => {}, localIsEnough = true } = {}) {
  const ui = {
    signin: $('signin'), form: $('signin-form'), name: $('signin-name'), pw: $('signin-password'),
    error: $('signin-error'), btn: $('signin-btn'), cancel: $('signin-cancel'),
    choose: $('choose-password'), pwForm: $('password-form'), pwCurrent: $('pw-current'),
    pwNew: $('pw-new'), pwRepeat: $('pw-repeat'), pwError: $('password-error'),
    pwLead: $('password-lead'), pwCancel: $('password-cancel'),
    bar: $('account-bar'), who: $('account-who'), adminLink: $('admin-link'),
    changePw: $('change-password'), signout: $('signout'), signinOther: $('signin-other'),
  };
  const acc = { state: 'checking', teacher: null, notice: null };
  let signinErr = null; // {code, vars}
  let pwErr = null;
  let wantSignin = false; // the local teacher asked for the form
  let wantChange = false; // "change password" pressed
  let lastPassword = ''; // the one-time password just typed, for the change form
  let hidden = false; // the page shows something else (a lesson)

  const setErr = (el, err) => {
    if (!el) return;
    el.hidden = !err;
    el.textContent = err ? accountErrorText(err.code, err.vars) : '';
  };

  function render() {
    const st = acc.state;
    const showSignin = !hidden && (st === 'signed_out' || ((wantSignin || !localIsEnough) && acc.teacher?.local));
    const showChoose = !hidden && acc.teacher && !acc.teacher.local && (st === 'must_change' || wantChange);
    if (ui.signin) ui.signin.hidden = !showSignin;
    if (ui.cancel) ui.cancel.hidden = !(localIsEnough && acc.teacher && acc.teacher.local);
    if (ui.choose) ui.choose.hidden = !showChoose;
    if (ui.pwLead) ui.pwLead.textContent = t(st === 'must_change' ? 'account.choose_lead_first' : 'account.choose_lead');
    if (ui.pwCancel) ui.pwCancel.hidden = st === 'must_change';
    setErr(ui.error, signinErr);
    setErr(ui.pwError, pwErr);
    const signedIn = st === 'signed_in' && acc.teacher;
    if (ui.bar) ui.bar.hidden = hidden || !signedIn || showSignin || showChoose;
    if (signedIn && ui.who) {
      ui.who.textContent = acc.teacher.local ? t('account.local_teacher')
        : t('account.signed_in_as', { name: acc.teacher.display_name || acc.teacher.name });
    }
    const tch = acc.teacher || {};
    if (ui.adminLink) ui.adminLink.hidden = !(signedIn && tch.admin);
    if (ui.changePw) ui.changePw.hidden = !(signedIn && !tch.local);
    if (ui.signout) ui.signout.hidden = !(signedIn && !tch.local);
    if (ui.signinOther) ui.signinOther.hidden = !(signedIn && tch.local);
  }

  function set(state, teacher) {
    acc.state = state;
    acc.teacher = teacher;
    if (state !== 'signed_out' && !(teacher && teacher.local)) wantSignin = false;
    render();
    onChange(acc);
  }

  function adopt(teacher) {
    if (!teacher) { set('signed_out', null); return; }
    set(teacher.must_change_password ? 'must_change' : 'signed_in', teacher);
  }

  // Ask the server who this browser is (at load, and after a refusal).
  async function check() {
    try {
      adopt(await me());
    } catch (e) {
      signinErr = { code: e.code || 'network' };
      set('offline', null);
    }
    return acc;
  }

  ui.form?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ui.name.value.trim();
    const pw = ui.pw.value;
    if (!name || !pw) {
      signinErr = { code: 'missing_fields' };
      render();
      (name ? ui.pw : ui.name).focus();
      return;
    }
    signinErr = null;
    ui.btn.disabled = true;
    ui.btn.textContent = t('account.signing_in');
    try {
      const teacher = await signIn(name, pw);
      lastPassword = teacher && teacher.must_change_password ? pw : '';
      ui.pw.value = '';
      wantSignin = false;
      acc.notice = null;
      adopt(teacher);
      if (acc.state === 'must_change' && ui.pwCurrent) {
        ui.pwCurrent.value = lastPassword;
        ui.pwNew.focus();
      }
    } catch (e) {
      signinErr = { code: e.code || 'network', vars: { seconds: e.retryAfter || 10 } };
      if (e.code === 'wrong_password') { ui.pw.value = ''; ui.pw.focus(); }
      render();
    } finally {
      ui.btn.disabled = false;
      ui.btn.textContent = t('account.signin');
    }
  });

  ui.cancel?.addEventListener('click', () => { wantSignin = false; signinErr = null; render(); onChange(acc); });
  ui.signinOther?.addEventListener('click', () => {
    wantSignin = true;
    signinErr = null;
    render();
    onChange(acc);
    ui.name?.focus();
  });

  ui.changePw?.addEventListener('click', () => {
    wantChange = true;
    pwErr = null;
    if (ui.pwCurrent) ui.pwCurrent.value = '';
    render();
    onChange(acc);
    ui.pwCurrent?.focus();
  });
  ui.pwCancel?.addEventListener('click', () => { wantChange = false; pwErr = null; render(); onChange(acc); });

  ui.pwForm?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const cur = ui.pwCurrent.value;
    const next = ui.pwNew.value;
    if (next !== ui.pwRepeat.value) {
      pwErr = { code: 'mismatch' };
      render();
      ui.pwRepeat.focus();
      return;
    }
    if ([...next].length < 10) {
      pwErr = { code: 'weak_password' };
      render();
      ui.pwNew.focus();
      return;
    }
    pwErr = null;
    const btn = ui.pwForm.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    try {
      const teacher = await changePassword(cur, next);
      for (const el of [ui.pwCurrent, ui.pwNew, ui.pwRepeat]) el.value = '';
      lastPassword = '';
      wantChange = false;
      acc.notice = 'account.pw_saved';
      adopt(teacher);
    } catch (e) {
      pwErr = { code: e.code === 'wrong_password' ? 'wrong_current' : (e.code || 'network'),
        vars: { seconds: e.retryAfter || 10 } };
      if (e.code === 'not_signed_in') { await check(); return; }
      render();
    } finally {
      if (btn) btn.disabled = false;
    }
  });

  ui.signout?.addEventListener('click', async () => {
    try { await signOut(); } catch (_) { /* the cookie is gone or the server is; check says which */ }
    acc.notice = 'account.signed_out';
    signinErr = null;
    await check();
  });

  return {
    account: acc,
    check,
    render,
    // The page shows a lesson (true) or its start (false).
    setHidden(h) { hidden = !!h; render(); },
  };
}
