// The CA page (web/ca.html): how a tablet or a laptop comes to trust the
// school CA of this classroom server (docs/https.md). Served over plain
// HTTP to every device, so it loads nothing but i18n.js and reads the
// CA's name, SHA-256 fingerprint and the HTTPS port from /ca.json
// (404: the server does not use HTTPS). The certificate itself is
// /ca.crt. window.ccCa exposes what the page shows, for tests.
import { t, apply, mountSwitch, onChange } from '../i18n.js';

const $ = (id) => document.getElementById(id);

const cc = { state: 'loading', name: '', fingerprint: '', httpsUrl: '' };
window.ccCa = cc;

// The same host this page came from, on the HTTPS port: what a device
// opens once it trusts the CA (an IPv6 host keeps its brackets).
function httpsUrl(port) {
  const u = new URL(location.href);
  u.protocol = 'https:';
  u.port = String(port);
  u.pathname = '/';
  u.search = '';
  u.hash = '';
  return u.href;
}

function render() {
  apply();
  const msg = { no_https: 'ca.no_https', configured: 'ca.configured', error: 'ca.err' }[cc.state];
  $('ca-state').hidden = !msg;
  if (msg) $('ca-state').textContent = t(msg);
  const ready = cc.state === 'ready';
  $('ca-card').hidden = !ready;
  $('ca-steps').hidden = !ready;
  if (!ready) return;
  $('ca-name').textContent = cc.name;
  $('fingerprint').textContent = cc.fingerprint;
  $('ipad-3').textContent = t('ca.ipad_3', { name: cc.name });
  $('check-link').href = cc.httpsUrl;
  $('check-link').textContent = cc.httpsUrl;
}

async function load() {
  try {
    const res = await fetch('/ca.json', { cache: 'no-store' });
    if (res.status === 404) {
      cc.state = 'no_https';
    } else if (!res.ok) {
      cc.state = 'error';
    } else {
      const info = await res.json();
      cc.httpsUrl = httpsUrl(info.https_port);
      if (info.configured) {
        cc.state = 'configured';
      } else {
        cc.name = String(info.name || '');
        cc.fingerprint = String(info.fingerprint || '');
        cc.state = 'ready';
      }
    }
  } catch (_) {
    cc.state = 'error';
  }
  render();
}

onChange(render);
mountSwitch($('lang-switch'));
apply();
load();
