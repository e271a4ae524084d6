// School page: a remote classroom in a seminar (docs/protocol.md,
// "Seminars: schools, the floor, chat"), usually a classroom PC driving a
// projector or a TV. Opened from the teacher's invite link
// school.html?code=<code>&invite=<token>: someone types the school's name
// and presses Join (`join` with code, name and invite).
//
// After joining (through the waiting room if the lesson has one) the page
// publishes the school's camera and microphone (`publish`, tracks camera /
// mic) on one RTCPeerConnection and subscribes on another to the teacher's
// camera, screen and microphone and to the other guests' streams
// (`streams`, added with `renegotiate`; web/js/guest.js). Layout: the
// teacher's screen (else camera) large, the current speaker's camera
// beside it, the school's own camera small, the chat below that.
//
// Coming back by itself: a closed WebSocket is retried with backoff; the
// page joins, publishes (the camera and microphone stay open) and
// subscribes again.
//
// Tests read window.ccSchool = {state, lessonState, error, member, pc,
// pubPc, pubState, slots, media, speakers, shownSpeakers, streams, guests,
// chat, chatStudents, hand, muted, removed, refused, micOn} and may call
// setMic(on), raiseHand(up), sendChat(text), recvStats().

import { t, apply, mountSwitch, onChange } from '../i18n.js';
import {
  Signal, SignalError, errorText, backoffMs, sleep,
  $, remember, recall, normalizeCode, isLessonCode, bindCodeInput,
} from './signal.js';
import './strings-guest.js';
import { joinLesson, Subscriber, GuestMedia, Publisher, ChatPanel, recvStats } from './guest.js';

const NAME_KEY = 'classcast.school';
const FINAL_ERRORS = ['no_such_lesson', 'lesson_ended', 'bad_request', 'forbidden', 'bad_invite', 'lesson_locked', 'not_admitted'];
const TOKEN_RE = /^[A-Za-z0-9_-]{1,79}$/;

const ui = {
  join: $('join'), joinForm: $('join-form'), codeIn: $('code'), nameIn: $('name'), formError: $('form-error'),
  room: $('room'), stage: $('stage'),
  screen: $('screen'), camera: $('camera'), audio: $('audio'),
  overlay: $('overlay'), overlayTitle: $('overlay-title'), overlaySub: $('overlay-sub'),
  overlayError: $('overlay-error'), overlayActions: $('overlay-actions'), retry: $('retry'), home: $('home'),
  sound: $('sound'), mute: $('mute'), leave: $('leave'),
  state: $('state'), stateText: $('state-text'), sendState: $('send-state'),
  lessonTitle: $('lesson-title'), teacherName: $('teacher-name'),
  hand: $('hand'), handLabel: $('hand-label'), mic: $('mic'), micLabel: $('mic-label'),
  selfTile: $('self-tile'), self: $('self'), selfMic: $('self-mic'),
  side: $('side'), speaking: $('speaking'), speakers: $('speakers'), guestAudio: $('guest-audio'),
  mutedNotice: $('muted-notice'), mediaNotice: $('media-notice'), mediaText: $('media-text'),
  mediaRetry: $('media-retry'), linkNotice: $('link-notice'), roomError: $('room-error'),
  chatList: $('chat-list'), chatEmpty: $('chat-empty'), chatNote: $('chat-note'), chatError: $('chat-error'),
  chatForm: $('chat-form'), chatInput: $('chat-input'), chatSend: $('chat-send'),
};

const cc = {
  // idle | joining | waiting (the waiting room) | joined | reconnecting |
  // ended | failed | refused | removed | left
  state: 'idle',
  lessonState: null, // waiting | live | ended
  error: null,
  code: '', name: '', invite: '', title: '', teacher: '', member: null,
  sig: null, ws: null, pc: null,
  media: { camera: false, screen: false, mic: false }, // what the teacher sends
  slots: { camera: null, screen: null, mic: null }, // {mid, trackId}
  kind: 'lesson',
  chatStudents: true,
  hand: false,
  muted: false, // the teacher turned the school's microphone off
  micOn: true, // the school's own microphone switch (track.enabled)
  removed: null, // the teacher's reason ('' without one) once removed
  refused: null,
  speakers: [], // `speakers`: member ids whose cameras flow now
  speakersRecent: 0, // the first this many of them spoke most recently
  streams: [],
  soundOn: true, // the Join press allows sound; a refused play() shows the button
  weakLink: false,
  timing: { joins: 0, subscribes: 0, publishes: 0 },
};
window.ccSchool = cc;

let reconnectAttempt = 0;
let roomError = null;
let wakeLock = null;

// ---------------------------------------------------------------------------
// Media: receiving, sending

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
  onError: (e) => { if (e.code !== 'network') scheduleResubscribe(1000); },
});

const guests = new GuestMedia({
  videoBox: ui.speakers,
  audioBox: ui.guestAudio,
  maxShown: 8, /* every camera the server sends (last-N) */
  soundOn: () => cc.soundOn,
  onBlocked: () => soundBlocked(),
  selfId: () => cc.member,
});

const publisher = new Publisher({
  getSig: () => cc.sig,
  preview: ui.self,
  onState: (s) => {
    if (s === 'failed' && cc.state === 'joined') schedulePublish(1500);
    render();
  },
});

let subscribing = false;
async function subscribe() {
  if (subscribing || cc.state !== 'joined' || !cc.sig) return;
  subscribing = true;
  try {
    await sub.open({ onAnswer: () => { cc.timing.subscribes++; } });
    resetStall();
  } catch (e) {
    if ((e && e.code === 'superseded') || cc.state !== 'joined') return;
    const code = e instanceof SignalError ? e.code : 'bad_sdp';
    console.warn('subscribe failed:', code, e && e.message);
    if (code === 'lesson_ended') { onEnded(); return; }
    if (code === 'network') return;
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

let mediaFailed = false; // the camera and microphone could not be opened
let publishTimer = null;
function schedulePublish(ms) {
  if (publishTimer) return;
  publishTimer = setTimeout(() => {
    publishTimer = null;
    if (cc.state === 'joined') publish();
  }, ms);
}

async function publish() {
  if (cc.state !== 'joined' || !cc.sig) return;
  mediaFailed = false;
  try {
    publisher.setMic(cc.micOn);
    await publisher.start();
    cc.timing.publishes++;
  } catch (e) {
    const code = e instanceof SignalError ? e.code : 'bad_sdp';
    if (code === 'superseded' || code === 'network' || cc.state !== 'joined') return;
    if (code === 'media') { mediaFailed = true; render(); return; }
    if (code === 'lesson_ended') { onEnded(); return; }
    console.warn('publish failed:', code, e && e.message);
    if (code === 'forbidden') { roomError = 'forbidden'; render(); return; }
    schedulePublish(3000);
  }
  render();
}

function attach(slot, track) {
  if (slot === 'mic') {
    ui.audio.srcObject = new MediaStream([track]);
    ui.audio.muted = !cc.soundOn;
    ui.audio.play().catch(() => soundBlocked());
  } else {
    const v = slot === 'camera' ? ui.camera : ui.screen;
    v.srcObject = new MediaStream([track]);
    v.play().catch(() => { /* muted + playsinline autoplay covers it */ });
  }
  render();
}

function clearMedia() {
  ui.camera.srcObject = null;
  ui.screen.srcObject = null;
  ui.audio.srcObject = null;
}

// The teacher shares video, the lesson is live, but nothing has arrived for
// a while: a new subscribe transport (10 s, then 20 s, 30 s).
let stallMs = 0;
let stallLimit = 10000;
let lastPackets = -1;
function resetStall() { stallMs = 0; }
setInterval(async () => {
  const watching = cc.state === 'joined' && cc.lessonState === 'live' && (cc.media.camera || cc.media.screen);
  if (!watching || !sub.pc || subscribing || sub.busy) { stallMs = 0; return; }
  let packets = 0;
  try {
    const st = await recvStats(sub);
    packets = (st.camera?.packetsReceived || 0) + (st.screen?.packetsReceived || 0);
  } catch (_) { return; }
  if (packets !== lastPackets) {
    if (lastPackets >= 0 && packets > lastPackets) stallLimit = 10000;
    lastPackets = packets;
    stallMs = 0;
    return;
  }
  stallMs += 1000;
  if (stallMs >= stallLimit) {
    console.warn(`no video for ${stallMs} ms: subscribing again`);
    stallMs = 0;
    lastPackets = -1;
    stallLimit = Math.min(30000, stallLimit + 10000);
    subscribe();
  }
}, 1000);

// ---------------------------------------------------------------------------
// Rendering

function overlayKeys() {
  if (cc.state === 'removed') return ['school.removed_h', null];
  if (cc.state === 'refused') return ['school.refused_h', null];
  if (cc.state === 'failed') return ['school.failed', null];
  if (cc.state === 'ended' || cc.lessonState === 'ended') return ['school.ended', 'school.ended_sub'];
  if (cc.state === 'reconnecting') return ['school.reconnecting', 'school.reconnecting_sub'];
  if (cc.state === 'waiting') return ['school.admit_wait', 'school.admit_wait_sub'];
  if (cc.state === 'joining' || cc.state === 'idle') return ['school.joining', null];
  if (cc.lessonState === 'waiting') return ['school.waiting', 'school.waiting_sub'];
  if (!cc.media.camera && !cc.media.screen) return ['school.no_video', null];
  return null;
}

function pillState() {
  if (['failed', 'removed', 'refused'].includes(cc.state)) return 'failed';
  if (cc.state === 'waiting') return 'waiting';
  if (cc.state === 'ended' || cc.lessonState === 'ended') return 'ended';
  if (cc.state === 'reconnecting') return 'reconnecting';
  if (cc.state === 'joining' || cc.state === 'idle') return 'joining';
  return cc.lessonState === 'live' ? 'live' : 'waiting';
}

function pillText() {
  switch (cc.state) {
    case 'removed': return t('school.removed_h');
    case 'refused': return t('school.refused_h');
    case 'failed': return t('school.failed');
    case 'waiting': return t('school.admit_wait');
    case 'reconnecting': return t('school.reconnecting');
    case 'joining': case 'idle': return t('school.joining');
    default:
      if (cc.state === 'ended' || cc.lessonState === 'ended') return t('school.ended');
      return t(cc.lessonState === 'live' ? 'school.live' : 'school.waiting');
  }
}

function render() {
  const s = pillState();
  ui.state.dataset.state = s;
  ui.stateText.textContent = pillText();
  ui.overlay.dataset.state = s;

  const keys = overlayKeys();
  ui.overlay.hidden = !keys;
  if (keys) {
    const reason = cc.state === 'removed' ? cc.removed : cc.state === 'refused' ? cc.refused : null;
    const subText = reason ? t('guest.reason', { reason }) : keys[1] ? t(keys[1]) : '';
    ui.overlayTitle.textContent = t(keys[0]);
    ui.overlaySub.textContent = subText;
    ui.overlaySub.hidden = !subText;
  }
  const showErr = cc.state === 'failed' && cc.error;
  ui.overlayError.hidden = !showErr;
  ui.overlayError.textContent = !showErr ? ''
    : errorText(cc.error, { seconds: Math.max(1, Math.ceil(((cc.retryAt || 0) - Date.now()) / 1000)) });
  const final = ['failed', 'removed', 'refused'].includes(cc.state);
  ui.overlayActions.hidden = !(final || cc.state === 'ended' || cc.lessonState === 'ended');
  ui.retry.hidden = cc.state !== 'failed';

  const joined = cc.state === 'joined';
  const live = joined && cc.lessonState === 'live';
  ui.stage.dataset.layout = !live ? 'none'
    : cc.media.screen ? (cc.media.camera ? 'screen-camera' : 'screen')
      : cc.media.camera ? 'camera' : 'none';

  ui.lessonTitle.textContent = cc.title || '';
  ui.teacherName.textContent = cc.teacher ? t('student.teacher', { name: cc.teacher }) : '';

  const hasAudio = live && ((!!ui.audio.srcObject && cc.media.mic) || guests.hasAudio());
  ui.sound.hidden = !(hasAudio && !cc.soundOn);
  ui.mute.hidden = !(hasAudio && cc.soundOn);
  ui.leave.hidden = final || cc.state === 'ended' || cc.state === 'left';
  ui.linkNotice.hidden = !(live && cc.weakLink);

  // The column beside the picture only while in the lesson.
  const side = joined || cc.state === 'reconnecting';
  ui.side.hidden = !side;
  ui.side.parentElement.dataset.side = side ? 'on' : 'off';

  // Hand and microphone
  ui.hand.hidden = !joined;
  ui.hand.setAttribute('aria-pressed', String(cc.hand));
  ui.hand.classList.toggle('is-up', cc.hand);
  ui.handLabel.textContent = t(cc.hand ? 'guest.hand_down' : 'guest.hand_up');
  ui.mic.hidden = !joined || !publisher.mic;
  ui.mic.disabled = cc.muted;
  const micLive = cc.micOn && !cc.muted;
  ui.mic.setAttribute('aria-pressed', String(micLive));
  ui.mic.classList.toggle('is-on', micLive);
  ui.mic.dataset.state = cc.muted ? 'muted' : cc.micOn ? 'on' : 'off';
  ui.micLabel.textContent = t(cc.muted ? 'guest.mic_muted' : cc.micOn ? 'guest.mic_off' : 'guest.mic_on');
  ui.selfMic.dataset.state = ui.mic.dataset.state;
  ui.selfMic.textContent = cc.muted ? t('guest.mic_muted') : cc.micOn ? '' : t('guest.mic_is_off');
  ui.selfMic.hidden = micLive;
  ui.mutedNotice.hidden = !(joined && cc.muted);
  ui.mutedNotice.textContent = t('school.muted');

  // Sending
  ui.selfTile.hidden = !publisher.camera;
  const partial = publisher.camera && !publisher.mic ? 'school.no_mic'
    : !publisher.camera && publisher.mic ? 'school.no_camera' : null;
  const mediaKey = mediaFailed ? 'school.media_err' : partial;
  ui.mediaNotice.hidden = !(joined && mediaKey);
  ui.mediaText.textContent = mediaKey ? t(mediaKey) : '';
  ui.mediaRetry.hidden = !mediaFailed;
  const send = joined ? publisher.state : 'idle';
  ui.sendState.dataset.state = send;
  const sendKey = { connecting: 'school.send.connecting', opening: 'school.send.connecting',
    connected: 'school.send.connected', failed: 'school.send.failed' }[send];
  ui.sendState.textContent = sendKey ? t(sendKey) : '';
  ui.sendState.hidden = !sendKey;
  ui.roomError.hidden = !(joined && roomError);
  ui.roomError.textContent = joined && roomError ? errorText(roomError) : '';

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
    cc.lessonState = m.state;
    if (typeof m.title === 'string') cc.title = m.title;
    if (typeof m.teacher === 'string') cc.teacher = m.teacher;
    if (typeof m.kind === 'string') cc.kind = m.kind;
    if (typeof m.chat_students === 'boolean') cc.chatStudents = m.chat_students;
    if (m.state === 'ended') { onEnded(); return; }
    render();
  });
  sig.on('media', (m) => {
    cc.media = { camera: !!m.camera, screen: !!m.screen, mic: !!m.mic };
    resetStall();
    render();
  });
  sig.on('transport', (m) => {
    if (m.for === 'subscribe') { cc.weakLink = false; render(); }
    if (m.state !== 'closed' || cc.state !== 'joined') return;
    if (m.for === 'subscribe') scheduleResubscribe(500);
    if (m.for === 'publish') schedulePublish(1000);
  });
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
  sig.on('muted', (m) => { cc.muted = !!m.muted; render(); });
  sig.on('removed', (m) => { if (cc.sig === sig) onRemoved(m.reason); });
  sig.onclose = () => { if (cc.sig === sig) onSocketLost(); };

  const r = await joinLesson(sig, { type: 'join', code: cc.code, name: cc.name, invite: cc.invite }, {
    onWaiting: (m) => {
      if (cc.sig !== sig) return;
      if (typeof m.member === 'string') cc.member = m.member;
      if (typeof m.title === 'string') cc.title = m.title;
      setState('waiting');
    },
  });
  cc.timing.joins++;
  cc.member = r.member || null;
  cc.hand = false;
  cc.muted = false;
  roomError = null;
  if (typeof r.title === 'string') cc.title = r.title;
  if (typeof r.teacher === 'string') cc.teacher = r.teacher;
  if (r.state) cc.lessonState = r.state;
  reconnectAttempt = 0;
  cc.error = null;
  setState('joined');
  chat.setJoined(true);
  keepAwake();
  // Receive first (the teacher's picture comes at once), send alongside.
  const s = subscribe();
  publish();
  await s;
}

async function start() {
  setState('joining');
  try {
    await openAndJoin();
  } catch (e) {
    handleJoinError(e);
  }
}

let tooManyTimer = null;
function waitTooMany(e) {
  const secs = Math.max(1, Math.min(600, e.retryAfter || 10));
  cc.retryAt = Date.now() + secs * 1000;
  setState('failed');
  clearTimeout(tooManyTimer);
  tooManyTimer = setTimeout(() => { if (cc.state === 'failed' && cc.error === 'too_many_tries') start(); },
    secs * 1000 + 200);
}

// What a failed join means; true if the page should keep trying.
function joinFailed(e) {
  if (cc.sig) { cc.sig.close(); cc.sig = null; }
  const code = e instanceof SignalError ? e.code : 'server_error';
  cc.error = code;
  if (code === 'refused') { onRefused(e.reason); return false; }
  if (code === 'too_many_tries') { stopSending(); sub.close(); waitTooMany(e); return false; }
  if (code === 'lesson_ended') { onEnded(); return false; }
  if (FINAL_ERRORS.includes(code)) { stopSending(); sub.close(); clearMedia(); setState('failed'); return false; }
  if (cc.state !== 'reconnecting') setState('reconnecting');
  return true;
}

function handleJoinError(e) {
  if (joinFailed(e)) reconnectLoop();
}

function onSocketLost() {
  if (['ended', 'left', 'failed', 'removed', 'refused'].includes(cc.state)) return;
  cc.sig = null;
  cc.ws = null;
  sub.hold();
  stopSending();
  chat.setJoined(false);
  setState('reconnecting');
  reconnectLoop();
}

let reconnecting = false;
let wakeUp = null;
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
        if (!joinFailed(e)) return;
      }
    }
  } finally {
    reconnecting = false;
  }
}
window.addEventListener('online', () => { if (wakeUp) wakeUp(); });

// Stops sending (the camera stays open for coming back).
function stopSending() {
  clearTimeout(publishTimer);
  publishTimer = null;
  publisher.unpublish();
}

// Stops everything: camera, microphone, every connection.
function stopAll() {
  clearTimeout(publishTimer);
  clearTimeout(resubTimer);
  clearTimeout(tooManyTimer);
  publishTimer = null;
  resubTimer = null;
  publisher.stop();
  sub.close();
  guests.clear();
  clearMedia();
  chat.setJoined(false);
  releaseWake();
}

function onEnded() {
  cc.lessonState = 'ended';
  stopAll();
  setState('ended');
}

function forgetName() {
  const p = new URLSearchParams({ code: cc.code });
  if (cc.invite) p.set('invite', cc.invite);
  history.replaceState(null, '', `?${p}`);
}

function onRemoved(reason) {
  cc.removed = typeof reason === 'string' ? reason : '';
  cc.state = 'removed';
  const sig = cc.sig;
  cc.sig = null;
  cc.ws = null;
  if (sig) sig.close();
  stopAll();
  forgetName();
  render();
}

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
// Controls

function soundBlocked() {
  cc.soundOn = false;
  ui.audio.muted = true;
  guests.setSound(false);
  render();
}
ui.sound.addEventListener('click', () => {
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

// The school's microphone switch (local: the track is enabled or not). A
// microphone the teacher muted stays muted on the server whatever this
// says; the button waits until the teacher turns it back on.
function setMic(on) {
  cc.micOn = !!on;
  publisher.setMic(cc.micOn);
  render();
  return cc.micOn;
}
ui.mic.addEventListener('click', () => { if (!cc.muted) setMic(!cc.micOn); });

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

ui.mediaRetry.addEventListener('click', () => { mediaFailed = false; render(); publish(); });

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

const chat = new ChatPanel({
  list: ui.chatList, empty: ui.chatEmpty, form: ui.chatForm, input: ui.chatInput,
  send: ui.chatSend, note: ui.chatNote, error: ui.chatError,
}, {
  request: (msg) => (cc.sig ? cc.sig.request(msg) : Promise.reject(new SignalError('network', 'not connected'))),
  selfId: () => cc.member,
});

async function keepAwake() {
  // A projector PC that blanks its screen mid-lesson: ask to stay on.
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

Object.defineProperties(cc, {
  guests: { get: () => guests.els, enumerable: true }, // stream id -> <video> / <audio>
  shownSpeakers: { get: () => guests.shown, enumerable: true },
  chat: { get: () => chat.messages, enumerable: true },
  pubPc: { get: () => publisher.pc, enumerable: true },
  pubState: { get: () => publisher.state, enumerable: true },
  sub: { get: () => sub, enumerable: false },
});
cc.setMic = setMic;
cc.raiseHand = raiseHand;
cc.sendChat = (text) => chat.send(text);
cc.recvStats = () => recvStats(sub);

// ---------------------------------------------------------------------------
// Start

let formErrKey = null;
function showFormError(key, field) {
  formErrKey = key;
  ui.formError.hidden = !key;
  ui.formError.textContent = key ? t(key) : '';
  ui.codeIn.removeAttribute('aria-invalid');
  ui.nameIn.removeAttribute('aria-invalid');
  if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
}

function showForm() {
  ui.join.hidden = false;
  ui.room.hidden = true;
  ui.codeIn.value = cc.code;
  fitCodeInput();
  ui.nameIn.value = cc.name || recall(NAME_KEY);
  if (!cc.invite) showFormError('school.err_link');
  (cc.code ? ui.nameIn : ui.codeIn).focus();
}

const fitCodeInput = bindCodeInput(ui.codeIn, () => { if (formErrKey && cc.invite) showFormError(null); });
ui.nameIn.addEventListener('input', () => { if (formErrKey && cc.invite) showFormError(null); });
ui.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const code = normalizeCode(ui.codeIn.value);
  const name = ui.nameIn.value.trim().replace(/\s+/g, ' ');
  if (!cc.invite) { showFormError('school.err_link'); return; }
  if (!isLessonCode(code)) { showFormError('index.err_code', ui.codeIn); return; }
  if (!name) { showFormError('school.err_name', ui.nameIn); return; }
  showFormError(null);
  remember(NAME_KEY, name);
  // Code, invite and name in the address: a reload joins again by itself.
  history.replaceState(null, '', `?${new URLSearchParams({ code, invite: cc.invite, name })}`);
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
  const invite = params.get('invite') || '';
  const name = (params.get('name') || '').trim().replace(/\s+/g, ' ').slice(0, 64);
  cc.code = code;
  cc.invite = TOKEN_RE.test(invite) ? invite : '';
  cc.name = name;
  if (code && isLessonCode(code) && cc.invite && name) {
    remember(NAME_KEY, name);
    // Reloaded in the middle of a lesson: sound may need a tap again.
    cc.soundOn = navigator.userActivation ? navigator.userActivation.hasBeenActive : false;
    enter(code, name);
  } else {
    showForm();
  }
}
