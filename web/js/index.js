// Landing page: a student types the lesson code and a name and goes to
// student.html?code=...&name=...; teachers follow the link to teacher.html.
import { t, apply, mountSwitch, onChange } from '../i18n.js';
import { $, remember, recall, normalizeCode } from './signal.js';

const NAME_KEY = 'classcast.name';
const form = $('join-form');
const code = $('code');
const name = $('name');
const err = $('form-error');
let errKey = null;

function showError(key, field) {
  errKey = key;
  err.textContent = t(key);
  err.hidden = false;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function clearError() {
  errKey = null;
  err.hidden = true;
  code.removeAttribute('aria-invalid');
  name.removeAttribute('aria-invalid');
}

const params = new URLSearchParams(location.search);
code.value = normalizeCode(params.get('code') || '');
name.value = params.get('name') || recall(NAME_KEY);

code.addEventListener('input', () => {
  // Keep only digits while typing; a pasted "482 913" becomes "482913".
  const v = code.value.replace(/\D/g, '').slice(0, 6);
  if (v !== code.value) code.value = v;
  if (errKey) clearError();
});
name.addEventListener('input', () => { if (errKey) clearError(); });

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearError();
  const c = code.value.replace(/\D/g, '');
  const n = name.value.trim().replace(/\s+/g, ' ');
  if (!/^[0-9]{6}$/.test(c)) { showError('index.err_code', code); return; }
  if (!n) { showError('index.err_name', name); return; }
  remember(NAME_KEY, n);
  const q = new URLSearchParams({ code: c, name: n });
  location.href = `student.html?${q}`;
});

onChange(() => { if (errKey) err.textContent = t(errKey); });
mountSwitch($('lang-switch'));
apply();
if (!code.value) code.focus();
