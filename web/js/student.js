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
// Seminars (docs/protocol.md, "Seminars: schools, the floor, chat"; the
// shared parts live in web/js/guest.js): the waiting room (`waiting` until
// `joined`, or `refused`); a hand to raise; the floor: while the teacher
// gives it, the page publishes its camera and microphone on a second
// RTCPeerConnection; the other senders' streams (`streams`) are added to
// the subscribe connection with `renegotiate`, the current speaker's
// camera (`speakers`) shown beside the main picture and every guest
// microphone played; `muted`, `removed`; the chat.
//
// Only APIs iPad Safari 15+ has: no setCodecPreferences, no
// requestVideoFrameCallback, no Insertable Streams.
//
// Tests read window.ccStudent = {pc, state, lessonState, error, media,
// slots, timing, member, hand, floor, muted, removed, refused, speakers,
// streams, guests, chat, chatStudents, pubPc, micOn} and may call
// raiseHand(up), setMic(on), sendChat(text), recvStats() (see the end of
// the file).

import { t, apply, mountSwitch, onChange } from '../i18n.js';
import {
  Signal, SignalError, errorText, backoffMs, sleep,
  $, remember, recall, normalizeCode, isLessonCode, bindCodeInput,
} from './signal.js';
import './strings-guest.js';
import { joinLesson, Subscriber, GuestMedia, Publisher, ChatPanel, recvStats } from './guest.js';

const NAME_KEY = 'classcast.name';
const FINAL_ERRORS = ['no_such_lesson', 'lesson_ended', 'bad_request', 'forbidden', 'bad_invite', 'lesson_locked', 'not_admitted'];
const FLOOR_ENDED_MS = 10000;
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
  home: $('home'), hand: $('hand'), handLabel: $('hand-label'),
  floorMic: $('floor-mic'), floorMicLabel: $('floor-mic-label'),
  floorNotice: $('floor-notice'), mutedNotice: $('muted-notice'), roomError: $('room-error'),
  side: $('side'), speaking: $('speaking'), speakers: $('speakers'), selfTile: $('self-tile'), self: $('self'),
  guestAudio: $('guest-audio'),
  chatList: $('chat-list'), chatEmpty: $('chat-empty'), chatNote: $('chat-note'), chatError: $('chat-error'),
  chatForm: $('chat-form'), chatInput: $('chat-input'), chatSend: $('chat-send'),
};

const cc = {
  // idle | joining | waiting (the waiting room) | joined | reconnecting |
  // ended | failed | refused | removed | left
  state: 'idle',
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
  // Seminars
  kind: 'lesson', // lesson | seminar (from `lesson`)
  chatStudents: true, // students may chat (`lesson`.chat_students)
  hand: false, // this student's hand is up
  floor: null, // {audience: 'all' | 'teacher'} while the teacher gives the floor
  muted: false, // the teacher turned this member's microphone off
  micOn: true, // the microphone while it has the floor (track.enabled)
  removed: null, // the teacher's reason ('' without one) once removed
  refused: null, // the teacher's reason ('' without one) once refused
  speakers: [], // `speakers`: member ids whose cameras flow now
  speakersRecent: 0, // the first this many of them spoke most recently
  streams: [], // `streams`: the guest streams this page may receive
};
window.ccStudent = cc;

let reconnectAttempt = 0;
let wakeLock = null;

// ---------------------------------------------------------------------------
// Rendering

function overlayKeys() {
  if (cc.state === 'removed') return ['student.removed_h', null];
  if (cc.state === 'refused') return ['student.refused_h', null];
  if (cc.state === 'failed') return ['student.failed', null];
  if (cc.state === 'ended' || cc.lessonState === 'ended') return ['student.ended', 'student.ended_sub'];
  if (cc.state === 'reconnecting') return ['student.reconnecting', 'student.reconnecting_sub'];
  if (cc.state === 'waiting') return ['student.admit_wait', 'student.admit_wait_sub'];
  if (cc.state === 'joining' || cc.state === 'idle') return ['student.joining', null];
  if (cc.lessonState === 'waiting') return ['student.waiting', 'student.waiting_sub'];
  if (!cc.media.camera && !cc.media.screen) return ['student.no_video', null];
  return null;
}

function shownState() {
  if (cc.state === 'failed' || cc.state === 'removed' || cc.state === 'refused') return 'failed';
  if (cc.state === 'waiting') return 'admit';
  if (cc.state === 'ended' || cc.lessonState === 'ended') return 'ended';
  if (cc.state === 'reconnecting') return 'reconnecting';
  if (cc.state === 'joining' || cc.state === 'idle') return 'joining';
  return cc.lessonState === 'live' ? 'live' : 'waiting';
}

function render() {
  const s = shownState();
  ui.stateText.textContent = cc.state === 'removed' ? t('student.removed_h')
    : cc.state === 'refused' ? t('student.refused_h')
      : t({
        failed: 'student.failed', ended: 'student.ended', reconnecting: 'student.reconnecting',
        joining: 'student.joining', live: 'student.live', waiting: 'student.waiting', admit: 'student.admit_wait',
      }[s]);
  ui.state.dataset.state = s === 'admit' ? 'waiting' : s;
  ui.overlay.dataset.state = s === 'admit' ? 'waiting' : s;

  const keys = overlayKeys();
  ui.overlay.hidden = !keys;
  if (keys) {
    // Removed or refused: the teacher's own words, if any, as the second line.
    const reason = cc.state === 'removed' ? cc.removed : cc.state === 'refused' ? cc.refused : null;
    const sub = reason ? t('guest.reason', { reason }) : keys[1] ? t(keys[1]) : '';
    ui.overlayTitle.textContent = t(keys[0]);
    ui.overlaySub.textContent = sub;
    ui.overlaySub.hidden = !sub;
  }
  const showErr = cc.state === 'failed' && cc.error;
  ui.overlayError.hidden = !showErr;
  ui.overlayError.textContent = !showErr ? ''
    : errorText(cc.error, { seconds: Math.max(1, Math.ceil(((cc.retryAt || 0) - Date.now()) / 1000)) });
  const final = cc.state === 'failed' || cc.state === 'removed' || cc.state === 'refused';
  ui.overlayActions.hidden = !(final || cc.state === 'ended' || cc.lessonState === 'ended');
  ui.retry.hidden = cc.state !== 'failed';

  // Screen large + camera small; no screen: camera large.
  const live = cc.state === 'joined' && cc.lessonState === 'live';
  const layout = !live ? 'none'
    : cc.media.screen ? (cc.media.camera ? 'screen-camera' : 'screen')
      : cc.media.camera ? 'camera' : 'none';
  ui.stage.dataset.layout = layout;

  ui.lessonTitle.textContent = cc.title || '';
  ui.teacherName.textContent = cc.teacher ? t('student.teacher', { name: cc.teacher }) : '';

  const hasAudio = live && ((!!ui.audio.srcObject && cc.media.mic) || guests.hasAudio());
  ui.sound.hidden = !(hasAudio && !cc.soundOn);
  ui.mute.hidden = !(hasAudio && cc.soundOn);
  ui.leave.hidden = final || cc.state === 'ended' || cc.state === 'left';
  ui.linkNotice.hidden = !(live && cc.weakLink);
  renderSeminar(live);
}

// Hand, floor, microphone, speakers, chat.
function renderSeminar(live) {
  const joined = cc.state === 'joined';
  // The column beside the picture only while in the lesson.
  const side = joined || cc.state === 'reconnecting';
  ui.side.hidden = !side;
  ui.side.parentElement.dataset.side = side ? 'on' : 'off';
  ui.hand.hidden = !joined || !!cc.floor;
  ui.hand.setAttribute('aria-pressed', String(cc.hand));
  ui.hand.classList.toggle('is-up', cc.hand);
  ui.handLabel.textContent = t(cc.hand ? 'guest.hand_down' : 'guest.hand_up');

  const floor = joined && cc.floor;
  ui.floorMic.hidden = !floor;
  ui.floorMic.disabled = cc.muted;
  ui.floorMic.setAttribute('aria-pressed', String(cc.micOn && !cc.muted));
  ui.floorMicLabel.textContent = t(cc.muted ? 'guest.mic_muted' : cc.micOn ? 'guest.mic_off' : 'guest.mic_on');

  let floorKey = null;
  if (floor) {
    floorKey = floorError || (publisher.state === 'media_failed' ? 'student.floor_media_err'
      : publisher.state === 'opening' ? 'student.floor_opening'
        : cc.floor.audience === 'teacher' ? 'student.floor_teacher' : 'student.floor_all');
  } else if (joined && floorEndedUntil > Date.now()) {
    floorKey = 'student.floor_ended';
  }
  ui.floorNotice.hidden = !floorKey;
  ui.floorNotice.textContent = floorKey ? t(floorKey) : '';
  ui.floorNotice.dataset.kind = floor ? 'floor' : 'ended';
  ui.mutedNotice.hidden = !(joined && cc.muted);
  ui.roomError.hidden = !(joined && roomError);
  ui.roomError.textContent = joined && roomError ? errorText(roomError) : '';

  ui.selfTile.hidden = !(floor && publisher.camera);
  const speaking = live ? guests.speaking() : null;
  const name = speaking && guests.memberName(speaking);
  ui.speaking.hidden = !name;
  ui.speaking.textContent = name ? t('guest.speaking', { name }) : '';
  chat.update();
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
    if (typeof m.kind === 'string') cc.kind = m.kind;
    if (typeof m.chat_students === 'boolean') cc.chatStudents = m.chat_students;
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
    if (m.for === 'publish' && m.state === 'closed' && cc.state === 'joined' && cc.floor) schedulePublish(1000);
  });
  // The server thinned this student's camera to fewer frames (a weak
  // Wi-Fi link), or it is back to full rate.
  sig.on('link', (m) => { cc.weakLink = !!m.weak; render(); });
  sig.on('streams', (m) => {
    cc.streams = Array.isArray(m.streams) ? m.streams : [];
    guests.setInfo(cc.streams);
    sub.setStreams(cc.streams);
    render();
  });
  sig.on('speakers', (m) => {
    cc.speakers = Array.isArray(m.members) ? m.members : [];
    cc.speakersRecent = Number.isInteger(m.recent) ? m.recent : cc.speakers.length;
    guests.setSpeakers(cc.speakers, cc.speakersRecent);
    render();
  });
  sig.on('chat_history', (m) => chat.setHistory(m.messages));
  sig.on('chat', (m) => chat.add(m));
  sig.on('floor', onFloor);
  sig.on('muted', (m) => { cc.muted = !!m.muted; render(); });
  sig.on('removed', (m) => { if (cc.sig === sig) onRemoved(m.reason); });
  sig.onclose = () => { if (cc.sig === sig) onSocketLost(); };

  const r = await joinLesson(sig, { type: 'join', code: cc.code, name: cc.name }, {
    onWaiting: (m) => {
      if (cc.sig !== sig) return;
      if (typeof m.member === 'string') cc.member = m.member;
      if (typeof m.title === 'string') cc.title = m.title;
      setState('waiting');
    },
  });
  cc.timing.joins++;
  cc.member = r.member || null;
  // A new member: no hand up, no floor, not muted.
  resetMember();
  if (typeof r.title === 'string') cc.title = r.title;
  if (typeof r.teacher === 'string') cc.teacher = r.teacher;
  if (r.state && !cc.lessonState) cc.lessonState = r.state;
  else if (r.state) cc.lessonState = r.state;
  reconnectAttempt = 0;
  cc.error = null;
  setState('joined');
  chat.setJoined(true);
  keepAwake();
  await subscribe();
}

function resetMember() {
  cc.hand = false;
  cc.floor = null;
  cc.muted = false;
  floorError = null;
  roomError = null;
  floorEndedUntil = 0;
  publisher.stop();
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
  if (code === 'refused') { onRefused(e.reason); return; }
  if (code === 'too_many_tries') { waitTooMany(e); return; }
  if (code === 'lesson_ended') { onEnded(); return; }
  if (FINAL_ERRORS.includes(code)) { closePc(); setState('failed'); return; }
  // Network trouble, a busy server, a timeout: keep trying.
  if (cc.state !== 'reconnecting') setState('reconnecting');
  reconnectLoop();
}

function onSocketLost() {
  if (['ended', 'left', 'failed', 'removed', 'refused'].includes(cc.state)) return;
  cc.sig = null;
  cc.ws = null;
  // Nothing more goes out on the old connections until the page is back.
  sub.hold();
  cc.floor = null;
  stopPublishing();
  chat.setJoined(false);
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
        if (code === 'refused') { onRefused(e.reason); return; }
        if (code === 'too_many_tries') { waitTooMany(e); return; }
        if (code === 'lesson_ended') { onEnded(); return; }
        if (FINAL_ERRORS.includes(code)) { closePc(); setState('failed'); return; }
        if (cc.state !== 'reconnecting') setState('reconnecting');
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
  stopPublishing();
  chat.setJoined(false);
  releaseWake();
  setState('ended');
  // The socket may stay open; the server forgets the lesson later.
}

// Stops everything this page sends and receives (removed, refused, left).
function stopAll() {
  closePc();
  clearMedia();
  publisher.stop();
  guests.clear();
  chat.setJoined(false);
  releaseWake();
  clearTimeout(tooManyTimer);
  clearTimeout(publishTimer);
}

// A reload must not walk straight back in: keep the code, drop the name.
function forgetName() {
  if (cc.code) history.replaceState(null, '', `?${new URLSearchParams({ code: cc.code })}`);
}

// The teacher removed this student: the server closes the socket.
function onRemoved(reason) {
  cc.removed = typeof reason === 'string' ? reason : '';
  cc.floor = null;
  cc.state = 'removed';
  const sig = cc.sig;
  cc.sig = null;
  cc.ws = null;
  if (sig) sig.close();
  stopAll();
  forgetName();
  render();
}

// The teacher did not let this student in from the waiting room.
function onRefused(reason) {
  cc.refused = typeof reason === 'string' ? reason : '';
  cc.error = 'refused';
  cc.state = 'refused';
  if (cc.sig) { cc.sig.close(); cc.sig = null; }
  cc.ws = null;
  stopAll();
  forgetName();
  render();
}

// ---------------------------------------------------------------------------
// Subscribing

function closePc() {
  stopProbe();
  sub.close();
  cc.pc = null;
}

function clearMedia() {
  ui.camera.srcObject = null;
  ui.screen.srcObject = null;
  ui.audio.srcObject = null;
}

// The subscribe connection: the teacher's camera, screen and microphone,
// plus a transceiver per guest stream of `streams` (web/js/guest.js).
const sub = new Subscriber({
  getSig: () => cc.sig,
  onPc: (pc) => { cc.pc = pc; },
  onTeacherTrack: (slot, track, tx) => {
    cc.slots[slot] = { mid: tx.mid, trackId: track.id };
    attach(slot, track);
  },
  onGuestTrack: (id, track, info) => { guests.add(id, track, info); render(); },
  onGuestGone: (id) => { guests.remove(id); render(); },
  onConnState: (s) => { if (s === 'failed') scheduleResubscribe(0); },
  // A failed renegotiation: a new subscribe transport repairs it (the
  // socket closing is the reconnect loop's business).
  onError: (e) => { if (e.code !== 'network') scheduleResubscribe(1000); },
});

// Guest cameras beside the main picture (the current speaker), guest
// microphones in hidden audio elements, muted until the tap for sound.
const guests = new GuestMedia({
  videoBox: ui.speakers,
  audioBox: ui.guestAudio,
  maxShown: 8, /* every camera the server sends (last-N) */
  soundOn: () => cc.soundOn,
  onBlocked: () => { soundBlocked(); },
  selfId: () => cc.member,
});

let subscribing = false;
async function subscribe() {
  if (subscribing) return;
  if (cc.state !== 'joined' || !cc.sig) return;
  if (typeof RTCPeerConnection === 'undefined') { cc.error = 'bad_sdp'; setState('failed'); return; }
  subscribing = true;
  closePc();
  try {
    // Every subscribe is a new RTCPeerConnection, so always a plain
    // `subscribe`: the server opens a new transport and closes the member's
    // old one (`renegotiate` is for changes on the same connection).
    const pc = await sub.open({
      onAnswer: () => {
        cc.timing.answerAt = performance.now();
        cc.timing.firstFrame = { camera: null, screen: null };
        cc.timing.subscribes++;
      },
    });
    startProbe(pc);
    resetStall();
  } catch (e) {
    if ((e && e.code === 'superseded') || cc.state !== 'joined') return;
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
      soundBlocked();
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

function soundBlocked() {
  ui.audio.muted = true;
  cc.soundOn = false;
  guests.setSound(false);
  render();
}

ui.sound.addEventListener('click', () => {
  // Unmute inside the tap: what iPad Safari and Chrome allow.
  cc.soundOn = true;
  ui.audio.muted = false;
  const p = ui.audio.srcObject ? ui.audio.play() : null;
  if (p && p.catch) p.catch(() => soundBlocked());
  guests.setSound(true);
  render();
});
ui.mute.addEventListener('click', () => {
  cc.soundOn = false;
  ui.audio.muted = true;
  guests.setSound(false);
  render();
});

ui.leave.addEventListener('click', async () => {
  const sig = cc.sig;
  cc.state = 'left';
  stopAll();
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
// Seminars: the hand, the floor, the chat

let floorError = null; // a key: why the floor's camera does not go out
let roomError = null; // an error code of a hand or chat request
let floorEndedUntil = 0; // show "your turn has ended" until then
let publishTimer = null;

// The page's own camera and microphone while it has the floor, on their
// own RTCPeerConnection (cc.pubPc).
const publisher = new Publisher({
  getSig: () => cc.sig,
  preview: ui.self,
  onState: (s) => {
    if (s === 'failed' && cc.floor && cc.state === 'joined') schedulePublish(1500);
    render();
  },
});

function schedulePublish(ms) {
  if (publishTimer) return;
  publishTimer = setTimeout(() => {
    publishTimer = null;
    if (cc.floor && cc.state === 'joined') startPublishing();
  }, ms);
}

async function startPublishing() {
  floorError = null;
  try {
    await publisher.start();
  } catch (e) {
    const code = e instanceof SignalError ? e.code : 'bad_sdp';
    if (code === 'superseded' || code === 'network' || !cc.floor) return;
    if (code === 'media') { floorError = 'student.floor_media_err'; render(); return; }
    if (code === 'forbidden') { floorError = 'student.forbidden_publish'; render(); return; }
    if (code === 'lesson_ended') return;
    console.warn('publish failed:', code, e && e.message);
    schedulePublish(3000);
  }
  render();
}

function stopPublishing() {
  clearTimeout(publishTimer);
  publishTimer = null;
  publisher.stop();
}

// `floor`: the teacher gives this student the floor (publish camera and
// microphone) or takes it back (the server already closed the transport).
function onFloor(m) {
  if (cc.state !== 'joined') return;
  if (m.granted) {
    const was = cc.floor;
    cc.floor = { audience: m.audience === 'teacher' ? 'teacher' : 'all' };
    cc.hand = false; // the server lowered it
    floorEndedUntil = 0;
    if (!was || publisher.state === 'idle' || publisher.state === 'failed') {
      cc.micOn = true;
      publisher.setMic(true);
      startPublishing();
    }
  } else {
    const had = !!cc.floor;
    cc.floor = null;
    floorError = null;
    stopPublishing();
    if (had) {
      floorEndedUntil = Date.now() + FLOOR_ENDED_MS;
      setTimeout(render, FLOOR_ENDED_MS + 50);
    }
  }
  render();
}

async function raiseHand(up) {
  if (cc.state !== 'joined' || !cc.sig) return false;
  const was = cc.hand;
  cc.hand = !!up;
  roomError = null;
  render();
  try {
    await cc.sig.request({ type: 'hand', up: !!up });
    return true;
  } catch (e) {
    if (cc.hand === !!up) cc.hand = was;
    roomError = e instanceof SignalError && e.code !== 'network' ? e.code : null;
    render();
    return false;
  }
}
ui.hand.addEventListener('click', () => raiseHand(!cc.hand));

function setMic(on) {
  cc.micOn = !!on;
  publisher.setMic(cc.micOn);
  render();
}
ui.floorMic.addEventListener('click', () => { if (!cc.muted) setMic(!cc.micOn); });

const chat = new ChatPanel({
  list: ui.chatList, empty: ui.chatEmpty, form: ui.chatForm, input: ui.chatInput,
  send: ui.chatSend, note: ui.chatNote, error: ui.chatError,
}, {
  request: (msg) => (cc.sig ? cc.sig.request(msg) : Promise.reject(new SignalError('network', 'not connected'))),
  selfId: () => cc.member,
  blockedKey: () => (cc.chatStudents === false ? 'guest.chat_off' : null),
});

// For tests (and the console): live views of what the modules hold.
Object.defineProperties(cc, {
  guests: { get: () => guests.els, enumerable: true }, // stream id -> <video> / <audio>
  shownSpeakers: { get: () => guests.shown, enumerable: true }, // members whose camera is shown
  chat: { get: () => chat.messages, enumerable: true },
  pubPc: { get: () => publisher.pc, enumerable: true },
  pubState: { get: () => publisher.state, enumerable: true },
  sub: { get: () => sub, enumerable: false },
});
cc.raiseHand = raiseHand;
cc.setMic = setMic;
cc.sendChat = (text) => chat.send(text);
cc.recvStats = () => recvStats(sub);

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
  chat.relabel();
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
