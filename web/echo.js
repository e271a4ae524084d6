// Echo test: send camera + microphone to classcast and play back what the
// server returns on its own SSRCs. Non-trickle: the offer is POSTed once ICE
// gathering has finished (the server is ICE-lite and answers with its single
// candidate), so the page needs no signalling channel.
//
// Tests read window.ccEcho = {pc, state, error}.

import { t, apply, mountSwitch, onChange } from './i18n.js';

const GATHER_TIMEOUT_MS = 3000;

const $ = (id) => document.getElementById(id);
const ui = {
  start: $('start'),
  stop: $('stop'),
  status: $('status'),
  statusText: $('status-text'),
  error: $('error'),
  local: $('local'),
  remote: $('remote'),
  sound: $('sound'),
  soundLabel: $('sound-label'),
};

// Live object for tests and for debugging from the console.
const cc = { pc: null, state: 'idle', error: null, stream: null };
window.ccEcho = cc;

// The last error shown, kept as key + vars so a language switch re-renders it.
let errorMsg = null;

function setState(state) {
  cc.state = state;
  ui.status.dataset.state = state;
  ui.statusText.textContent = t(`status.${state}`);
  const busy = state === 'media' || state === 'gathering' || state === 'connecting' || state === 'connected';
  ui.start.hidden = busy;
  ui.stop.hidden = !busy;
  ui.start.dataset.i18n = (state === 'failed' || state === 'closed') ? 'echo.retry' : 'echo.start';
  ui.start.textContent = t(ui.start.dataset.i18n);
}

function showError(key, vars, raw) {
  errorMsg = { key, vars };
  cc.error = raw ? String(raw) : key;
  ui.error.textContent = t(key, vars);
  ui.error.hidden = false;
}

function clearError() {
  errorMsg = null;
  cc.error = null;
  ui.error.hidden = true;
  ui.error.textContent = '';
}

function fail(key, vars, raw) {
  showError(key, vars, raw);
  teardown();
  setState('failed');
}

function teardown() {
  if (cc.pc) {
    cc.pc.onconnectionstatechange = null;
    cc.pc.oniceconnectionstatechange = null;
    cc.pc.ontrack = null;
    cc.pc.close();
  }
  if (cc.stream) for (const tr of cc.stream.getTracks()) tr.stop();
  cc.stream = null;
  ui.local.srcObject = null;
  ui.remote.srcObject = null;
  ui.remote.muted = true;
  ui.sound.hidden = true;
  updateSoundButton();
}

function waitGatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    // On timeout we go on with whatever candidates we have: loopback host
    // candidates arrive in milliseconds, only unreachable STUN-less
    // interfaces hold gathering open.
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function onPcState(pc) {
  if (cc.pc !== pc) return;
  // connectionState is the combined ICE + DTLS state; older Safari only has
  // iceConnectionState, so fall back to it.
  const s = pc.connectionState || pc.iceConnectionState;
  if (s === 'connected' || s === 'completed') {
    setState('connected');
  } else if (s === 'failed') {
    fail('err.ice', null, `connectionState=${s}`);
  } else if (s === 'closed' && cc.state !== 'closed') {
    setState('closed');
  }
}

async function start() {
  clearError();
  teardown();
  if (typeof RTCPeerConnection === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
    fail('err.nowebrtc', null, 'RTCPeerConnection or getUserMedia missing');
    return;
  }

  setState('media');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 480 },
      audio: true,
    });
  } catch (e) {
    fail('err.media', null, e && (e.name || e.message));
    return;
  }
  cc.stream = stream;
  ui.local.srcObject = stream;
  ui.local.play().catch(() => { /* autoplay attribute covers it */ });

  setState('gathering');
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  cc.pc = pc;

  const remoteStream = new MediaStream();
  pc.ontrack = (ev) => {
    // The server's answer may carry no msid, so collect tracks ourselves.
    remoteStream.addTrack(ev.track);
    if (ui.remote.srcObject !== remoteStream) ui.remote.srcObject = remoteStream;
    ui.remote.play().catch(() => { /* muted autoplay; sound needs a tap */ });
    if (ev.track.kind === 'audio') {
      ui.sound.hidden = false;
      updateSoundButton();
    }
  };
  pc.onconnectionstatechange = () => onPcState(pc);
  pc.oniceconnectionstatechange = () => onPcState(pc);

  for (const track of stream.getTracks()) pc.addTrack(track, stream);

  let answerSdp;
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await waitGatheringComplete(pc, GATHER_TIMEOUT_MS);
    if (cc.pc !== pc) return; // stopped meanwhile

    setState('connecting');
    let res;
    try {
      res = await fetch('echo', {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
    } catch (e) {
      fail('err.network', null, e && e.message);
      return;
    }
    const body = await res.text();
    if (res.status !== 201 && res.status !== 200) {
      // The server answers errors in plain text; anything else (a proxy's
      // HTML page) is reduced to its status code.
      const plain = /^text\/plain/i.test(res.headers.get('Content-Type') || '');
      const detail = ((plain && body.trim()) || `HTTP ${res.status}`).slice(0, 300);
      fail('err.server', { detail }, `HTTP ${res.status}: ${detail}`);
      return;
    }
    answerSdp = body;
    if (cc.pc !== pc) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
  } catch (e) {
    if (cc.pc !== pc) return;
    fail('err.server', { detail: (e && e.message) || String(e) }, e && e.message);
    return;
  }
  onPcState(pc);
}

function stop() {
  clearError();
  teardown();
  cc.pc = null;
  setState('closed');
}

function updateSoundButton() {
  const on = !ui.remote.muted;
  ui.sound.setAttribute('aria-pressed', String(on));
  ui.sound.classList.toggle('is-on', on);
  ui.soundLabel.dataset.i18n = on ? 'echo.sound_off' : 'echo.sound_on';
  ui.soundLabel.textContent = t(ui.soundLabel.dataset.i18n);
}

ui.sound.addEventListener('click', () => {
  // Unmuting inside a tap is what iOS Safari allows.
  ui.remote.muted = !ui.remote.muted;
  ui.remote.play().catch(() => {});
  updateSoundButton();
});
ui.start.addEventListener('click', () => { start(); });
ui.stop.addEventListener('click', stop);

onChange(() => {
  setState(cc.state);
  if (errorMsg) ui.error.textContent = t(errorMsg.key, errorMsg.vars);
  updateSoundButton();
});

mountSwitch($('lang-switch'));
apply();
setState('idle');
updateSoundButton();

if (new URLSearchParams(location.search).get('autostart') === '1') start();
