// Teacher page: create (or resume) a lesson over /ws, show its code, start and
// end it, list the students, and publish camera, microphone and screen on one
// RTCPeerConnection (docs/protocol.md).
//
// Publishing is non-trickle: the offer is sent once ICE gathering completes
// (at most 3 s). The first offer goes out as `publish`; later changes (screen
// shared or stopped, camera or microphone turned on or off) go out as
// `renegotiate` {for: "publish"} on the same connection. If the server will
// not take a renegotiation, the page falls back to a fresh connection and a
// new `publish` (which the protocol says replaces the old one).
//
// One change at a time: a click on "camera", "microphone" or "share screen"
// only records what the teacher wants (`want`) and the button shows it at
// once; a single loop (sync) then gets or stops the devices and runs one
// offer/answer with the server, and runs again if the wish changed
// meanwhile. So quick clicks are never lost and never overtake each other:
// the last wish wins.
//
// A reload resumes: the teacher token lives in sessionStorage (per tab, gone
// when the tab closes), so the page sends `resume` and then `publish` again
// with the camera and microphone that were on. Screen sharing needs a click
// (getDisplayMedia requires a user gesture), so after a reload the page says
// to press "Share screen" again.
//
// On the computer that runs classcast (the page's WebSocket comes from
// loopback) the server answers `capture_list`, and the page shows a "This
// classroom computer" section: the server itself captures that computer's
// screen, camera and microphone (pipelines/*.pipe) and publishes them into
// the lesson (`capture_start` / `capture_stop`). Picking another source
// while it runs switches at once (a new capture_start replaces the old).
// Starting it turns off the browser's own camera / microphone / screen
// share for those slots, so the devices are free and students get one
// picture per slot.
//
// Only a signed-in teacher creates lessons (docs/accounts.md): until the
// server says who this browser is (GET /api/me), the page shows the
// sign-in form of web/js/account.js instead of "Create a lesson", and a
// `create` the server refuses with not_signed_in (signed out in another
// tab, say) brings the form back. A lesson in progress never needs it
// again: resume goes by the lesson's teacher token.
//
// Tests read window.ccTeacher = {pc, code, token, viewerToken, members, state,
// lessonState, sendState, error, media, local, account}.

import { t, apply, mountSwitch, onChange } from '../i18n.js';
import {
  Signal, SignalError, errorText, waitGatheringComplete, backoffMs, sleep,
  $, remember, recall,
} from './signal.js';
import { mountAccount } from './account.js';

const SESSION_KEY = 'classcast.teacher.session';
const NAME_KEY = 'classcast.teacher.name';
const CAM_KEY = 'classcast.camera';
const MIC_KEY = 'classcast.mic';
const SLOTS = ['camera', 'screen', 'mic'];

const ui = {
  conn: $('conn'), connText: $('conn-text'),
  error: $('error'), notice: $('notice'),
  create: $('create'), createForm: $('create-form'), createBtn: $('create-btn'),
  titleIn: $('lesson-title'), nameIn: $('teacher-name'),
  lesson: $('lesson'), titleView: $('lesson-title-view'),
  lessonState: $('lesson-state'), lessonStateText: $('lesson-state-text'),
  code: $('code'), link: $('student-link'), copy: $('copy'),
  start: $('start'), end: $('end'), newLesson: $('new-lesson'),
  camToggle: $('cam-toggle'), camLabel: $('cam-label'),
  micToggle: $('mic-toggle'), micLabel: $('mic-label'),
  screenToggle: $('screen-toggle'), screenLabel: $('screen-label'),
  camSelect: $('cam-select'), micSelect: $('mic-select'),
  sendState: $('send-state'), sendStateText: $('send-state-text'),
  camTile: $('cam-tile'), camPreview: $('cam-preview'),
  screenTile: $('screen-tile'), screenPreview: $('screen-preview'),
  previewNone: $('preview-none'),
  members: $('members'), membersCount: $('members-count'),
  endDialog: $('end-dialog'),
  localCard: $('local-card'), localStart: $('local-start'), localStop: $('local-stop'),
  localState: $('local-state'), localStateText: $('local-state-text'),
  localError: $('local-error'), localHint: $('local-hint'),
  localSel: { screen: $('local-screen'), camera: $('local-camera'), mic: $('local-mic') },
  localDisplay: $('local-display'), localDisplayField: $('local-display-field'),
};

// Live state, also for tests and the console.
const cc = {
  state: 'idle', // idle | connecting | joined | reconnecting | ended
  lessonState: null, // waiting | live | ended
  sendState: 'idle', // idle | connecting | connected | failed
  code: null, token: null, viewerToken: null, member: null, title: '', teacher: '',
  members: [],
  pc: null,
  error: null,
  media: { camera: false, screen: false, mic: false }, // what the server says students get
  tracks: { camera: null, screen: null, mic: null },
  sig: null,
  // Capture on the classroom computer (only when the server allows it here).
  local: {
    available: false,
    state: 'stopped', // stopped | starting | running | stopping
    running: [], // sources the server runs for this lesson ("screen", "test-video:camera")
    pipelines: [], // [{name, description, slot}]
    devices: { cameras: [], microphones: [], screens: [] },
    display: null, // the server's default X display
    error: null, // {code, message, source} of the last failure
  },
};
window.ccTeacher = cc;

// Who is signed in (account.js renders its own sections); render() below
// shows "Create a lesson" only to a signed-in teacher.
const account = mountAccount({
  onChange(acc) {
    cc.account = { state: acc.state, teacher: acc.teacher };
    // The name students see: the account's, unless the teacher typed one.
    const dn = acc.teacher && acc.teacher.display_name;
    if (dn && !ui.nameIn.value) ui.nameIn.value = dn;
    if (acc.notice) { showNotice(acc.notice); acc.notice = null; }
    // A refusal that sent the teacher to sign in is answered once signed in.
    if (acc.state === 'signed_in' && errorShown && ['not_signed_in', 'must_change_password'].includes(errorShown.code)) {
      clearError();
    }
    render();
  },
});
cc.account = { state: 'checking', teacher: null };

// The teacher's on/off choice, shown by the buttons at once; sync() makes
// the tracks and the server follow it.
const want = { camera: true, mic: true, screen: false };
let txs = {}; // slot -> RTCRtpTransceiver on cc.pc
let published = false; // cc.pc has a server answer for a publish
let errorShown = null; // {key, vars} or {code}
let noticeShown = null;
let reconnectAttempt = 0;

// ---------------------------------------------------------------------------
// Messages on screen

function renderError() {
  if (!errorShown) { ui.error.hidden = true; ui.error.textContent = ''; return; }
  ui.error.textContent = errorShown.code ? errorText(errorShown.code) : t(errorShown.key, errorShown.vars);
  ui.error.hidden = false;
}
function showError(e) {
  if (e instanceof SignalError) errorShown = { code: e.code };
  else if (typeof e === 'string') errorShown = { key: e };
  else errorShown = { code: 'server_error' };
  cc.error = e instanceof SignalError ? e.code : String(e && (e.message || e));
  renderError();
}
function clearError() { errorShown = null; cc.error = null; renderError(); }

function showNotice(key, vars) {
  noticeShown = key ? { key, vars } : null;
  ui.notice.hidden = !noticeShown;
  ui.notice.textContent = noticeShown ? t(key, vars) : '';
}

function setConn(state) {
  ui.conn.dataset.state = state;
  ui.connText.dataset.i18n = `conn.${state}`;
  ui.connText.textContent = t(`conn.${state}`);
}

function setState(state) {
  cc.state = state;
  setConn(state === 'joined' ? 'online'
    : state === 'reconnecting' ? 'reconnecting'
      : state === 'connecting' ? 'connecting' : 'offline');
  render();
}

function setSendState(s) {
  cc.sendState = s;
  render();
}

function render() {
  const inLesson = !!cc.code;
  account.setHidden(inLesson || cc.state === 'connecting');
  ui.create.hidden = inLesson || cc.state === 'connecting' || cc.account.state !== 'signed_in';
  ui.lesson.hidden = !inLesson;
  if (!inLesson) return;

  ui.titleView.textContent = cc.title || t('teacher.title');
  ui.code.textContent = cc.code;
  ui.link.value = new URL(`student.html?code=${encodeURIComponent(cc.code)}`, location.href).href;

  const ls = cc.lessonState || 'waiting';
  ui.lessonState.dataset.state = ls;
  ui.lessonStateText.textContent = t(`teacher.state.${ls}`);
  const joined = cc.state === 'joined';
  ui.start.hidden = ls !== 'waiting';
  ui.end.hidden = ls !== 'live';
  ui.start.disabled = !joined;
  ui.end.disabled = !joined;
  ui.newLesson.hidden = ls !== 'ended';

  const ended = ls === 'ended';
  $('media-card').hidden = ended;
  setToggle(ui.camToggle, ui.camLabel, want.camera, !!cc.tracks.camera, 'teacher.cam_off', 'teacher.cam_on');
  setToggle(ui.micToggle, ui.micLabel, want.mic, !!cc.tracks.mic, 'teacher.mic_off', 'teacher.mic_on');
  setToggle(ui.screenToggle, ui.screenLabel, want.screen, !!cc.tracks.screen, 'teacher.screen_off', 'teacher.screen_on');
  ui.camTile.hidden = !cc.tracks.camera;
  ui.screenTile.hidden = !cc.tracks.screen;
  ui.previewNone.hidden = !!(cc.tracks.camera || cc.tracks.screen);

  ui.sendState.dataset.state = cc.sendState;
  ui.sendStateText.textContent = t(`teacher.send.${cc.sendState}`);

  renderMembers();
  renderLocal();
}

// A toggle shows the wish at once; it is busy until the device follows
// (a camera opening, a screen being picked).
function setToggle(btn, label, on, has, onKey, offKey) {
  btn.setAttribute('aria-pressed', String(on));
  btn.setAttribute('aria-busy', String(on !== has));
  btn.classList.toggle('is-on', on);
  label.textContent = t(on ? onKey : offKey);
}

function renderMembers() {
  const students = cc.members.filter((m) => m.id !== cc.member && m.role !== 'teacher');
  const watching = students.filter((m) => m.watching).length;
  ui.membersCount.textContent = students.length
    ? t(students.length === 1 ? 'teacher.members_count_one' : 'teacher.members_count', { n: students.length, w: watching })
    : t('teacher.members_empty');
  ui.members.textContent = '';
  for (const m of students) {
    const li = document.createElement('li');
    li.className = 'member';
    li.dataset.watching = String(!!m.watching);
    li.dataset.weak = String(!!(m.watching && m.weak_link));
    li.dataset.id = m.id;
    const name = document.createElement('span');
    name.className = 'member-name';
    name.textContent = m.name;
    const st = document.createElement('span');
    st.className = 'member-state';
    st.textContent = t(!m.watching ? 'teacher.not_watching'
      : m.weak_link ? 'teacher.watching_weak' : 'teacher.watching');
    li.append(name, st);
    ui.members.append(li);
  }
}

// ---------------------------------------------------------------------------
// Session storage (resume after reload)

function saveSession() {
  if (!cc.code || !cc.token) return;
  const s = {
    code: cc.code, token: cc.token, viewerToken: cc.viewerToken, title: cc.title,
    want: { camera: want.camera, mic: want.mic }, screen: !!cc.tracks.screen,
  };
  try { sessionStorage.setItem(SESSION_KEY, JSON.stringify(s)); } catch (_) { /* ignore */ }
}
function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.code === 'string' && typeof s.token === 'string') return s;
  } catch (_) { /* ignore */ }
  return null;
}
function dropSession() {
  try { sessionStorage.removeItem(SESSION_KEY); } catch (_) { /* ignore */ }
}

// ---------------------------------------------------------------------------
// Signalling

async function openSignal() {
  const sig = new Signal();
  await sig.connect();
  sig.on('lesson', (m) => {
    cc.lessonState = m.state;
    if (typeof m.title === 'string') cc.title = m.title;
    if (m.state === 'ended') onEnded();
    else if (m.state === 'live' && hasTracks() && !published) sync();
    render();
  });
  sig.on('members', (m) => { cc.members = Array.isArray(m.members) ? m.members : []; render(); });
  sig.on('media', (m) => { cc.media = { camera: !!m.camera, screen: !!m.screen, mic: !!m.mic }; });
  sig.on('transport', (m) => {
    if (m.for !== 'publish') return;
    if (m.state === 'connected') setSendState('connected');
    else if (m.state === 'closed' && published && cc.state === 'joined' && hasTracks()) {
      // The server dropped our publish transport: publish again.
      restartPublish();
    }
  });
  sig.on('error', (m) => {
    // An error without a request of ours waiting for it: show it.
    showError(new SignalError(m.code, m.message, m.ref));
  });
  sig.onclose = () => { if (cc.sig === sig) onSocketLost(); };
  cc.sig = sig;
  return sig;
}

async function createLesson(title, name) {
  clearError();
  setState('connecting');
  try {
    const sig = await openSignal();
    const r = await sig.request({ type: 'create', name, title });
    cc.code = String(r.code);
    cc.token = r.token;
    cc.viewerToken = r.viewer_token || null;
    cc.member = r.member || null;
    cc.title = typeof r.title === 'string' ? r.title : title;
    cc.teacher = name;
    cc.lessonState = cc.lessonState || 'waiting';
    reconnectAttempt = 0;
    saveSession();
    setState('joined');
    refreshLocal();
    // Camera and microphone on by default: the teacher sees the preview
    // (and answers the browser's permission question) right away.
    await sync();
  } catch (e) {
    if (cc.sig) cc.sig.close();
    cc.sig = null;
    cc.code = null;
    setState('idle');
    showError(e);
    // Signed out meanwhile (another tab, an expired session, an admin):
    // ask again, which brings back the sign-in or password form.
    if (e instanceof SignalError && (e.code === 'not_signed_in' || e.code === 'must_change_password')) {
      account.check();
    }
  }
}

// Resume after a reload or a lost connection. Returns true when back in.
async function resumeLesson(session, { quiet } = {}) {
  if (!quiet) setState('connecting');
  const sig = await openSignal();
  const r = await sig.request({ type: 'resume', code: session.code, token: session.token });
  cc.code = String(r.code || session.code);
  cc.token = session.token;
  cc.viewerToken = session.viewerToken || cc.viewerToken;
  cc.member = r.member || null;
  if (typeof r.title === 'string') cc.title = r.title;
  else cc.title = session.title || '';
  if (r.teacher) cc.teacher = r.teacher;
  if (r.state) cc.lessonState = r.state;
  reconnectAttempt = 0;
  setState('joined');
  refreshLocal();
  return true;
}

function onSocketLost() {
  if (cc.lessonState === 'ended' || !cc.code) return;
  cc.sig = null;
  setState('reconnecting');
  closePc();
  setSendState('idle');
  reconnectLoop();
}

let reconnecting = false;
async function reconnectLoop() {
  if (reconnecting) return;
  reconnecting = true;
  try {
    while (cc.code && cc.lessonState !== 'ended' && cc.state !== 'joined') {
      await sleep(backoffMs(reconnectAttempt++));
      const session = loadSession() || { code: cc.code, token: cc.token, viewerToken: cc.viewerToken };
      try {
        await resumeLesson(session, { quiet: true });
        clearError();
        await sync();
        return;
      } catch (e) {
        if (cc.sig) { cc.sig.close(); cc.sig = null; }
        if (e instanceof SignalError && ['bad_token', 'no_such_lesson', 'lesson_ended'].includes(e.code)) {
          gone(e);
          return;
        }
        setState('reconnecting');
      }
    }
  } finally {
    reconnecting = false;
  }
}

// The lesson cannot be resumed: back to the create form.
function gone(e) {
  dropSession();
  stopAllTracks();
  closePc();
  if (e && e.code === 'lesson_ended') {
    cc.lessonState = 'ended';
    setState('ended');
    showError(e);
    return;
  }
  cc.code = null;
  cc.token = null;
  cc.lessonState = null;
  cc.members = [];
  setState('idle');
  if (e) showError(e);
}

function onEnded() {
  dropSession();
  stopAllTracks();
  closePc();
  setSendState('idle');
  // The socket stays open (the `ok` to our `end` may still be on its way);
  // onSocketLost ignores its close once the lesson has ended.
  setState('ended');
}

// ---------------------------------------------------------------------------
// Media

function hasTracks() { return SLOTS.some((s) => cc.tracks[s]); }
const wants = (slot) => !!want[slot];

function stopTrack(slot) {
  const tr = cc.tracks[slot];
  if (tr) { tr.onended = null; tr.stop(); }
  cc.tracks[slot] = null;
}
function stopAllTracks() {
  for (const s of SLOTS) stopTrack(s);
  want.screen = false; // sharing again needs a click (a user gesture)
  updatePreviews();
}

function updatePreviews() {
  const cam = cc.tracks.camera;
  const scr = cc.tracks.screen;
  const camSrc = ui.camPreview.srcObject;
  if (!cam) ui.camPreview.srcObject = null;
  else if (!camSrc || camSrc.getVideoTracks()[0] !== cam) ui.camPreview.srcObject = new MediaStream([cam]);
  const scrSrc = ui.screenPreview.srcObject;
  if (!scr) ui.screenPreview.srcObject = null;
  else if (!scrSrc || scrSrc.getVideoTracks()[0] !== scr) ui.screenPreview.srcObject = new MediaStream([scr]);
  for (const v of [ui.camPreview, ui.screenPreview]) if (v.srcObject) v.play().catch(() => {});
  render();
}

function cameraConstraints() {
  const id = ui.camSelect.value || recall(CAM_KEY);
  // A teacher's face does not need HD; keep the shared Wi-Fi for the screen.
  const c = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } };
  if (id) c.deviceId = { ideal: id };
  return c;
}
function micConstraints() {
  const id = ui.micSelect.value || recall(MIC_KEY);
  const c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (id) c.deviceId = { ideal: id };
  return c;
}

// Bring the local camera and microphone in line with `want` (one step of
// sync(); only sync() calls it, so two of these never run at once).
async function applyWants() {
  if (!want.camera) stopTrack('camera');
  if (!want.mic) stopTrack('mic');
  if (!want.screen) stopTrack('screen');
  const needCam = want.camera && !cc.tracks.camera;
  const needMic = want.mic && !cc.tracks.mic;
  if (needCam || needMic) {
    if (!navigator.mediaDevices?.getUserMedia) {
      showError('err.nowebrtc');
      want.camera = false;
      want.mic = false;
    } else {
      try {
        const s = await navigator.mediaDevices.getUserMedia({
          video: needCam ? cameraConstraints() : false,
          audio: needMic ? micConstraints() : false,
        });
        adoptTrack('camera', s.getVideoTracks()[0]);
        adoptTrack('mic', s.getAudioTracks()[0]);
      } catch (e) {
        // Try each on its own: one missing device should not block the other.
        if (needCam) await getOne('camera');
        if (needMic) await getOne('mic');
      }
    }
    await refreshDevices();
  }
  updatePreviews();
  saveSession();
}

async function getOne(slot) {
  try {
    const s = await navigator.mediaDevices.getUserMedia(slot === 'camera'
      ? { video: cameraConstraints() } : { audio: micConstraints() });
    adoptTrack(slot, slot === 'camera' ? s.getVideoTracks()[0] : s.getAudioTracks()[0]);
  } catch (_) {
    showError(slot === 'camera' ? 'err.camera' : 'err.mic');
    want[slot] = false;
  }
}

// Takes a new track for a slot, unless the teacher turned that slot off
// while the browser was opening the device (then it is stopped at once).
function adoptTrack(slot, track) {
  if (!track) return;
  if (!wants(slot)) { track.stop(); return; }
  stopTrack(slot);
  cc.tracks[slot] = track;
  if (slot === 'screen' && 'contentHint' in track) track.contentHint = 'detail';
  track.onended = () => {
    // The browser's own "Stop sharing" bar, or a camera unplugged.
    if (cc.tracks[slot] !== track) return;
    cc.tracks[slot] = null;
    want[slot] = false;
    updatePreviews();
    saveSession();
    sync();
  };
  const id = track.getSettings ? track.getSettings().deviceId : null;
  if (id && slot === 'camera') remember(CAM_KEY, id);
  if (id && slot === 'mic') remember(MIC_KEY, id);
}

// Share screen. Must run inside the click: the browser allows
// getDisplayMedia only in the user's gesture, so this cannot wait in
// sync()'s queue. A second click while the browser still asks stops the
// wish (want.screen), and the screen that comes is let go at once.
let screenAsking = false;
async function shareScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) { want.screen = false; render(); showError('err.noscreen'); return; }
  if (screenAsking) return;
  screenAsking = true;
  let track = null;
  try {
    // Getting the screen must stay the first await after the click.
    const s = await navigator.mediaDevices.getDisplayMedia({
      video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 15 } },
      audio: false,
    });
    track = s.getVideoTracks()[0] || null;
  } catch (e) {
    if (!(e && e.name === 'NotAllowedError')) showError('err.screen');
    want.screen = false;
  } finally {
    screenAsking = false;
  }
  if (track && want.screen) {
    adoptTrack('screen', track);
    clearError();
    showNotice(null);
  } else if (track) {
    track.stop();
  }
  updatePreviews();
  saveSession();
  sync();
}

async function switchDevice(slot) {
  if (!cc.tracks[slot]) return;
  try {
    const s = await navigator.mediaDevices.getUserMedia(slot === 'camera'
      ? { video: { ...cameraConstraints(), deviceId: { exact: ui.camSelect.value } } }
      : { audio: { ...micConstraints(), deviceId: { exact: ui.micSelect.value } } });
    const track = slot === 'camera' ? s.getVideoTracks()[0] : s.getAudioTracks()[0];
    // Turned off while the new device opened: adoptTrack lets it go.
    adoptTrack(slot, track);
    if (cc.tracks[slot] !== track) return;
    // Same slot, same m-line: no renegotiation needed unless a negotiation
    // is under way (then sync's next round puts the new track in).
    const tx = txs[slot];
    if (tx && published && !syncing) await tx.sender.replaceTrack(track);
    else sync();
    updatePreviews();
  } catch (_) {
    showError(slot === 'camera' ? 'err.camera' : 'err.mic');
  }
}

async function refreshDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  let list = [];
  try { list = await navigator.mediaDevices.enumerateDevices(); } catch (_) { return; }
  fillSelect(ui.camSelect, list.filter((d) => d.kind === 'videoinput'), 'camera', 'teacher.camera');
  fillSelect(ui.micSelect, list.filter((d) => d.kind === 'audioinput'), 'mic', 'teacher.mic');
}

function fillSelect(sel, devices, slot, kindKey) {
  const current = cc.tracks[slot]?.getSettings?.().deviceId || sel.value;
  sel.textContent = '';
  devices.forEach((d, i) => {
    const o = document.createElement('option');
    o.value = d.deviceId;
    o.textContent = d.label || t('teacher.device_n', { kind: t(kindKey), n: i + 1 });
    if (d.deviceId === current) o.selected = true;
    sel.append(o);
  });
  sel.disabled = devices.length === 0;
}

// ---------------------------------------------------------------------------
// Publishing

function closePc() {
  if (cc.pc) {
    const pc = cc.pc;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    pc.close();
  }
  cc.pc = null;
  txs = {};
  published = false;
}

function newPc() {
  closePc();
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  cc.pc = pc;
  const onState = () => {
    if (cc.pc !== pc) return;
    const s = pc.connectionState || pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') setSendState('connected');
    else if (s === 'failed') {
      setSendState('failed');
      restartPublish();
    }
  };
  pc.onconnectionstatechange = onState;
  pc.oniceconnectionstatechange = onState;
  return pc;
}

let syncing = null; // the running sync loop (a promise), or null
let syncAgain = false;

// Make the devices and the server follow `want`: one loop at a time, each
// round first the devices (applyWants), then one offer/answer
// (negotiateOnce). A call while the loop runs asks for one more round and
// returns the running loop's promise; rounds repeat until nothing changed,
// so the last wish is what ends up published.
function sync() {
  syncAgain = true;
  if (!syncing) {
    syncing = (async () => {
      try {
        while (syncAgain) {
          syncAgain = false;
          try {
            await applyWants();
            // A newer wish came while the devices opened: settle it before
            // telling the server anything.
            if (syncAgain) continue;
            await negotiateOnce();
          } catch (e) {
            // Not a server refusal (negotiateOnce shows those): the browser
            // threw. Start over on a new connection in a second.
            console.error('sync:', e);
            if (cc.state === 'joined') { closePc(); setSendState('failed'); restartPublish(); }
          }
        }
      } finally {
        syncing = null;
      }
    })();
  }
  return syncing;
}

async function negotiateOnce() {
  if (cc.state !== 'joined' || !cc.sig || cc.lessonState === 'ended') return;
  if (!hasTracks()) {
    if (cc.pc) await unpublish();
    else setSendState('idle');
    return;
  }
  if (typeof RTCPeerConnection === 'undefined') { showError('err.nowebrtc'); return; }
  const fresh = !cc.pc || !published;
  const pc = fresh ? newPc() : cc.pc;
  let changed = fresh;
  for (const slot of SLOTS) {
    const track = cc.tracks[slot];
    let tx = txs[slot];
    if (tx && (tx.currentDirection === 'stopped' || tx.direction === 'stopped')) {
      // The server rejected this m-line (a slot left out of `tracks`, e.g. a
      // stopped screen share): the transceiver is stopped for good and its
      // sender takes no track. A new share gets a new transceiver.
      delete txs[slot];
      tx = undefined;
    }
    if (track && !tx) {
      tx = addSender(pc, slot, track);
      txs[slot] = tx;
      changed = true;
    } else if (tx) {
      if (tx.sender.track !== track) await tx.sender.replaceTrack(track);
      const dir = track ? 'sendonly' : 'inactive';
      if (tx.direction !== dir) { tx.direction = dir; changed = true; }
    }
  }
  if (!changed) return;
  if (fresh) setSendState('connecting');
  try {
    await offerAnswer(pc, fresh ? 'publish' : 'renegotiate');
  } catch (e) {
    if (cc.pc !== pc) return; // superseded (closed meanwhile)
    if (!fresh && !(e instanceof SignalError && e.code === 'network')) {
      // The server would not renegotiate, or the browser would not take
      // its answer (Chromium refuses an answer that rejects the first
      // m-line, the one carrying the bundled transport, e.g. when the
      // camera goes off): start over with a new publish of what is on by
      // then, in sync()'s next round (a new publish replaces the old one on
      // the server; with nothing on, unpublish).
      console.warn('renegotiate failed, publishing afresh:', e && (e.code || e.message), e && e.message);
      closePc();
      if (hasTracks()) syncAgain = true;
      else await unpublish();
      return;
    }
    if (cc.state !== 'joined') return;
    closePc();
    setSendState('failed');
    showError(e);
  }
}

async function unpublish() {
  if (cc.sig) {
    try { await cc.sig.request({ type: 'unpublish' }); } catch (_) { /* the pc closes anyway */ }
  }
  closePc();
  setSendState('idle');
}

// The camera goes out in three temporal layers (VP8 L1T3: TL0 at 7.5 fps,
// TL1 doubling it, TL2 doubling again), so the server can send a student
// on a weak link fewer frames instead of losing packets it cannot repair.
// A browser that does not know scalabilityMode sends one layer.
function addSender(pc, slot, track) {
  if (slot === 'camera') {
    try {
      return pc.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ scalabilityMode: 'L1T3' }] });
    } catch (e) {
      console.warn('no temporal layers for the camera:', e && e.message);
    }
  }
  return pc.addTransceiver(track, { direction: 'sendonly' });
}

async function offerAnswer(pc, kind) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitGatheringComplete(pc, 3000);
  if (cc.pc !== pc) throw new SignalError('network', 'superseded');
  const tracks = {};
  // What this offer sends, as negotiateOnce set it up (a track turned off
  // meanwhile goes out in the next round, not half in this one).
  for (const slot of SLOTS) {
    const tx = txs[slot];
    if (tx && tx.mid !== null && tx.direction === 'sendonly') tracks[tx.mid] = slot;
  }
  const msg = kind === 'publish'
    ? { type: 'publish', sdp: pc.localDescription.sdp, tracks }
    : { type: 'renegotiate', for: 'publish', sdp: pc.localDescription.sdp, tracks };
  const r = await cc.sig.request(msg);
  if (cc.pc !== pc) throw new SignalError('network', 'superseded');
  await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
  published = true;
  const s = pc.connectionState || pc.iceConnectionState;
  if (s === 'connected' || s === 'completed') setSendState('connected');
}

let restartTimer = null;
function restartPublish() {
  if (restartTimer) return;
  restartTimer = setTimeout(() => {
    restartTimer = null;
    if (cc.state !== 'joined') return;
    closePc();
    sync();
  }, 1000);
}


// ---------------------------------------------------------------------------
// This classroom computer: capture by the server itself (capture_*)

const LOCAL_SLOTS = ['screen', 'camera', 'mic'];
const DEVICE_LIST = { camera: 'cameras', mic: 'microphones', screen: 'screens' };
let localBusy = false;

// "test-video:screen" -> {name: "test-video", slot: "screen"}
function parseSource(src) {
  const [name, slot] = String(src).split(':');
  const p = cc.local.pipelines.find((x) => x.name === name);
  return { name, slot: slot || (p ? p.slot : 'camera') };
}

function pipelineLabel(name) {
  const key = `local.pipe.${name}`;
  const s = t(key);
  return s === key ? name : s;
}

// Ask the server what this computer can capture. A `forbidden` (the page is
// not on that computer) or an older server: the section stays hidden.
async function refreshLocal() {
  if (!cc.sig || cc.state !== 'joined') return false;
  let r;
  try {
    r = await cc.sig.request({ type: 'capture_list' });
  } catch (_) {
    cc.local.available = false;
    renderLocal();
    return false;
  }
  const L = cc.local;
  L.available = true;
  L.pipelines = Array.isArray(r.pipelines) ? r.pipelines.filter((p) => p && typeof p.name === 'string') : [];
  const d = r.devices || {};
  L.devices = {
    cameras: Array.isArray(d.cameras) ? d.cameras : [],
    microphones: Array.isArray(d.microphones) ? d.microphones : [],
    screens: Array.isArray(d.screens) ? d.screens : [],
  };
  L.display = typeof r.display === 'string' ? r.display : null;
  L.running = Array.isArray(r.running) ? r.running.map(String) : [];
  if (L.state !== 'starting' && L.state !== 'stopping') L.state = L.running.length ? 'running' : 'stopped';
  fillLocalSelects();
  renderLocal();
  return true;
}

function fillLocalSelects() {
  const L = cc.local;
  const running = {};
  for (const src of L.running) { const p = parseSource(src); running[p.slot] = p.name; }
  const first = !ui.localSel.screen.options.length;
  for (const slot of LOCAL_SLOTS) {
    const sel = ui.localSel[slot];
    const keep = slot in running ? running[slot] : sel.value;
    const names = L.pipelines.filter((p) => p.slot === slot).map((p) => p.name);
    if (running[slot] && !names.includes(running[slot])) names.push(running[slot]);
    sel.textContent = '';
    const none = document.createElement('option');
    none.value = '';
    none.textContent = t('local.none');
    sel.append(none);
    for (const n of names) {
      const o = document.createElement('option');
      o.value = n;
      o.textContent = pipelineLabel(n);
      const p = L.pipelines.find((x) => x.name === n);
      if (p && p.description) o.title = p.description;
      sel.append(o);
    }
    let v = keep;
    if (first && !L.running.length) {
      // A first guess: the usual device of the slot, if this computer has one.
      const usual = { screen: 'screen', camera: 'camera', mic: 'mic' }[slot];
      v = names.includes(usual) && L.devices[DEVICE_LIST[slot]].length ? usual : '';
    }
    sel.value = names.includes(v) ? v : '';
  }
  // Which X display, when there is a choice.
  const disp = ui.localDisplay;
  const keepD = disp.value;
  disp.textContent = '';
  const def = document.createElement('option');
  def.value = '';
  def.textContent = L.display ? t('local.display_default', { d: L.display }) : t('local.display_auto');
  disp.append(def);
  for (const sc of L.devices.screens) {
    if (!sc || typeof sc.id !== 'string' || sc.id === L.display) continue;
    const o = document.createElement('option');
    o.value = sc.id;
    o.textContent = sc.name || sc.id;
    disp.append(o);
  }
  disp.value = [...disp.options].some((o) => o.value === keepD) ? keepD : '';
}

function localChoice() {
  const sources = [];
  for (const slot of LOCAL_SLOTS) {
    const n = ui.localSel[slot].value;
    if (!n) continue;
    const p = cc.local.pipelines.find((x) => x.name === n);
    sources.push(p && p.slot === slot ? n : `${n}:${slot}`);
  }
  return sources;
}

function renderLocal() {
  const L = cc.local;
  ui.localCard.hidden = !L.available || !cc.code || cc.lessonState === 'ended';
  if (ui.localCard.hidden) return;
  const running = L.running.length > 0;
  const busy = L.state === 'starting' || L.state === 'stopping';
  ui.localStart.hidden = running;
  ui.localStop.hidden = !running;
  ui.localStart.disabled = busy || localChoice().length === 0 || cc.state !== 'joined';
  ui.localStop.disabled = busy || cc.state !== 'joined';
  for (const slot of LOCAL_SLOTS) ui.localSel[slot].disabled = busy;
  ui.localDisplay.disabled = busy;
  ui.localDisplayField.hidden = !ui.localSel.screen.value || ui.localDisplay.options.length < 2;
  ui.localState.dataset.state = L.state;
  const list = L.running.map((src) => {
    const p = parseSource(src);
    return `${t(`local.${p.slot}`)}: ${pipelineLabel(p.name)}`;
  }).join(', ');
  ui.localStateText.textContent = t(`local.state.${L.state}`, { list });
  ui.localHint.hidden = !running;
  renderLocalError();
}

// The failure in the teacher's language: what could not be opened, the
// devices of that kind this computer has, and the server's technical line.
function renderLocalError() {
  const e = cc.local.error;
  const box = ui.localError;
  box.textContent = '';
  box.hidden = !e;
  if (!e) return;
  const line = (text, cls) => {
    const p = document.createElement('p');
    if (cls) p.className = cls;
    p.textContent = text;
    box.append(p);
  };
  const src = e.source ? parseSource(e.source) : null;
  if (e.code !== 'capture_failed') {
    line(errorText(e.code));
  } else if (src) {
    line(t('local.failed', { what: t(`local.what.${src.slot}`), name: pipelineLabel(src.name) }));
    const devs = cc.local.devices[DEVICE_LIST[src.slot]] || [];
    const names = devs.map((d) => d.name || d.id).filter(Boolean);
    line(names.length ? t(`local.found.${src.slot}`, { list: names.join(', ') }) : t(`local.found_none.${src.slot}`));
  } else {
    line(t('local.failed_any'));
  }
  if (e.code === 'capture_failed' && cc.local.running.length) line(t('local.kept'));
  if (e.message) line(t('local.detail', { detail: e.message }), 'local-detail');
}

async function startLocal() {
  const sources = localChoice();
  if (!sources.length || localBusy || !cc.sig) return;
  localBusy = true;
  const L = cc.local;
  L.error = null;
  L.state = 'starting';
  renderLocal();
  // The computer sends these slots itself now: let go of the browser's own
  // camera / microphone / screen share for them (frees the devices too).
  const slots = sources.map((s) => parseSource(s).slot);
  let changed = false;
  for (const slot of slots) {
    if (!cc.tracks[slot] && !want[slot]) continue;
    want[slot] = false;
    stopTrack(slot);
    changed = true;
  }
  if (changed) { updatePreviews(); saveSession(); sync(); }
  const msg = { type: 'capture_start', sources };
  if (ui.localDisplay.value && slots.includes('screen')) msg.display = ui.localDisplay.value;
  try {
    // Opening devices may take a few seconds (a camera waking up).
    await cc.sig.request(msg, 20000);
    L.running = sources;
  } catch (e) {
    L.error = { code: e.code || 'server_error', message: e.message || '', source: null };
    if (e instanceof SignalError && e.code === 'capture_failed') {
      const m = /source '([A-Za-z0-9_-]+)/.exec(e.message || '');
      if (m) L.error.source = sources.find((s) => parseSource(s).name === m[1]) || m[1];
    }
  }
  L.state = 'stopped';
  localBusy = false;
  // What runs now and which devices exist (a failed switch restarts the
  // previous sources; a camera may have been plugged in).
  if (!(await refreshLocal())) { L.state = L.running.length ? 'running' : 'stopped'; renderLocal(); }
}

async function stopLocal() {
  if (localBusy || !cc.sig) return;
  localBusy = true;
  cc.local.error = null;
  cc.local.state = 'stopping';
  renderLocal();
  try {
    await cc.sig.request({ type: 'capture_stop' });
    cc.local.running = [];
  } catch (e) {
    cc.local.error = { code: e.code || 'server_error', message: e.message || '', source: null };
  }
  cc.local.state = 'stopped';
  localBusy = false;
  if (!(await refreshLocal())) renderLocal();
}

ui.localStart.addEventListener('click', () => startLocal());
ui.localStop.addEventListener('click', () => stopLocal());
for (const el of [...Object.values(ui.localSel), ui.localDisplay]) {
  el.addEventListener('change', () => {
    // While the computer is sending, a new choice switches at once.
    if (cc.local.running.length && !localBusy) {
      if (localChoice().length) startLocal(); else stopLocal();
    } else {
      renderLocal();
    }
  });
}

// ---------------------------------------------------------------------------
// Buttons

ui.createForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = ui.nameIn.value.trim().replace(/\s+/g, ' ');
  const title = ui.titleIn.value.trim();
  if (!name) {
    errorShown = { key: 'index.err_name' };
    renderError();
    ui.nameIn.focus();
    return;
  }
  remember(NAME_KEY, name);
  createLesson(title, name);
});

ui.start.addEventListener('click', async () => {
  clearError();
  ui.start.disabled = true;
  try {
    await cc.sig.request({ type: 'start' });
    cc.lessonState = 'live'; // the `lesson` message confirms it
  } catch (e) { showError(e); }
  render();
});

async function endLesson() {
  clearError();
  try {
    await cc.sig.request({ type: 'end' });
    cc.lessonState = 'ended';
    onEnded();
  } catch (e) { showError(e); }
  render();
}

ui.end.addEventListener('click', () => {
  const d = ui.endDialog;
  if (d && typeof d.showModal === 'function') {
    d.returnValue = '';
    d.showModal();
  } else if (window.confirm(`${t('teacher.end_confirm_h')}\n${t('teacher.end_confirm')}`)) {
    endLesson();
  }
});
ui.endDialog.addEventListener('close', () => {
  if (ui.endDialog.returnValue === 'yes') endLesson();
});

ui.newLesson.addEventListener('click', () => {
  clearError();
  cc.code = null; cc.token = null; cc.viewerToken = null; cc.lessonState = null; cc.members = [];
  want.camera = true; want.mic = true; want.screen = false;
  setState('idle');
});

// A click flips the wish and the button at once; turning off lets go of
// the device at once too (the camera light goes out), and sync() tells
// the server when the negotiation before it is done.
function toggle(slot) {
  want[slot] = !want[slot];
  clearError();
  if (!want[slot]) stopTrack(slot);
  updatePreviews();
  saveSession();
  if (slot === 'screen' && want.screen) shareScreen();
  else sync();
}
ui.camToggle.addEventListener('click', () => toggle('camera'));
ui.micToggle.addEventListener('click', () => toggle('mic'));
ui.screenToggle.addEventListener('click', () => toggle('screen'));
ui.camSelect.addEventListener('change', () => { remember(CAM_KEY, ui.camSelect.value); switchDevice('camera'); });
ui.micSelect.addEventListener('change', () => { remember(MIC_KEY, ui.micSelect.value); switchDevice('mic'); });
navigator.mediaDevices?.addEventListener?.('devicechange', refreshDevices);

ui.copy.addEventListener('click', async () => {
  let ok = false;
  try {
    await navigator.clipboard.writeText(ui.link.value);
    ok = true;
  } catch (_) {
    // Plain http on a school LAN is not a secure context: no clipboard API.
    ui.link.select();
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
  }
  if (ok) {
    ui.copy.textContent = t('teacher.copied');
    setTimeout(() => { ui.copy.textContent = t('teacher.copy'); }, 2000);
  }
});

window.addEventListener('pagehide', () => {
  // A reload keeps the session (sessionStorage) and resumes; nothing to send.
  closePc();
});

// ---------------------------------------------------------------------------
// Start

onChange(() => {
  render();
  renderError();
  if (noticeShown) ui.notice.textContent = t(noticeShown.key, noticeShown.vars);
  setConn(ui.conn.dataset.state);
  refreshDevices();
  if (cc.local.available) fillLocalSelects();
  renderLocal();
});
mountSwitch($('lang-switch'));
apply();
ui.nameIn.value = recall(NAME_KEY);

(async () => {
  const session = loadSession();
  const who = account.check(); // in parallel with a resume
  if (!session) {
    setState('idle');
    await who;
    if (cc.account.state === 'signed_out') $('signin-name')?.focus();
    return;
  }
  cc.code = session.code; // show the code at once, even before the server answers
  cc.title = session.title || '';
  want.camera = session.want ? !!session.want.camera : true;
  want.mic = session.want ? !!session.want.mic : true;
  want.screen = false; // sharing needs a click again (a user gesture)
  try {
    await resumeLesson(session);
    showNotice(session.screen ? 'teacher.screen_again' : 'teacher.resumed', { code: cc.code });
    await sync();
  } catch (e) {
    if (cc.sig) { cc.sig.close(); cc.sig = null; }
    if (e instanceof SignalError && (e.code === 'network' || e.code === 'timeout' || e.code === 'server_busy' || e.code === 'server_error')) {
      // The server is not reachable right now: keep trying.
      setState('reconnecting');
      reconnectLoop();
      return;
    }
    gone(e);
  }
})();
