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
// shared parts live in web/js/guest.js, with what this page and the school
// page do alike): the waiting room (`waiting` until `joined`, or
// `refused`); a hand to raise; the floor: while the teacher gives it, the
// page publishes its camera and microphone on a second RTCPeerConnection;
// the other senders' streams (`streams`) are added to the subscribe
// connection with `renegotiate`, the current speaker's camera (`speakers`)
// shown beside the main picture and every guest microphone played;
// `muted`, `removed`; the chat.
//
// Only APIs iPad Safari 15+ has: no setCodecPreferences, no
// requestVideoFrameCallback, no Insertable Streams.
//
// Tests read window.ccStudent = {pc, state, lessonState, error, media,
// slots, timing, member, hand, floor, muted, removed, refused, speakers,
// streams, guests, chat, chatStudents, pubPc, micOn, quality} and may call
// raiseHand(up), setMic(on), sendChat(text), recvStats() (guestRoom() in
// web/js/guest.js).

import { t } from '../i18n.js';
import { $ } from './signal.js';
import './strings-guest.js';
import { guestUi, guestState, guestRoom } from './guest.js';

const FLOOR_ENDED_MS = 10000;
const STALL_FIRST_MS = 6000;
const STALL_MAX_MS = 30000;

const ui = guestUi({
  soundLabel: $('sound-label'),
  floorMic: $('floor-mic'), floorMicLabel: $('floor-mic-label'), floorNotice: $('floor-notice'),
});

const cc = guestState({
  timing: { answerAt: null, firstFrame: { camera: null, screen: null }, firstFrameReceived: { camera: null, screen: null }, subscribes: 0, joins: 0 },
  soundOn: false,
  floor: null, // {audience: 'all' | 'teacher'} while the teacher gives the floor
});
window.ccStudent = cc;

let floorError = null; // a key: why the floor's camera does not go out
let floorEndedUntil = 0; // show "your turn has ended" until then

const room = guestRoom(cc, ui, {
  prefix: 'student',
  nameKey: 'classcast.name',
  errName: 'index.err_name',
  // The page's own camera and microphone go out only while it has the floor.
  mayPublish: () => !!cc.floor && cc.state === 'joined',
  keepDevices: false,
  clearOnFail: false,
  mic: { button: ui.floorMic, label: ui.floorMicLabel, shown: (joined) => !!(joined && cc.floor) },
  handHidden: () => !!cc.floor,
  chatBlockedKey: () => (cc.chatStudents === false ? 'guest.chat_off' : null),
  // Stall watchdog: the wait doubles after each try (6 s, 12 s, 24 s,
  // 30 s); nothing is watched while the tablet hides the page.
  stall: {
    firstMs: STALL_FIRST_MS,
    next: (ms) => Math.min(STALL_MAX_MS, ms * 2),
    paused: () => document.hidden,
    stats: () => videoStats(cc.pc),
  },
  on: (sig) => sig.on('floor', onFloor),
  // A new member: no hand up (guestRoom), no floor, not muted.
  onMember: () => {
    cc.floor = null;
    floorError = null;
    floorEndedUntil = 0;
    room.publisher.stop();
  },
  dropFloor: () => { cc.floor = null; },
  onClose: () => stopProbe(),
  beforeSubscribe: () => {
    if (typeof RTCPeerConnection !== 'undefined') return true;
    cc.error = 'bad_sdp';
    room.setState('failed');
    return false;
  },
  onAnswer: () => {
    cc.timing.answerAt = performance.now();
    cc.timing.firstFrame = { camera: null, screen: null };
    cc.timing.firstFrameReceived = { camera: null, screen: null };
  },
  onSubscribed: (pc) => startProbe(pc),
  onSubscribeError: (code) => { cc.error = code; },
  beforePublish: () => { floorError = null; },
  publishFailed: (code) => {
    if (code === 'media') floorError = 'student.floor_media_err';
    else if (code === 'forbidden') floorError = 'student.forbidden_publish';
    else return code === 'lesson_ended';
    room.render();
    return true;
  },
  render: renderFloor,
});

// ---------------------------------------------------------------------------
// Rendering: the floor

function renderFloor({ joined }) {
  const floor = joined && cc.floor;
  let floorKey = null;
  if (floor) {
    const { state } = room.publisher;
    floorKey = floorError || (state === 'media_failed' ? 'student.floor_media_err'
      : state === 'opening' ? 'student.floor_opening'
        : cc.floor.audience === 'teacher' ? 'student.floor_teacher' : 'student.floor_all');
  } else if (joined && floorEndedUntil > Date.now()) {
    floorKey = 'student.floor_ended';
  }
  ui.floorNotice.hidden = !floorKey;
  ui.floorNotice.textContent = floorKey ? t(floorKey) : '';
  ui.floorNotice.dataset.kind = floor ? 'floor' : 'ended';
  ui.selfTile.hidden = !(floor && room.publisher.camera);
}

// ---------------------------------------------------------------------------
// Timing the first frames

// Records how long after the subscribe answer the first frame of each video
// was shown (cc.timing.firstFrame, ms): the presentation time the video
// element reports for its first frame (requestVideoFrameCallback), which
// stays right when the page is busy; polling getStats (at most 10 s) covers
// a video the browser does not composite, and a getStats answer can come
// hundreds of milliseconds late on a busy tablet, so the earlier one counts.
let probeTimer = null;
function stopProbe() { if (probeTimer) { clearInterval(probeTimer); probeTimer = null; } }
function firstFrameAt(slot, ms) {
  const cur = cc.timing.firstFrame[slot];
  if (cur === null || ms < cur) cc.timing.firstFrame[slot] = ms;
}
function startProbe(pc) {
  stopProbe();
  const t0 = cc.timing.answerAt;
  const deadline = t0 + 10000;
  for (const slot of ['camera', 'screen']) {
    const v = ui[slot];
    if (!v || typeof v.requestVideoFrameCallback !== 'function') continue;
    v.requestVideoFrameCallback((now, meta) => {
      if (cc.pc !== pc) return;
      firstFrameAt(slot, Math.max(0, Math.round((meta.presentationTime || now) - t0)));
      // When the last packet of that frame arrived (WebRTC video only):
      // the rest is the receiver's jitter buffer and decoder.
      if (meta.receiveTime) cc.timing.firstFrameReceived[slot] = Math.round(meta.receiveTime - t0);
    });
  }
  let busy = false;
  probeTimer = setInterval(async () => {
    if (busy) return;
    if (cc.pc !== pc || performance.now() > deadline) { stopProbe(); return; }
    busy = true;
    try {
      const v = await videoStats(pc);
      const now = performance.now();
      for (const slot of ['camera', 'screen']) {
        if (cc.timing.firstFrame[slot] === null && v[slot] && v[slot].framesDecoded > 0) firstFrameAt(slot, Math.round(now - t0));
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

// ---------------------------------------------------------------------------
// Seminars: the floor

// `floor`: the teacher gives this student the floor (publish camera and
// microphone) or takes it back (the server already closed the transport).
function onFloor(m) {
  if (cc.state !== 'joined') return;
  const { publisher } = room;
  if (m.granted) {
    const was = cc.floor;
    cc.floor = { audience: m.audience === 'teacher' ? 'teacher' : 'all' };
    cc.hand = false; // the server lowered it
    floorEndedUntil = 0;
    if (!was || publisher.state === 'idle' || publisher.state === 'failed') {
      cc.micOn = true;
      publisher.setMic(true);
      room.startPublishing();
    }
  } else {
    const had = !!cc.floor;
    cc.floor = null;
    floorError = null;
    room.stopPublishing(false);
    if (had) {
      floorEndedUntil = Date.now() + FLOOR_ENDED_MS;
      setTimeout(room.render, FLOOR_ENDED_MS + 50);
    }
  }
  room.render();
}

room.boot();
