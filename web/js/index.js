// Landing page: a student types the lesson code and a name and goes to
// student.html?code=...&name=...; teachers follow the link to teacher.html.
import { t, apply, mountSwitch, onChange } from '../i18n.js';
import {
  $, remember, recall, normalizeCode, isLessonCode, bindCodeInput,
} from './signal.js';

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
code.value = normalizeCode(params.get('code') || '').slice(0, 16);
name.value = params.get('name') || recall(NAME_KEY);

// Letters and digits only while typing: a pasted "482 913" becomes
// "482913"; the demo lesson's "demo" stays.
const fitCode = bindCodeInput(code, () => { if (errKey) clearError(); });
fitCode();
name.addEventListener('input', () => { if (errKey) clearError(); });

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearError();
  const c = normalizeCode(code.value);
  const n = name.value.trim().replace(/\s+/g, ' ');
  if (!isLessonCode(c)) { showError('index.err_code', code); return; }
  if (!n) { showError('index.err_name', name); return; }
  remember(NAME_KEY, n);
  const q = new URLSearchParams({ code: c, name: n });
  location.href = `student.html?${q}`;
});

onChange(() => { if (errKey) err.textContent = t(errKey); });
mountSwitch($('lang-switch'));
apply();
if (!code.value) code.focus();
