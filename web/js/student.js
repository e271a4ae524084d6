// Student page: join a lesson with its code and a name over /ws, then
// subscribe to the teacher's camera, screen and microphone with one recvonly
// RTCPeerConnection (docs/protocol.md).
//
// Layout follows the server's `media` message: the shared screen large and
// the camera in a small corner; without a screen the camera is large.
// Audio starts muted (autoplay rules on iPad Safari and Chrome) and a large
// "Tap for sound" button unmutes it inside the tap.
//
// Coming back by itself: a closed WebSocket is retried with backoff and the
// page joins and subscribes again; a failed ICE/DTLS transport, a `transport`
// closed message, or video that stops arriving while the teacher is sharing
// gets a new subscribe transport on the same socket.
//
// Only APIs iPad Safari 15+ has: no setCodecPreferences, no
// requestVideoFrameCallback, no Insertable Streams.
//
// Tests read window.ccStudent = {pc, state, lessonState, error, media,
// slots, timing}.

import { t, apply, mountSwitch, onChange } from '../i18n.js';
import {
  Signal, SignalError, errorText, waitGatheringComplete, backoffMs, sleep,
  $, remember, recall, normalizeCode, isLessonCode, bindCodeInput,
} from './signal.js';

const NAME_KEY = 'classcast.name';
const FINAL_ERRORS = ['no_such_lesson', 'lesson_ended', 'bad_request', 'forbidden'];
const STALL_FIRST_MS = 6000;
const STALL_MAX_MS = 30000;

const ui = {
  join: $('join'), joinForm: $('join-form'), codeIn: $('code'), nameIn: $('name'), formError: $('form-error'),
  room: $('room'), stage: $('stage'),
  screen: $('screen'), camera: $('camera'), audio: $('audio'),
  overlay: $('overlay'), overlayTitle: $('overlay-title'), overlaySub: $('overlay-sub'),
  overlayError: $('overlay-error'), overlayActions: $('overlay-actions'), retry: $('retry'),
  sound: $('sound'), soundLabel: $('sound-label'), mute: $('mute'), leave: $('leave'),
  state: $('state'), stateText: $('state-text'), linkNotice: $('link-notice'),
  lessonTitle: $('lesson-title'), teacherName: $('teacher-name'),
};

const cc = {
  state: 'idle', // idle | joining | joined | reconnecting | ended | failed | left
  lessonState: null, // waiting | live | ended
  error: null, // last error code
  pc: null,
  ws: null, // the raw WebSocket of the current Signal
  sig: null,
  code: '', name: '', title: '', teacher: '', member: null,
  media: { camera: false, screen: false, mic: false },
  slots: { camera: null, screen: null, mic: null }, // {mid, trackId}
  timing: { answerAt: null, firstFrame: { camera: null, screen: null }, subscribes: 0, joins: 0 },
  soundOn: false,
  weakLink: false, // the server sends fewer camera frames: this Wi-Fi is weak
};
window.ccStudent = cc;

let reconnectAttempt = 0;
let wakeLock = null;

// ---------------------------------------------------------------------------
// Rendering

function overlayKeys() {
  if (cc.state === 'failed') return ['student.failed', null];
  if (cc.state === 'ended' || cc.lessonState === 'ended') return ['student.ended', 'student.ended_sub'];
  if (cc.state === 'reconnecting') return ['student.reconnecting', 'student.reconnecting_sub'];
  if (cc.state === 'joining' || cc.state === 'idle') return ['student.joining', null];
  if (cc.lessonState === 'waiting') return ['student.waiting', 'student.waiting_sub'];
  if (!cc.media.camera && !cc.media.screen) return ['student.no_video', null];
  return null;
}

function shownState() {
  if (cc.state === 'failed') return 'failed';
  if (cc.state === 'ended' || cc.lessonState === 'ended') return 'ended';
  if (cc.state === 'reconnecting') return 'reconnecting';
  if (cc.state === 'joining' || cc.state === 'idle') return 'joining';
  return cc.lessonState === 'live' ? 'live' : 'waiting';
}

function render() {
  const s = shownState();
  ui.state.dataset.state = s;
  ui.stateText.textContent = t({
    failed: 'student.failed', ended: 'student.ended', reconnecting: 'student.reconnecting',
    joining: 'student.joining', live: 'student.live', waiting: 'student.waiting',
  }[s]);
  ui.overlay.dataset.state = s;

  const keys = overlayKeys();
  ui.overlay.hidden = !keys;
  if (keys) {
    ui.overlayTitle.textContent = t(keys[0]);
    ui.overlaySub.textContent = keys[1] ? t(keys[1]) : '';
    ui.overlaySub.hidden = !keys[1];
  }
  const showErr = cc.state === 'failed' && cc.error;
  ui.overlayError.hidden = !showErr;
  ui.overlayError.textContent = !showErr ? ''
    : errorText(cc.error, { seconds: Math.max(1, Math.ceil(((cc.retryAt || 0) - Date.now()) / 1000)) });
  ui.overlayActions.hidden = !(cc.state === 'failed' || cc.state === 'ended' || cc.lessonState === 'ended');
  ui.retry.hidden = cc.state !== 'failed';

  // Screen large + camera small; no screen: camera large.
  const live = cc.state === 'joined' && cc.lessonState === 'live';
  const layout = !live ? 'none'
    : cc.media.screen ? (cc.media.camera ? 'screen-camera' : 'screen')
      : cc.media.camera ? 'camera' : 'none';
  ui.stage.dataset.layout = layout;

  ui.lessonTitle.textContent = cc.title || '';
  ui.teacherName.textContent = cc.teacher ? t('student.teacher', { name: cc.teacher }) : '';

  const hasAudio = !!ui.audio.srcObject && live && cc.media.mic;
  ui.sound.hidden = !(hasAudio && ui.audio.muted);
  ui.mute.hidden = !(hasAudio && !ui.audio.muted);
  ui.leave.hidden = cc.state === 'ended' || cc.state === 'failed' || cc.state === 'left';
  ui.linkNotice.hidden = !(live && cc.weakLink);
}

function setState(s) { cc.state = s; render(); }

// ---------------------------------------------------------------------------
// Joining and coming back

async function openAndJoin() {
  const sig = new Signal();
  await sig.connect();
  cc.sig = sig;
  cc.ws = sig.ws;
  sig.on('lesson', (m) => {
    const was = cc.lessonState;
    cc.lessonState = m.state;
    if (typeof m.title === 'string') cc.title = m.title;
    if (typeof m.teacher === 'string') cc.teacher = m.teacher;
    if (m.state === 'ended') { onEnded(); return; }
    if (m.state === 'live' && was !== 'live') resetStall();
    render();
  });
  sig.on('media', (m) => {
    cc.media = { camera: !!m.camera, screen: !!m.screen, mic: !!m.mic };
    resetStall();
    render();
  });
  sig.on('transport', (m) => {
    if (m.for === 'subscribe') { cc.weakLink = false; render(); }
    if (m.for === 'subscribe' && m.state === 'closed' && cc.state === 'joined') scheduleResubscribe(500);
  });
  // The server thinned this student's camera to fewer frames (a weak
  // Wi-Fi link), or it is back to full rate.
  sig.on('link', (m) => { cc.weakLink = !!m.weak; render(); });
  sig.onclose = () => { if (cc.sig === sig) onSocketLost(); };

  const r = await sig.request({ type: 'join', code: cc.code, name: cc.name });
  cc.timing.joins++;
  cc.member = r.member || null;
  if (typeof r.title === 'string') cc.title = r.title;
  if (typeof r.teacher === 'string') cc.teacher = r.teacher;
  if (r.state && !cc.lessonState) cc.lessonState = r.state;
  else if (r.state) cc.lessonState = r.state;
  reconnectAttempt = 0;
  cc.error = null;
  setState('joined');
  keepAwake();
  await subscribe();
}

async function start() {
  setState('joining');
  try {
    await openAndJoin();
  } catch (e) {
    handleJoinError(e);
  }
}

// Too many wrong codes came from this network (maybe from other tablets):
// say how long to wait, and try again by itself when the wait is over. The
// Retry button stays, so the student is never stuck.
let tooManyTimer = null;
function waitTooMany(e) {
  closePc();
  const secs = Math.max(1, Math.min(600, e.retryAfter || 10));
  cc.retryAt = Date.now() + secs * 1000;
  setState('failed');
  clearTimeout(tooManyTimer);
  tooManyTimer = setTimeout(() => { if (cc.state === 'failed' && cc.error === 'too_many_tries') start(); },
    secs * 1000 + 200);
}

function handleJoinError(e) {
  if (cc.sig) { cc.sig.close(); cc.sig = null; }
  const code = e instanceof SignalError ? e.code : 'server_error';
  cc.error = code;
  if (code === 'too_many_tries') { waitTooMany(e); return; }
  if (code === 'lesson_ended') { onEnded(); return; }
  if (FINAL_ERRORS.includes(code)) { closePc(); setState('failed'); return; }
  // Network trouble, a busy server, a timeout: keep trying.
  if (cc.state !== 'reconnecting') setState('reconnecting');
  reconnectLoop();
}

function onSocketLost() {
  if (cc.state === 'ended' || cc.state === 'left' || cc.state === 'failed') return;
  cc.sig = null;
  cc.ws = null;
  setState('reconnecting');
  reconnectLoop();
}

let reconnecting = false;
let wakeUp = null; // resolves the backoff sleep early (the network came back)
async function reconnectLoop() {
  if (reconnecting) return;
  reconnecting = true;
  try {
    while (cc.state === 'reconnecting') {
      await Promise.race([sleep(backoffMs(reconnectAttempt++)), new Promise((r) => { wakeUp = r; })]);
      wakeUp = null;
      if (cc.state !== 'reconnecting') return;
      try {
        await openAndJoin();
        return;
      } catch (e) {
        if (cc.sig) { cc.sig.close(); cc.sig = null; }
        const code = e instanceof SignalError ? e.code : 'server_error';
        cc.error = code;
        if (code === 'too_many_tries') { waitTooMany(e); return; }
        if (code === 'lesson_ended') { onEnded(); return; }
        if (FINAL_ERRORS.includes(code)) { closePc(); setState('failed'); return; }
      }
    }
  } finally {
    reconnecting = false;
  }
}
window.addEventListener('online', () => { if (wakeUp) wakeUp(); });

function onEnded() {
  cc.lessonState = 'ended';
  closePc();
  clearMedia();
  releaseWake();
  setState('ended');
  // The socket may stay open; the server forgets the lesson later.
}

// ---------------------------------------------------------------------------
// Subscribing

function closePc() {
  stopProbe();
  if (cc.pc) {
    const pc = cc.pc;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    pc.close();
  }
  cc.pc = null;
}

function clearMedia() {
  ui.camera.srcObject = null;
  ui.screen.srcObject = null;
  ui.audio.srcObject = null;
}

let subscribing = false;
async function subscribe() {
  if (subscribing) return;
  if (cc.state !== 'joined' || !cc.sig) return;
  if (typeof RTCPeerConnection === 'undefined') { cc.error = 'bad_sdp'; setState('failed'); return; }
  subscribing = true;
  closePc();
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  cc.pc = pc;
  try {
    const camTx = pc.addTransceiver('video', { direction: 'recvonly' });
    const scrTx = pc.addTransceiver('video', { direction: 'recvonly' });
    const micTx = pc.addTransceiver('audio', { direction: 'recvonly' });
    const bySlot = { camera: camTx, screen: scrTx, mic: micTx };
    pc.ontrack = (ev) => {
      if (cc.pc !== pc) return;
      const slot = Object.keys(bySlot).find((k) => bySlot[k] === ev.transceiver)
        || Object.keys(bySlot).find((k) => bySlot[k].mid === ev.transceiver?.mid);
      if (!slot) return;
      cc.slots[slot] = { mid: ev.transceiver.mid, trackId: ev.track.id };
      attach(slot, ev.track);
    };
    const onState = () => {
      if (cc.pc !== pc) return;
      const s = pc.connectionState || pc.iceConnectionState;
      if (s === 'failed') scheduleResubscribe(0);
    };
    pc.onconnectionstatechange = onState;
    pc.oniceconnectionstatechange = onState;

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await waitGatheringComplete(pc, 3000);
    if (cc.pc !== pc) return;
    const tracks = {};
    for (const [slot, tx] of Object.entries(bySlot)) if (tx.mid !== null) tracks[tx.mid] = slot;
    // Every subscribe is a new RTCPeerConnection, so always a plain
    // `subscribe`: the server opens a new transport and closes the member's
    // old one (`renegotiate` is for changes on the same connection).
    const r = await cc.sig.request({ type: 'subscribe', sdp: pc.localDescription.sdp, tracks });
    if (cc.pc !== pc) return;
    cc.timing.answerAt = performance.now();
    cc.timing.firstFrame = { camera: null, screen: null };
    cc.timing.subscribes++;
    await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
    startProbe(pc);
    resetStall();
  } catch (e) {
    if (cc.pc !== pc) return;
    const code = e instanceof SignalError ? e.code : 'bad_sdp';
    console.warn('subscribe failed:', code, e && e.message);
    if (code === 'lesson_ended') { onEnded(); return; }
    if (code === 'network') return; // the socket closed: reconnectLoop takes over
    cc.error = code;
    scheduleResubscribe(2000);
  } finally {
    subscribing = false;
  }
}

let resubTimer = null;
function scheduleResubscribe(ms) {
  if (resubTimer) return;
  resubTimer = setTimeout(() => {
    resubTimer = null;
    if (cc.state === 'joined') subscribe();
  }, ms);
}

function attach(slot, track) {
  if (slot === 'mic') {
    ui.audio.srcObject = new MediaStream([track]);
    ui.audio.muted = !cc.soundOn;
    ui.audio.play().catch(() => {
      // Not allowed without a tap (yet): show the button again.
      ui.audio.muted = true;
      cc.soundOn = false;
      render();
    });
  } else {
    const v = slot === 'camera' ? ui.camera : ui.screen;
    v.srcObject = new MediaStream([track]);
    v.play().catch(() => { /* muted + playsinline autoplay covers it */ });
  }
  render();
}

// Records how long after the subscribe answer the first frame of each video
// was decoded (cc.timing.firstFrame, ms), polling getStats for at most 10 s.
let probeTimer = null;
function stopProbe() { if (probeTimer) { clearInterval(probeTimer); probeTimer = null; } }
function startProbe(pc) {
  stopProbe();
  const t0 = cc.timing.answerAt;
  const deadline = t0 + 10000;
  let busy = false;
  probeTimer = setInterval(async () => {
    if (busy) return;
    if (cc.pc !== pc || performance.now() > deadline) { stopProbe(); return; }
    busy = true;
    try {
      const v = await videoStats(pc);
      const now = performance.now();
      for (const slot of ['camera', 'screen']) {
        if (cc.timing.firstFrame[slot] === null && v[slot] && v[slot].framesDecoded > 0) {
          cc.timing.firstFrame[slot] = Math.round(now - t0);
        }
      }
      if (cc.timing.firstFrame.camera !== null && cc.timing.firstFrame.screen !== null) stopProbe();
    } catch (_) { /* closed meanwhile */ }
    busy = false;
  }, 50);
}

// Inbound video stats per slot.
async function videoStats(pc) {
  const out = {};
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
    let slot = null;
    for (const k of ['camera', 'screen']) {
      const m = cc.slots[k];
      if (m && ((s.mid !== undefined && s.mid === m.mid) || (s.trackIdentifier && s.trackIdentifier === m.trackId))) slot = k;
    }
    if (slot) out[slot] = { framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0 };
  });
  return out;
}

// Stall watchdog: the teacher shares video, the lesson is live, but no video
// packet has arrived for a while: get a new subscribe transport. The wait
// doubles after each try (6 s, 12 s, 24 s, 30 s) and resets once video flows.
let stallMs = 0;
let stallLimit = STALL_FIRST_MS;
let lastPackets = -1;
function resetStall() { stallMs = 0; }
setInterval(async () => {
  const pc = cc.pc;
  const watching = cc.state === 'joined' && cc.lessonState === 'live' && (cc.media.camera || cc.media.screen);
  if (!watching || !pc || subscribing || document.hidden) { stallMs = 0; return; }
  let packets = 0;
  try {
    const v = await videoStats(pc);
    packets = (v.camera?.packetsReceived || 0) + (v.screen?.packetsReceived || 0);
  } catch (_) { return; }
  if (packets !== lastPackets) {
    if (lastPackets >= 0 && packets > lastPackets) stallLimit = STALL_FIRST_MS;
    lastPackets = packets;
    stallMs = 0;
    return;
  }
  stallMs += 1000;
  if (stallMs >= stallLimit) {
    console.warn(`no video for ${stallMs} ms: subscribing again`);
    stallMs = 0;
    lastPackets = -1;
    stallLimit = Math.min(STALL_MAX_MS, stallLimit * 2);
    subscribe();
  }
}, 1000);

// ---------------------------------------------------------------------------
// Sound, leaving, keeping the screen on

ui.sound.addEventListener('click', () => {
  // Unmute inside the tap: what iPad Safari and Chrome allow.
  cc.soundOn = true;
  ui.audio.muted = false;
  const p = ui.audio.play();
  if (p && p.catch) p.catch(() => { ui.audio.muted = true; cc.soundOn = false; render(); });
  render();
});
ui.mute.addEventListener('click', () => {
  cc.soundOn = false;
  ui.audio.muted = true;
  render();
});

ui.leave.addEventListener('click', async () => {
  const sig = cc.sig;
  cc.state = 'left';
  closePc();
  clearMedia();
  releaseWake();
  if (sig) {
    try { await sig.request({ type: 'leave' }, 2000); } catch (_) { /* closing anyway */ }
    sig.close();
  }
  location.href = 'index.html';
});

ui.retry.addEventListener('click', () => {
  cc.error = null;
  reconnectAttempt = 0;
  start();
});

async function keepAwake() {
  // A tablet that dims and locks mid-lesson drops the stream; ask to stay on
  // where the browser allows it (Chrome, Safari 16.4+). Optional.
  try {
    if (navigator.wakeLock && !wakeLock && document.visibilityState === 'visible') {
      wakeLock = await navigator.wakeLock.request('screen');
      wakeLock.addEventListener('release', () => { wakeLock = null; });
    }
  } catch (_) { wakeLock = null; }
}
function releaseWake() {
  if (wakeLock) { wakeLock.release().catch(() => {}); wakeLock = null; }
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && cc.state === 'joined') keepAwake();
});

// ---------------------------------------------------------------------------
// Start

function showForm() {
  ui.join.hidden = false;
  ui.room.hidden = true;
  ui.codeIn.value = cc.code;
  fitCodeInput();
  ui.nameIn.value = cc.name || recall(NAME_KEY);
  (cc.code ? ui.nameIn : ui.codeIn).focus();
}

let formErrKey = null;
function showFormError(key, field) {
  formErrKey = key;
  ui.formError.hidden = !key;
  ui.formError.textContent = key ? t(key) : '';
  ui.codeIn.removeAttribute('aria-invalid');
  ui.nameIn.removeAttribute('aria-invalid');
  if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
}
const fitCodeInput = bindCodeInput(ui.codeIn, () => { if (formErrKey) showFormError(null); });
ui.nameIn.addEventListener('input', () => { if (formErrKey) showFormError(null); });
ui.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const code = normalizeCode(ui.codeIn.value);
  const name = ui.nameIn.value.trim().replace(/\s+/g, ' ');
  if (!isLessonCode(code)) { showFormError('index.err_code', ui.codeIn); return; }
  if (!name) { showFormError('index.err_name', ui.nameIn); return; }
  showFormError(null);
  remember(NAME_KEY, name);
  // Put code and name in the address so a reload rejoins by itself.
  history.replaceState(null, '', `?${new URLSearchParams({ code, name })}`);
  enter(code, name);
});

function enter(code, name) {
  cc.code = code;
  cc.name = name;
  ui.join.hidden = true;
  ui.room.hidden = false;
  start();
}

onChange(() => {
  render();
  if (formErrKey) ui.formError.textContent = t(formErrKey);
});
mountSwitch($('lang-switch'));
apply();
render();

{
  const params = new URLSearchParams(location.search);
  const code = normalizeCode(params.get('code'));
  const name = (params.get('name') || '').trim().replace(/\s+/g, ' ').slice(0, 64);
  cc.code = code;
  cc.name = name;
  if (code && isLessonCode(code) && name) {
    remember(NAME_KEY, name);
    enter(code, name);
  } else {
    showForm();
  }
}
