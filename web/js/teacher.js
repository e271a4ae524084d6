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
// Seminars (docs/protocol.md "Seminars: schools, the floor, chat"): the
// create form offers an ordinary lesson or a seminar (kind); the side
// column lists everyone with their role, raised hands in the order raised,
// the floor, muting, removing, and the waiting room (admit / refuse); a
// settings card sends lock / waiting_room / chat_mode / last_n; an invites
// card makes and revokes school invite links (with QR codes from
// /qr.svg); a chat card shows chat / chat_history and sends chat. Guest
// streams (a school's or a speaking student's camera and microphone, from
// `streams`) are received on a second, recvonly RTCPeerConnection (the
// subscribe connection) that is made when the first guest stream appears:
// one recvonly transceiver per stream, `subscribe` the first time and
// `renegotiate` {for: "subscribe"} on the same connection afterwards, one
// negotiation at a time (subSync, the same pattern as sync()). Cameras show
// as small tiles labelled with the member's name; microphones play.
//
// Simulcast: when the server's `created` / `joined` reply says
// `simulcast: true`, the camera and the screen go out as several encodings
// of one track (RFC 8853, each tagged with its rid), lowest first, so the
// server can forward each student the one that fits (simulcastEncodings()).
// Without it (absent or false) the page sends one encoding per track.
//
// Tests read window.ccTeacher = {pc, code, token, viewerToken, members, state,
// lessonState, sendState, simulcast, error, media, local, account, kind, settings,
// hands, waiting, speakers, invites, chat, streams, guests, sub, copied,
// actionError, recording}.

import { t, apply, mountSwitch, onChange, lang } from '../i18n.js';
import './strings-teacher.js';
import {
  Signal, SignalError, errorText, backoffMs, sleep,
  $, remember, recall,
} from './signal.js';
import { mountAccount } from './account.js';
import { mountAttendance, memberState, stateLabel } from './attendance.js';
import { mountRecording } from './recording.js';

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
  // Seminars
  kindLesson: $('kind-lesson'), kindSeminar: $('kind-seminar'),
  studentQr: $('student-qr'), studentQrBox: $('student-qr-box'),
  schoolsCount: $('schools-count'), membersError: $('members-error'),
  waitingSection: $('waiting-section'), waiting: $('waiting'), admitAll: $('admit-all'),
  handsSection: $('hands-section'), hands: $('hands'),
  guestsSection: $('guests-section'), guestTiles: $('guest-tiles'), guestAudio: $('guest-audio'),
  guestSound: $('guest-sound'),
  settingsCard: $('settings-card'), settingsError: $('settings-error'),
  lockToggle: $('lock-toggle'), waitingToggle: $('waiting-toggle'), chatToggle: $('chat-toggle'),
  lastN: $('last-n'),
  invitesCard: $('invites-card'), inviteForm: $('invite-form'), inviteLabel: $('invite-label'),
  inviteCreate: $('invite-create'), invites: $('invites'), invitesEmpty: $('invites-empty'),
  invitesError: $('invites-error'),
  chatCard: $('chat-card'), chatList: $('chat-list'), chatEmpty: $('chat-empty'), chatOff: $('chat-off-note'),
  chatForm: $('chat-form'), chatInput: $('chat-input'), chatSend: $('chat-send'), chatError: $('chat-error'),
  floorDialog: $('floor-dialog'), floorDialogH: $('floor-dialog-h'),
  removeDialog: $('remove-dialog'), removeDialogH: $('remove-dialog-h'), removeReason: $('remove-reason'),
};

// Live state, also for tests and the console.
const cc = {
  state: 'idle', // idle | connecting | joined | reconnecting | ended
  lessonState: null, // waiting | live | ended
  sendState: 'idle', // idle | connecting | connected | failed
  simulcast: false, // the server takes simulcast (its created / joined reply)
  code: null, token: null, viewerToken: null, member: null, title: '', teacher: '',
  members: [],
  left: [], // students and schools that left (`members`.left), oldest first
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
  // Seminars
  kind: 'lesson', // lesson | seminar (from `lesson`, or what the teacher created)
  settings: { locked: false, waitingRoom: false, lastN: 2, chatStudents: true }, // from `lesson`
  hands: [], // members with a raised hand, in the order raised: [{id, name, role, hand}]
  waiting: [], // members in the waiting room (members[].waiting)
  speakers: [], // member ids, most recent speaker first (`speakers`, members[].speaking)
  invites: [], // [{id, label, token, uses, link}]
  chat: [], // [{from, name, role, text, at}] oldest first (chat_history + chat)
  streams: [], // the last `streams` list: [{id, member, name, role, kind}]
  guests: [], // what the page receives: [{stream, member, name, role, kind, mid, tile}]
  sub: { pc: null, state: 'idle', rounds: 0, offers: 0 }, // the subscribe connection
  copied: null, // the last text a Copy button copied (or tried to)
  actionError: null, // {action, code} of the last refused seminar command
};
window.ccTeacher = cc;

// The recording card (web/js/recording.js): record_start / record_stop,
// the indicator, the teacher's recordings.
const recording = mountRecording({ getSig: () => cc.sig });
cc.recording = recording.state;

// The attendance card and the list of who left (web/js/attendance.js).
const attendance = mountAttendance({
  card: $('attendance-card'), count: $('attendance-count'), table: $('attendance-table'),
  body: $('attendance-body'), empty: $('attendance-empty'), csv: $('attendance-csv'),
  leftSection: $('left-section'), leftList: $('members-left'),
});

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

// Seminar state of the page (declared up here: render() may run before the
// seminar section below has been evaluated).
const busy = new Set(); // commands in flight: member ids, "settings:lock", "invite:i1", ...
const memberEls = new Map(); // member id -> its <li> in #members and parts
const waitingEls = new Map(); // member id -> its <li> in #waiting
const inviteEls = new Map(); // invite id -> its <li> in #invites
const guestEls = new Map(); // stream id -> {el: <figure> or <audio>, video}
const qrShown = new Set(); // invite ids whose QR code is open
// The subscribe connection for guest streams: rx maps a stream id to its
// recvonly transceiver and the stream's entry of `streams`.
const sub = { pc: null, answered: false, answeredAt: 0, rx: new Map() };
let subLoop = null;
let subAgain = false;
let subFailures = 0;
let soundBlocked = false; // the browser would not play guest audio without a tap
let dialogMember = null; // the member the floor / remove dialog is about
let inviteBusy = false;
let chatBusy = false;
const CHAT_KEEP = 200; // messages kept on the page

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
  setQr(ui.studentQr, ui.studentQrBox, ui.link.value);

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
  attendance.render(cc);
  renderLocal();
  renderSeminar();
}

// A toggle shows the wish at once; it is busy until the device follows
// (a camera opening, a screen being picked).
function setToggle(btn, label, on, has, onKey, offKey) {
  btn.setAttribute('aria-pressed', String(on));
  btn.setAttribute('aria-busy', String(on !== has));
  btn.classList.toggle('is-on', on);
  label.textContent = t(on ? onKey : offKey);
}

// ---------------------------------------------------------------------------
// Session storage (resume after reload)

function saveSession() {
  if (!cc.code || !cc.token) return;
  const s = {
    code: cc.code, token: cc.token, viewerToken: cc.viewerToken, title: cc.title,
    want: { camera: want.camera, mic: want.mic }, screen: !!cc.tracks.screen,
    kind: cc.kind,
    invites: cc.invites.map(({ id, label, token, uses }) => ({ id, label, token, uses })),
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
    onLessonFields(m);
    if (m.state === 'ended') onEnded();
    else if (m.state === 'live' && hasTracks() && !published) sync();
    render();
  });
  sig.on('members', (m) => {
    cc.members = Array.isArray(m.members) ? m.members.filter((x) => x && typeof x.id === 'string') : [];
    // The server's `left` grows during the lesson and is emptied when it
    // ends: keep every visit this page was shown. A visit is its member id
    // and when it ended (the server's times may move by a millisecond
    // between messages; a member who came back as itself and left again
    // is another visit).
    const left = Array.isArray(m.left) ? m.left.filter((x) => x && typeof x.id === 'string') : [];
    const same = (a, b) => a.id === b.id && Math.abs(Number(a.left_at) - Number(b.left_at)) < 2000;
    cc.left = [...cc.left.filter((x) => !left.some((y) => same(x, y))), ...left]
      .sort((a, b) => Number(a.left_at) - Number(b.left_at)).slice(-1000);
    onMembers();
    render();
  });
  listenSeminar(sig);
  recording.listen(sig);
  sig.on('media', (m) => { cc.media = { camera: !!m.camera, screen: !!m.screen, mic: !!m.mic }; });
  sig.on('transport', (m) => {
    if (m.for === 'subscribe') { onSubTransport(m); return; }
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

async function createLesson(title, name, kind = 'lesson') {
  clearError();
  setState('connecting');
  resetSeminar();
  cc.kind = kind;
  // A seminar starts with the waiting room on (the `lesson` that follows
  // says so too).
  cc.settings.waitingRoom = kind === 'seminar';
  try {
    const sig = await openSignal();
    const msg = { type: 'create', name, title };
    if (kind === 'seminar') msg.kind = 'seminar';
    const r = await sig.request(msg);
    cc.code = String(r.code);
    cc.token = r.token;
    cc.viewerToken = r.viewer_token || null;
    cc.member = r.member || null;
    cc.simulcast = r.simulcast === true;
    cc.title = typeof r.title === 'string' ? r.title : title;
    cc.teacher = name;
    cc.lessonState = cc.lessonState || 'waiting';
    reconnectAttempt = 0;
    saveSession();
    setState('joined');
    refreshLocal();
    subSync(); // guest streams the server listed while joining
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
  cc.simulcast = r.simulcast === true;
  if (typeof r.title === 'string') cc.title = r.title;
  else cc.title = session.title || '';
  if (r.teacher) cc.teacher = r.teacher;
  if (r.state) cc.lessonState = r.state;
  reconnectAttempt = 0;
  setState('joined');
  refreshLocal();
  subSync(); // guest streams the server listed while joining
  return true;
}

function onSocketLost() {
  if (cc.lessonState === 'ended' || !cc.code) return;
  cc.sig = null;
  setState('reconnecting');
  closePc();
  closeSub(); // the server closed our transports with the socket
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
  closeSub();
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
  resetSeminar();
  setState('idle');
  if (e) showError(e);
}

function onEnded() {
  dropSession();
  stopAllTracks();
  closePc();
  closeSub();
  closeDialogs();
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

// Simulcast encodings of a slot, lowest first: the server numbers the
// layers in this order (layer 0 = the first). null: the slot is sent as
// one encoding. The camera stays at 640x480 (a teacher's face does not
// need HD, and a school laptop encodes every layer): two encodings, a
// 320x240 one for weak links and the full one (Chromium sends as many
// layers as the size allows: two at 640x480). Chromium caps every screen
// layer at the lowest maxFramerate unless each says its own, hence
// maxFramerate 15 (what shareScreen asks for) on the full one: a weak
// link keeps the screen sharp at 5 frames a second before it loses
// resolution. Each layer also gets VP8's three temporal layers
// (Chromium's default for simulcast: L1T3).
function simulcastEncodings(slot) {
  if (slot === 'camera') {
    return [
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 200000 },
      { rid: 'f', maxBitrate: 1000000 },
    ];
  }
  if (slot === 'screen') {
    return [
      { rid: 'l', scaleResolutionDownBy: 2, maxBitrate: 300000, maxFramerate: 5 },
      { rid: 'f', maxBitrate: 1500000, maxFramerate: 15 },
    ];
  }
  return null;
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
// With simulcast (cc.simulcast) camera and screen go out as the encodings
// of simulcastEncodings(); they can only be given here, when the
// transceiver is made (setParameters cannot add encodings later), and stay
// with it when its track is replaced or turned off and on again.
function addSender(pc, slot, track) {
  const encodings = cc.simulcast ? simulcastEncodings(slot) : null;
  if (encodings) {
    try {
      return pc.addTransceiver(track, { direction: 'sendonly', sendEncodings: encodings });
    } catch (e) {
      console.warn(`no simulcast for the ${slot}:`, e && e.message);
    }
  }
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
// Seminars: participants, the floor, the waiting room, settings, invites,
// QR codes, chat, and the guest streams the teacher receives

const ROLES = ['teacher', 'student', 'school'];
const roleOf = (m) => (ROLES.includes(m && m.role) ? m.role : 'student');
const roleLabel = (role) => t(`sem.role.${ROLES.includes(role) ? role : 'student'}`);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(action, key, member, cls = '') {
  const b = el('button', `btn btn-small ${cls}`.trim(), t(key));
  b.type = 'button';
  b.dataset.action = action;
  b.dataset.key = key;
  if (member) b.dataset.member = member;
  return b;
}

// Everything of the previous lesson goes (a new lesson, or back to the form).
function resetSeminar() {
  closeSub();
  closeDialogs();
  cc.kind = 'lesson';
  cc.settings = { locked: false, waitingRoom: false, lastN: 2, chatStudents: true };
  cc.hands = [];
  cc.waiting = [];
  cc.left = [];
  cc.speakers = [];
  cc.invites = [];
  cc.chat = [];
  cc.streams = [];
  cc.actionError = null;
  busy.clear();
  qrShown.clear();
  for (const box of [ui.membersError, ui.settingsError, ui.invitesError, ui.chatError]) setBoxError(box, null);
  rebuildChat();
}

// An error next to what the teacher clicked: {code} (a protocol error
// code), {key} (a string of this page) or null. Kept in data-* so a change
// of language translates it again.
function setBoxError(box, err) {
  box.dataset.code = err && err.code ? err.code : '';
  box.dataset.key = err && err.key ? err.key : '';
  translateBoxError(box);
}
function translateBoxError(box) {
  const { code, key } = box.dataset;
  box.hidden = !code && !key;
  box.textContent = code ? errorText(code) : key ? t(key) : '';
}

// One teacher command; its refusal shows in `box`. key: what is busy
// meanwhile (its buttons are disabled). Resolves true when the server said ok.
async function command(box, key, msg) {
  if (!cc.sig || cc.state !== 'joined') return false;
  setBoxError(box, null);
  if (key) { busy.add(key); render(); }
  try {
    await cc.sig.request(msg);
    return true;
  } catch (e) {
    const code = e instanceof SignalError ? e.code : 'server_error';
    cc.actionError = { action: msg.type, code };
    cc.error = code;
    setBoxError(box, { code });
    return false;
  } finally {
    if (key) { busy.delete(key); render(); }
  }
}

// `lesson` carries the seminar settings (and the kind).
function onLessonFields(m) {
  if (m.kind === 'seminar' || m.kind === 'lesson') {
    if (cc.kind !== m.kind) { cc.kind = m.kind; saveSession(); }
  }
  const S = cc.settings;
  if (typeof m.locked === 'boolean') S.locked = m.locked;
  if (typeof m.waiting_room === 'boolean') S.waitingRoom = m.waiting_room;
  if (Number.isInteger(m.last_n)) S.lastN = m.last_n;
  if (typeof m.chat_students === 'boolean') S.chatStudents = m.chat_students;
}

// What `members` says about hands, the waiting room and speakers.
function onMembers() {
  const ms = cc.members;
  cc.waiting = ms.filter((m) => m.waiting && m.id !== cc.member);
  cc.hands = ms.filter((m) => !m.waiting && Number(m.hand) > 0)
    .sort((a, b) => Number(a.hand) - Number(b.hand))
    .map((m) => ({ id: m.id, name: m.name, role: roleOf(m), hand: Number(m.hand) }));
  if (ms.some((m) => typeof m.speaking === 'boolean')) {
    // Keep the order `speakers` gave (most recent first); add new ones.
    const now = new Set(ms.filter((m) => m.speaking).map((m) => m.id));
    const kept = cc.speakers.filter((id) => now.has(id));
    for (const id of now) if (!kept.includes(id)) kept.push(id);
    cc.speakers = kept;
  }
}

function listenSeminar(sig) {
  sig.on('speakers', (m) => {
    cc.speakers = Array.isArray(m.members) ? m.members.map(String) : [];
    renderMembers();
    renderGuests();
  });
  sig.on('streams', (m) => {
    cc.streams = Array.isArray(m.streams)
      ? m.streams.filter((x) => x && typeof x.id === 'string' && typeof x.member === 'string') : [];
    subSync();
    renderMembers(); // a member's Mute button follows its microphone
  });
  sig.on('invites', (m) => { setInvites(m.invites); saveSession(); renderInvites(); });
  sig.on('invite', (m) => { if (m.invite) { upsertInvite(m.invite); saveSession(); renderInvites(); } });
  sig.on('chat', (m) => addChat(m));
  sig.on('chat_history', (m) => {
    cc.chat = (Array.isArray(m.messages) ? m.messages : []).filter(chatOk).map(normChat).slice(-CHAT_KEEP);
    rebuildChat();
  });
  // Another teacher window may mute this teacher's microphone.
  sig.on('muted', (m) => showNotice(m.muted ? 'sem.you_muted' : 'sem.you_unmuted'));
}

function renderSeminar() {
  const ended = cc.lessonState === 'ended';
  ui.invitesCard.hidden = cc.kind !== 'seminar' || ended;
  ui.settingsCard.hidden = ended;
  renderSettings();
  renderInvites();
  renderChatState();
  renderGuests();
}

function onSeminarLang() {
  for (const box of [ui.membersError, ui.settingsError, ui.invitesError, ui.chatError]) translateBoxError(box);
  rebuildChat(); // role names and times
  if (dialogMember && ui.floorDialog.open) openFloorDialog(cc.members.find((m) => m.id === dialogMember), true);
  if (dialogMember && ui.removeDialog.open) openRemoveDialog(cc.members.find((m) => m.id === dialogMember), true);
  render();
}

// ---- Participants

// Keeps container's children in the order of items, one element per id:
// elements are updated in place (a button under the finger is not
// replaced when a `members` or `speakers` message arrives).
function syncList(container, els, items, make, update) {
  const seen = new Set();
  let prev = null;
  for (const item of items) {
    let e = els.get(item.id);
    if (!e) { e = make(item); els.set(item.id, e); }
    update(e, item);
    seen.add(item.id);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (e.li !== want) container.insertBefore(e.li, want);
    prev = e.li;
  }
  for (const [id, e] of els) if (!seen.has(id)) { e.li.remove(); els.delete(id); }
}

// Buttons of a row, rebuilt only when the set of actions changes.
function setActions(box, acts, member) {
  const sig = acts.map((a) => a[0]).join(' ');
  if (box.dataset.sig !== sig) {
    box.textContent = '';
    for (const [action, key, cls] of acts) box.append(button(action, key, member, cls));
    box.dataset.sig = sig;
  }
  for (const b of box.querySelectorAll('button')) {
    b.textContent = t(b.dataset.key);
    b.disabled = busy.has(member) || cc.state !== 'joined';
  }
}

function setTags(box, tags) {
  const sig = JSON.stringify(tags);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.textContent = '';
  for (const [cls, text] of tags) box.append(el('span', `tag ${cls}`, text));
}

const hasAudio = (m) => !!(m.publishing || m.muted || cc.streams.some((x) => x.member === m.id && x.kind === 'mic'));

function makeMember(m) {
  const li = el('li', 'member');
  li.dataset.id = m.id;
  // The first line is "name" then "state" (tests read "An\nWatching").
  const line = el('div', 'member-line');
  const name = el('span', 'member-name');
  const state = el('span', 'member-state');
  line.append(name, state);
  const tags = el('div', 'member-tags');
  const actions = el('div', 'member-actions');
  li.append(line, tags, actions);
  return { li, name, state, tags, actions };
}

function updateMember(e, m) {
  const role = roleOf(m);
  const speaking = cc.speakers.includes(m.id);
  const hand = Number(m.hand) || 0;
  const d = e.li.dataset;
  d.role = role;
  d.watching = String(!!m.watching);
  d.weak = String(!!(m.watching && m.weak_link));
  // One word with a colour and a symbol (style.css: .member[data-state]).
  const st = memberState(m);
  d.state = role === 'teacher' ? 'teacher' : st;
  d.speaking = String(speaking);
  d.latest = String(speaking && cc.speakers[0] === m.id);
  d.hand = String(hand);
  d.floor = String(!!m.floor);
  d.muted = String(!!m.muted);
  e.name.textContent = m.name;
  e.state.textContent = role === 'teacher' ? t('sem.other_tab') : stateLabel(st);
  const tags = [[`tag-role tag-${role}`, roleLabel(role)]];
  if (speaking) tags.push(['tag-speaking', t('sem.speaking')]);
  if (hand) tags.push(['tag-hand', t('sem.hand', { n: hand })]);
  if (m.floor) tags.push(['tag-floor', t(m.audience === 'teacher' ? 'sem.floor_teacher' : 'sem.floor_all')]);
  if (m.muted) tags.push(['tag-muted', t('sem.muted')]);
  setTags(e.tags, tags);
  const acts = [];
  if (role === 'student') acts.push(m.floor ? ['floor-back', 'sem.floor_back', 'btn-floor-back'] : ['floor', 'sem.floor_give', 'btn-floor']);
  if (hasAudio(m)) acts.push(m.muted ? ['unmute', 'sem.unmute', 'btn-unmute'] : ['mute', 'sem.mute', 'btn-mute']);
  if (role !== 'teacher') acts.push(['remove', 'sem.remove', 'btn-remove']);
  setActions(e.actions, acts, m.id);
}

function makeWaiting(m) {
  const li = el('li', 'member waiting-member');
  li.dataset.id = m.id;
  const line = el('div', 'member-line');
  const name = el('span', 'member-name');
  const state = el('span', 'member-role');
  line.append(name, state);
  const actions = el('div', 'member-actions');
  li.append(line, actions);
  return { li, name, state, actions };
}

function updateWaiting(e, m) {
  e.li.dataset.role = roleOf(m);
  e.name.textContent = m.name;
  e.state.textContent = roleLabel(roleOf(m));
  setActions(e.actions, [['admit', 'sem.admit', 'btn-primary btn-admit'], ['refuse', 'sem.refuse', 'btn-refuse']], m.id);
}

function renderMembers() {
  const present = cc.members.filter((m) => m.id !== cc.member && !m.waiting);
  const students = present.filter((m) => m.role !== 'teacher' && m.role !== 'school');
  const schools = present.filter((m) => m.role === 'school');
  const watching = students.filter((m) => m.watching).length;
  ui.membersCount.textContent = students.length
    ? t(students.length === 1 ? 'teacher.members_count_one' : 'teacher.members_count', { n: students.length, w: watching })
    : t('teacher.members_empty');
  ui.schoolsCount.hidden = !schools.length;
  ui.schoolsCount.textContent = schools.length
    ? t(schools.length === 1 ? 'sem.schools_count_one' : 'sem.schools_count', { n: schools.length }) : '';
  // Schools and students in the order they came; the teacher's other
  // windows last.
  const list = [...present.filter((m) => m.role !== 'teacher'), ...present.filter((m) => m.role === 'teacher')];
  syncList(ui.members, memberEls, list, makeMember, updateMember);

  syncList(ui.waiting, waitingEls, cc.waiting, makeWaiting, updateWaiting);
  ui.waitingSection.hidden = !cc.waiting.length;
  ui.admitAll.hidden = cc.waiting.length < 2;
  ui.admitAll.disabled = busy.has('admit-all') || cc.state !== 'joined';

  // Raised hands, in the order raised.
  ui.handsSection.hidden = !cc.hands.length;
  ui.hands.textContent = '';
  for (const h of cc.hands) {
    const li = el('li', 'hand-item');
    li.dataset.id = h.id;
    li.dataset.role = h.role;
    li.dataset.hand = String(h.hand);
    li.append(el('span', 'hand-name', t('sem.hands_item', { n: h.hand, name: h.name })),
      el('span', `tag tag-role tag-${h.role}`, roleLabel(h.role)));
    ui.hands.append(li);
  }
}

function memberAction(action, id) {
  const m = cc.members.find((x) => x.id === id);
  const box = ui.membersError;
  switch (action) {
    case 'floor': openFloorDialog(m); break;
    case 'floor-back': command(box, id, { type: 'floor', member: id, grant: false }); break;
    case 'mute': command(box, id, { type: 'mute', member: id, muted: true }); break;
    case 'unmute': command(box, id, { type: 'mute', member: id, muted: false }); break;
    case 'remove': openRemoveDialog(m); break;
    case 'admit': command(box, id, { type: 'admit', member: id }); break;
    case 'refuse': command(box, id, { type: 'refuse', member: id }); break;
    default: break;
  }
}

for (const list of [ui.members, ui.waiting]) {
  list.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b && !b.disabled) memberAction(b.dataset.action, b.dataset.member);
  });
}

ui.admitAll.addEventListener('click', async () => {
  busy.add('admit-all');
  render();
  try {
    for (const m of [...cc.waiting]) {
      if (!(await command(ui.membersError, m.id, { type: 'admit', member: m.id }))) break;
    }
  } finally {
    busy.delete('admit-all');
    render();
  }
});

function openModal(d) {
  if (typeof d.showModal !== 'function') return false;
  if (!d.open) { d.returnValue = ''; d.showModal(); }
  return true;
}

function openFloorDialog(m, again = false) {
  if (!m) return;
  dialogMember = m.id;
  ui.floorDialogH.textContent = t('sem.floor_dialog_h', { name: m.name });
  if (again) return;
  // Without <dialog>: the whole class sees the student.
  if (!openModal(ui.floorDialog)) command(ui.membersError, m.id, { type: 'floor', member: m.id, grant: true, audience: 'all' });
}
ui.floorDialog.addEventListener('close', () => {
  const v = ui.floorDialog.returnValue;
  const id = dialogMember;
  dialogMember = null;
  if (id && (v === 'all' || v === 'teacher')) {
    command(ui.membersError, id, { type: 'floor', member: id, grant: true, audience: v });
  }
});

function openRemoveDialog(m, again = false) {
  if (!m) return;
  dialogMember = m.id;
  ui.removeDialogH.textContent = t('sem.remove_dialog_h', { name: m.name });
  if (again) return;
  ui.removeReason.value = '';
  if (!openModal(ui.removeDialog)) command(ui.membersError, m.id, { type: 'remove', member: m.id });
  else ui.removeReason.focus();
}
ui.removeDialog.addEventListener('close', () => {
  const id = dialogMember;
  dialogMember = null;
  if (!id || ui.removeDialog.returnValue !== 'yes') return;
  const reason = ui.removeReason.value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 200);
  const msg = { type: 'remove', member: id };
  if (reason) msg.reason = reason;
  command(ui.membersError, id, msg);
});
// Enter in the reason means "Remove" (the first button of the form is Cancel).
ui.removeReason.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.isComposing) { ev.preventDefault(); ui.removeDialog.close('yes'); }
});

function closeDialogs() {
  dialogMember = null;
  for (const d of [ui.floorDialog, ui.removeDialog]) if (d.open) d.close('');
}

// ---- Lesson settings: lock, waiting room, student chat, last-N

for (let n = 0; n <= 8; n++) {
  const o = document.createElement('option');
  o.value = String(n);
  o.textContent = String(n);
  ui.lastN.append(o);
}

function renderSettings() {
  const S = cc.settings;
  const off = cc.state !== 'joined';
  const set = (box, key, on) => {
    const k = `settings:${key}`;
    if (!busy.has(k)) box.checked = on;
    box.disabled = off || busy.has(k);
  };
  set(ui.lockToggle, 'lock', S.locked);
  set(ui.waitingToggle, 'waiting_room', S.waitingRoom);
  set(ui.chatToggle, 'chat_mode', S.chatStudents);
  if (!busy.has('settings:last_n')) ui.lastN.value = String(Math.max(0, Math.min(8, S.lastN)));
  ui.lastN.disabled = off || busy.has('settings:last_n');
}

async function setting(key, msg, onOk) {
  const ok = await command(ui.settingsError, `settings:${key}`, msg);
  if (ok) onOk();
  render(); // a refusal puts the control back
}
ui.lockToggle.addEventListener('change', () => {
  const v = ui.lockToggle.checked;
  setting('lock', { type: 'lock', locked: v }, () => { cc.settings.locked = v; });
});
ui.waitingToggle.addEventListener('change', () => {
  const v = ui.waitingToggle.checked;
  setting('waiting_room', { type: 'waiting_room', on: v }, () => { cc.settings.waitingRoom = v; });
});
ui.chatToggle.addEventListener('change', () => {
  const v = ui.chatToggle.checked;
  setting('chat_mode', { type: 'chat_mode', students: v }, () => { cc.settings.chatStudents = v; });
});
ui.lastN.addEventListener('change', () => {
  const n = Number(ui.lastN.value);
  setting('last_n', { type: 'last_n', n }, () => { cc.settings.lastN = n; });
});

// ---- QR codes (GET /qr.svg): shown once the image loaded; a server
// without it (or a failure) leaves the box hidden.

function setQr(img, box, text, show = true) {
  const src = `/qr.svg?text=${encodeURIComponent(text)}`;
  if (img.dataset.src !== src) {
    img.dataset.src = src;
    img.dataset.state = 'loading';
    img.onload = () => {
      if (img.dataset.src !== src) return;
      img.dataset.state = 'ok';
      box.hidden = !(box.dataset.want !== 'false');
    };
    img.onerror = () => {
      if (img.dataset.src !== src) return;
      img.dataset.state = 'failed';
      box.hidden = true;
    };
    img.src = src;
  }
  box.dataset.want = String(show);
  box.hidden = !(show && img.dataset.state === 'ok');
}

// ---- Copying a link

async function copyText(text, input) {
  cc.copied = text;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // Plain http on a school LAN is not a secure context: no clipboard API.
    if (!input) return false;
    input.select();
    try { return document.execCommand('copy'); } catch (_) { return false; }
  }
}

function flashCopied(btn, doneKey, key) {
  btn.textContent = t(doneKey);
  btn.dataset.key = doneKey;
  setTimeout(() => { btn.dataset.key = key; btn.textContent = t(key); }, 2000);
}

// ---- Invites for schools

const inviteLink = (token) => `${location.origin}/school.html?code=${encodeURIComponent(cc.code || '')}&invite=${encodeURIComponent(token)}`;

function normInvite(iv) {
  if (!iv || typeof iv.id !== 'string' || typeof iv.token !== 'string') return null;
  return {
    id: iv.id,
    label: typeof iv.label === 'string' ? iv.label : '',
    token: iv.token,
    uses: Number.isInteger(iv.uses) ? iv.uses : 0,
  };
}
function setInvites(list) {
  cc.invites = (Array.isArray(list) ? list : []).map(normInvite).filter(Boolean);
  for (const id of [...qrShown]) if (!cc.invites.some((x) => x.id === id)) qrShown.delete(id);
}
function upsertInvite(iv) {
  const n = normInvite(iv);
  if (!n) return;
  const i = cc.invites.findIndex((x) => x.id === n.id);
  if (i >= 0) cc.invites[i] = n; else cc.invites.push(n);
}

function inviteName(iv) {
  if (iv.label) return iv.label;
  const n = /(\d+)$/.exec(iv.id);
  return t('sem.invite_n', { n: n ? n[1] : iv.id });
}

function makeInvite(iv) {
  const li = el('li', 'invite');
  li.dataset.id = iv.id;
  const head = el('div', 'invite-head');
  const name = el('span', 'invite-name');
  const uses = el('span', 'invite-uses');
  head.append(name, uses);
  const box = el('div', 'link-box');
  const link = el('input', 'input input-small invite-link');
  link.type = 'text';
  link.readOnly = true;
  const copy = button('copy', 'sem.invite_copy', null, 'btn-copy');
  box.append(link, copy);
  const actions = el('div', 'invite-actions');
  const qr = button('qr', 'sem.invite_qr', null, 'btn-qr');
  const revoke = button('revoke', 'sem.invite_revoke', null, 'btn-revoke');
  actions.append(qr, revoke);
  const qrBox = el('figure', 'qr-box invite-qr');
  qrBox.hidden = true;
  const img = el('img', 'qr');
  img.width = 176;
  img.height = 176;
  qrBox.append(img);
  li.append(head, box, actions, qrBox);
  for (const b of [copy, qr, revoke]) b.dataset.invite = iv.id;
  return { li, name, uses, link, copy, qr, revoke, qrBox, img };
}

function updateInvite(e, iv) {
  iv.link = inviteLink(iv.token);
  e.li.dataset.uses = String(iv.uses);
  e.name.textContent = inviteName(iv);
  e.uses.textContent = !iv.uses ? t('sem.invite_unused')
    : iv.uses === 1 ? t('sem.invite_uses_one') : t('sem.invite_uses', { n: iv.uses });
  if (e.link.value !== iv.link) e.link.value = iv.link;
  e.link.setAttribute('aria-label', t('sem.invite_link_label', { name: inviteName(iv) }));
  e.img.alt = t('sem.qr_invite_alt');
  const open = qrShown.has(iv.id);
  if (open) setQr(e.img, e.qrBox, iv.link, true);
  else { e.qrBox.dataset.want = 'false'; e.qrBox.hidden = true; }
  e.qr.dataset.key = open ? 'sem.invite_qr_hide' : 'sem.invite_qr';
  e.qr.setAttribute('aria-pressed', String(open));
  e.qr.disabled = open && e.img.dataset.state === 'failed';
  for (const b of [e.copy, e.qr, e.revoke]) b.textContent = t(b.dataset.key);
  e.revoke.disabled = busy.has(`invite:${iv.id}`) || cc.state !== 'joined';
}

function renderInvites() {
  syncList(ui.invites, inviteEls, cc.invites, makeInvite, updateInvite);
  ui.invitesEmpty.hidden = cc.invites.length > 0;
  ui.inviteCreate.disabled = inviteBusy || cc.state !== 'joined';
}

async function createInvite() {
  if (!cc.sig || cc.state !== 'joined' || inviteBusy) return;
  const label = ui.inviteLabel.value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().replace(/\s+/g, ' ');
  const msg = { type: 'invite_create' };
  if (label) msg.label = [...label].slice(0, 64).join('');
  const sig = cc.sig;
  inviteBusy = true;
  setBoxError(ui.invitesError, null);
  renderInvites();
  let off = null;
  try {
    // The answer is an `invite` (with our id, or without it: then the
    // request itself would only time out).
    const viaEvent = new Promise((resolve) => { off = sig.on('invite', resolve); });
    const req = sig.request(msg);
    req.catch(() => { /* answered through the event */ });
    const r = await Promise.race([req, viaEvent]);
    if (r && r.invite) upsertInvite(r.invite);
    ui.inviteLabel.value = '';
    saveSession();
  } catch (e) {
    const code = e instanceof SignalError ? e.code : 'server_error';
    cc.actionError = { action: 'invite_create', code };
    // server_busy here means the lesson has its 20 invites.
    setBoxError(ui.invitesError, code === 'server_busy' ? { key: 'sem.invites_full' } : { code });
  } finally {
    if (off) off();
    inviteBusy = false;
    renderInvites();
  }
}

ui.inviteForm.addEventListener('submit', (ev) => { ev.preventDefault(); createInvite(); });

ui.invites.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b || b.disabled) return;
  const id = b.dataset.invite;
  const iv = cc.invites.find((x) => x.id === id);
  const e = inviteEls.get(id);
  if (!iv || !e) return;
  if (b.dataset.action === 'copy') {
    if (await copyText(iv.link, e.link)) flashCopied(b, 'sem.invite_copied', 'sem.invite_copy');
  } else if (b.dataset.action === 'qr') {
    if (qrShown.has(id)) qrShown.delete(id); else qrShown.add(id);
    renderInvites();
  } else if (b.dataset.action === 'revoke') {
    if (await command(ui.invitesError, `invite:${id}`, { type: 'invite_revoke', invite: id })) {
      cc.invites = cc.invites.filter((x) => x.id !== id);
      qrShown.delete(id);
      saveSession();
    }
    renderInvites();
  }
});

// ---- Chat

const chatOk = (x) => x && typeof x.text === 'string';
function normChat(m) {
  return {
    from: typeof m.from === 'string' ? m.from : '',
    name: typeof m.name === 'string' ? m.name : '',
    role: typeof m.role === 'string' ? m.role : 'student',
    text: m.text,
    at: Number.isFinite(m.at) ? m.at : Date.now(),
  };
}

function chatTime(at) {
  try {
    return new Date(at).toLocaleTimeString(lang() === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  } catch (_) {
    return '';
  }
}

// Every text goes in with textContent: names and messages come from other
// people's browsers.
function chatItem(msg) {
  const li = el('li', 'chat-msg');
  li.dataset.role = msg.role;
  li.dataset.from = msg.from;
  if (msg.from && msg.from === cc.member) li.classList.add('mine');
  const meta = el('div', 'chat-meta');
  const time = el('time', 'chat-time', chatTime(msg.at));
  try { time.dateTime = new Date(msg.at).toISOString(); } catch (_) { /* a strange time */ }
  meta.append(el('span', 'chat-name', msg.name), el('span', `tag tag-role tag-${roleOf(msg)}`, roleLabel(msg.role)), time);
  li.append(meta, el('div', 'chat-text', msg.text));
  return li;
}

function chatAtBottom() {
  const l = ui.chatList;
  return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
}

function rebuildChat() {
  ui.chatList.textContent = '';
  for (const msg of cc.chat) ui.chatList.append(chatItem(msg));
  ui.chatList.scrollTop = ui.chatList.scrollHeight;
  renderChatState();
}

function addChat(m) {
  if (!chatOk(m)) return;
  const msg = normChat(m);
  const stick = chatAtBottom() || msg.from === cc.member;
  cc.chat.push(msg);
  ui.chatList.append(chatItem(msg));
  while (cc.chat.length > CHAT_KEEP) {
    cc.chat.shift();
    ui.chatList.firstElementChild?.remove();
  }
  if (stick) ui.chatList.scrollTop = ui.chatList.scrollHeight;
  renderChatState();
}

function renderChatState() {
  ui.chatEmpty.hidden = cc.chat.length > 0;
  ui.chatList.hidden = cc.chat.length === 0;
  ui.chatOff.hidden = cc.settings.chatStudents;
  const off = cc.state !== 'joined' || cc.lessonState === 'ended';
  ui.chatInput.disabled = off;
  ui.chatSend.disabled = off || chatBusy;
}

// Newlines stay; other control characters become spaces (the server
// refuses them).
const cleanChat = (s) => String(s).replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ').trim();

async function sendChat() {
  if (chatBusy) return;
  const text = cleanChat(ui.chatInput.value);
  if (!text) return;
  if ([...text].length > 500) { setBoxError(ui.chatError, { key: 'sem.chat_too_long' }); return; }
  chatBusy = true;
  renderChatState();
  const ok = await command(ui.chatError, null, { type: 'chat', text });
  chatBusy = false;
  if (ok) ui.chatInput.value = '';
  renderChatState();
}

ui.chatForm.addEventListener('submit', (ev) => { ev.preventDefault(); sendChat(); });
ui.chatInput.addEventListener('keydown', (ev) => {
  // Enter sends; Shift+Enter makes a new line.
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendChat(); }
});
ui.chatInput.addEventListener('input', () => { if (ui.chatError.dataset.key) setBoxError(ui.chatError, null); });

// ---- Guest streams: the subscribe connection

// The streams this page receives: schools' and speaking students' cameras
// and microphones (never the teacher's own camera / screen / mic).
function wantedStreams() {
  return cc.streams.filter((x) => (x.kind === 'camera' || x.kind === 'mic')
    && x.member !== cc.member && x.role !== 'teacher' && x.id.includes('.')).slice(0, 24);
}

function closeSub() {
  if (sub.pc) {
    const pc = sub.pc;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    try { pc.close(); } catch (_) { /* closed */ }
  }
  sub.pc = null;
  sub.answered = false;
  sub.rx.clear();
  cc.sub.pc = null;
  cc.sub.state = 'idle';
  renderGuests();
}

function newSubPc() {
  closeSub();
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  sub.pc = pc;
  cc.sub.pc = pc;
  cc.sub.state = 'connecting';
  // The first m-line carries the BUNDLE transport, and Chromium moves to a
  // new transport (every stream stalls) when it is stopped. So it is a
  // placeholder that lives as long as the connection: never named in
  // `tracks`, the server answers it inactive and keeps it in the group.
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const onState = () => {
    if (sub.pc !== pc) return;
    const s = pc.connectionState || pc.iceConnectionState;
    cc.sub.state = s;
    if (s === 'failed') restartSub(1000);
  };
  pc.onconnectionstatechange = onState;
  pc.oniceconnectionstatechange = onState;
  return pc;
}

let subRestartTimer = null;
function restartSub(ms) {
  if (subRestartTimer) return;
  subRestartTimer = setTimeout(() => {
    subRestartTimer = null;
    if (cc.state !== 'joined') return;
    closeSub();
    subSync();
  }, ms);
}

// The server closed our subscribe transport: a new one (not for the close
// of a transport our own fresh `subscribe` just replaced).
function onSubTransport(m) {
  if (m.state === 'connected') { if (sub.pc) cc.sub.state = 'connected'; return; }
  if (m.state === 'closed' && sub.pc && sub.answered && Date.now() - sub.answeredAt > 3000) restartSub(500);
}

// One negotiation at a time: a change while an offer is out sets subAgain,
// and the loop runs another round after the answer.
function subSync() {
  subAgain = true;
  if (!subLoop) {
    subLoop = (async () => {
      try {
        while (subAgain) {
          subAgain = false;
          try {
            await subOnce();
            subFailures = 0;
          } catch (e) {
            const code = e instanceof SignalError ? e.code : (e && e.message);
            console.warn('guest streams: subscribe failed:', code);
            closeSub();
            if (cc.state !== 'joined' || ['network', 'lesson_ended', 'not_joined', 'forbidden'].includes(code)) break;
            subFailures++;
            await sleep(Math.min(10000, 1000 * 2 ** Math.min(subFailures - 1, 4)));
            subAgain = true;
          }
        }
      } finally {
        subLoop = null;
      }
    })();
  }
  return subLoop;
}

async function subOnce() {
  if (cc.state !== 'joined' || !cc.sig || cc.lessonState === 'ended') { closeSub(); return; }
  const wanted = wantedStreams();
  const ids = new Set(wanted.map((x) => x.id));
  if (!ids.size) {
    // Nothing left to receive: let the connection go (the server closes
    // its side when it stops answering).
    if (sub.pc) closeSub();
    return;
  }
  if (typeof RTCPeerConnection === 'undefined') return;
  const fresh = !sub.pc || !sub.answered;
  const pc = fresh ? newSubPc() : sub.pc;
  let changed = fresh;
  for (const [id, r] of sub.rx) {
    if (ids.has(id)) continue;
    try { r.tx.stop(); } catch (_) { /* closed */ }
    sub.rx.delete(id);
    changed = true;
  }
  for (const x of wanted) {
    const r = sub.rx.get(x.id);
    if (r) { r.stream = x; continue; }
    const tx = pc.addTransceiver(x.kind === 'mic' ? 'audio' : 'video', { direction: 'recvonly' });
    sub.rx.set(x.id, { tx, stream: x });
    changed = true;
  }
  renderGuests();
  if (!changed) return;
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  if (sub.pc !== pc || !cc.sig) return;
  const tracks = {};
  for (const [id, r] of sub.rx) if (r.tx.mid !== null) tracks[r.tx.mid] = id;
  const msg = fresh
    ? { type: 'subscribe', sdp: pc.localDescription.sdp, tracks }
    : { type: 'renegotiate', for: 'subscribe', sdp: pc.localDescription.sdp, tracks };
  cc.sub.offers++;
  try {
    const r = await cc.sig.request(msg);
    if (sub.pc !== pc) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
  } catch (e) {
    if (sub.pc !== pc) return; // closed meanwhile
    if (fresh || (e instanceof SignalError && e.code === 'network')) throw e;
    // The server or the browser would not take the change: start over with
    // a new connection and a plain `subscribe` of what is wanted by then.
    console.warn('guest streams: renegotiation failed, subscribing afresh:', e && (e.code || e.message));
    closeSub();
    subAgain = true;
    return;
  }
  sub.answered = true;
  sub.answeredAt = Date.now();
  cc.sub.rounds++;
  renderGuests();
}

function memberName(id, fallback) {
  const m = cc.members.find((x) => x.id === id);
  return m && m.name ? m.name : fallback || id;
}

function playAudio(a) {
  const p = a.play();
  if (p && p.catch) p.catch(() => { soundBlocked = true; renderGuests(); });
}

// Small tiles for the cameras (labelled with the member's name), an
// <audio> for each microphone.
function renderGuests() {
  const list = [];
  for (const [id, r] of sub.rx) {
    list.push({
      stream: id, member: r.stream.member, name: memberName(r.stream.member, r.stream.name),
      role: roleOf(r.stream), kind: r.stream.kind, mid: r.tx.mid, tile: r.stream.kind === 'camera',
      track: r.tx.receiver.track,
    });
  }
  const seen = new Set();
  for (const g of list) {
    seen.add(g.stream);
    let e = guestEls.get(g.stream);
    if (!e) {
      if (g.kind === 'camera') {
        const fig = el('figure', 'tile guest-tile');
        const video = el('video');
        video.muted = true;
        video.playsInline = true;
        video.autoplay = true;
        const cap = el('figcaption');
        const name = el('span', 'guest-name');
        cap.append(name);
        fig.append(video, cap);
        ui.guestTiles.append(fig);
        e = { el: fig, video, name };
      } else {
        const a = el('audio');
        a.autoplay = true;
        ui.guestAudio.append(a);
        e = { el: a, audio: a };
      }
      guestEls.set(g.stream, e);
    }
    e.el.dataset.stream = g.stream;
    e.el.dataset.member = g.member;
    e.el.dataset.role = g.role;
    const media = e.video || e.audio;
    if (!media.srcObject || media.srcObject.getTracks()[0] !== g.track) {
      media.srcObject = new MediaStream([g.track]);
      if (e.audio) playAudio(e.audio); else e.video.play().catch(() => { /* muted autoplay */ });
    }
    if (e.video) {
      const speaking = cc.speakers.includes(g.member);
      e.el.dataset.speaking = String(speaking);
      e.el.dataset.latest = String(speaking && cc.speakers[0] === g.member);
      e.name.textContent = g.name;
      e.el.title = `${g.name} (${roleLabel(g.role)})`;
    }
    delete g.track;
  }
  for (const [id, e] of guestEls) {
    if (seen.has(id)) continue;
    const media = e.video || e.audio;
    media.srcObject = null;
    e.el.remove();
    guestEls.delete(id);
  }
  cc.guests = list;
  ui.guestsSection.hidden = list.length === 0;
  ui.guestSound.hidden = !(soundBlocked && list.some((g) => g.kind === 'mic'));
}

// Unmuting inside the tap: what browsers allow after a reload.
ui.guestSound.addEventListener('click', () => {
  soundBlocked = false;
  for (const e of guestEls.values()) if (e.audio) playAudio(e.audio);
  renderGuests();
});


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
  createLesson(title, name, ui.kindSeminar.checked ? 'seminar' : 'lesson');
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
  resetSeminar();
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
  const ok = await copyText(ui.link.value, ui.link);
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
  onSeminarLang();
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
  cc.kind = session.kind === 'seminar' ? 'seminar' : 'lesson';
  if (Array.isArray(session.invites)) setInvites(session.invites);
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
