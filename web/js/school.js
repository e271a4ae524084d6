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
// subscribes again. What this page and the student page do alike is
// guestRoom() in web/js/guest.js.
//
// Tests read window.ccSchool = {state, lessonState, error, member, pc,
// pubPc, pubState, slots, media, speakers, shownSpeakers, streams, guests,
// chat, chatStudents, hand, muted, removed, refused, micOn} and may call
// setMic(on), raiseHand(up), sendChat(text), recvStats().

import { t } from '../i18n.js';
import { $ } from './signal.js';
import './strings-guest.js';
import { guestUi, guestState, guestRoom, recvStats } from './guest.js';

const TOKEN_RE = /^[A-Za-z0-9_-]{1,79}$/;

const ui = guestUi({
  sendState: $('send-state'), mic: $('mic'), micLabel: $('mic-label'), selfMic: $('self-mic'),
  mediaNotice: $('media-notice'), mediaText: $('media-text'), mediaRetry: $('media-retry'),
});

const cc = guestState({
  invite: '',
  soundOn: true, // the Join press allows sound; a refused play() shows the button
  timing: { joins: 0, subscribes: 0, publishes: 0 },
});
window.ccSchool = cc;

let mediaFailed = false; // the camera and microphone could not be opened

const room = guestRoom(cc, ui, {
  prefix: 'school',
  nameKey: 'classcast.school',
  errName: 'school.err_name',
  // The invite token: in the address, in `join`, kept when the name goes.
  link: () => (cc.invite ? { invite: cc.invite } : {}),
  linkError: () => (cc.invite ? null : 'school.err_link'),
  readLink: (params) => {
    const invite = params.get('invite') || '';
    cc.invite = TOKEN_RE.test(invite) ? invite : '';
  },
  // Reloaded in the middle of a lesson: sound may need a tap again.
  onReload: () => { cc.soundOn = navigator.userActivation ? navigator.userActivation.hasBeenActive : false; },
  // A school sends its camera and microphone all the time it is in.
  mayPublish: () => cc.state === 'joined',
  keepDevices: true,
  clearOnFail: true,
  mic: { button: ui.mic, label: ui.micLabel, shown: (joined) => joined && !!room.publisher.mic },
  // The teacher's video stalls: 10 s, then 20 s, 30 s.
  stall: {
    firstMs: 10000,
    next: (ms) => Math.min(30000, ms + 10000),
    paused: () => room.sub.busy,
    stats: () => recvStats(room.sub),
  },
  beforePublish: () => { mediaFailed = false; },
  onPublished: () => { cc.timing.publishes++; },
  publishFailed: (code) => {
    if (code === 'lesson_ended') { room.onEnded(); return true; }
    if (code === 'media') mediaFailed = true;
    else if (code === 'forbidden') room.roomError = 'forbidden';
    else return false;
    room.render();
    return true;
  },
  render: renderSending,
});

// The microphone's look, the school's own camera, what goes out.
function renderSending({ joined }) {
  const { publisher } = room;
  const micLive = cc.micOn && !cc.muted;
  ui.mic.classList.toggle('is-on', micLive);
  ui.mic.dataset.state = cc.muted ? 'muted' : cc.micOn ? 'on' : 'off';
  ui.selfMic.dataset.state = ui.mic.dataset.state;
  ui.selfMic.textContent = cc.muted ? t('guest.mic_muted') : cc.micOn ? '' : t('guest.mic_is_off');
  ui.selfMic.hidden = micLive;
  ui.mutedNotice.textContent = t('school.muted');

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
}

ui.mediaRetry.addEventListener('click', () => { mediaFailed = false; room.render(); room.startPublishing(); });

room.boot();
