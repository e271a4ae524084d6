// What the student page (web/js/student.js) and the school page
// (web/js/school.js) share for seminars (docs/protocol.md, "Seminars:
// schools, the floor, chat"):
//
// - joinLesson(): `join`, through the waiting room when the lesson has one
//   (`waiting` ... `joined`, or `refused`);
// - Subscriber: the page's one recvonly RTCPeerConnection: the teacher's
//   camera, screen and microphone, plus one transceiver per guest stream
//   the server lists in `streams` ("m7.camera", "m7.mic"), added and
//   stopped with `renegotiate` on the same connection. One offer at a time:
//   a change while a negotiation runs makes one more round after the answer.
//   Tracks already playing are never touched;
// - GuestMedia: a video per guest camera (shown only for the current
//   speakers, the others hidden) and an audio element per guest microphone;
// - Publisher: the page's own camera and microphone on a sendonly
//   RTCPeerConnection (`publish`, tracks camera / mic);
// - ChatPanel: `chat_history` then `chat`, rendered with textContent only;
// - recvStats(): inbound stats per guest stream id (for tests);
// - guestRoom(): the page around them, as both pages behave: joining and
//   coming back, subscribing again when video stops, the state pill and
//   the overlay, sound, the hand, the microphone switch, leaving, removed
//   and refused, the join form and the address (guestUi(), guestState():
//   the elements and the state both pages have).
//
// Only APIs iPad Safari 15+ has.

import { t, lang, apply, mountSwitch, onChange } from '../i18n.js';
import {
  Signal, SignalError, errorText, backoffMs, sleep,
  $, remember, recall, normalizeCode, isLessonCode, bindCodeInput,
} from './signal.js';
import { recordingBadge } from './recbadge.js';

export const PC_CONFIG = { iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
export const CHAT_MAX = 500;
const TEACHER_SLOTS = [['camera', 'video'], ['screen', 'video'], ['mic', 'audio']];

const superseded = () => new SignalError('superseded', 'a newer connection replaced this one');

// ---------------------------------------------------------------------------
// Joining, through the waiting room

// Sends `msg` (a `join`) on `sig` and resolves with `joined`. With the
// waiting room on, the server answers `waiting` first (onWaiting(msg) is
// called) and `joined` comes when the teacher admits; `refused` rejects
// with SignalError('refused') whose .reason is the teacher's reason. The
// socket closing meanwhile rejects with SignalError('network').
export function joinLesson(sig, msg, { onWaiting } = {}) {
  return new Promise((resolve, reject) => {
    let waiting = false;
    let done = false;
    const offs = [];
    const finish = (fn, v) => {
      if (done) return;
      done = true;
      for (const off of offs) off();
      fn(v);
    };
    const wait = (m) => {
      if (done) return;
      waiting = true;
      if (onWaiting) onWaiting(m);
    };
    offs.push(sig.on('waiting', wait));
    offs.push(sig.on('joined', (m) => finish(resolve, m)));
    offs.push(sig.on('refused', (m) => {
      const e = new SignalError('refused', 'refused by the teacher');
      e.reason = typeof m.reason === 'string' ? m.reason : '';
      finish(reject, e);
    }));
    const ws = sig.ws;
    if (ws) {
      const onClose = () => finish(reject, new SignalError('network', 'closed while joining'));
      ws.addEventListener('close', onClose);
      offs.push(() => ws.removeEventListener('close', onClose));
    }
    sig.request(msg).then((r) => {
      if (r && r.type === 'waiting') { wait(r); return; }
      finish(resolve, r);
    }, (e) => {
      // `waiting` carries no id: the request times out while the page
      // waits in the waiting room; `joined` still comes as a message.
      if (waiting && e && e.code === 'timeout') return;
      finish(reject, e);
    });
  });
}

// ---------------------------------------------------------------------------
// Subscribing: the teacher's three tracks and the guests' streams

function stopTx(tx) {
  try {
    if (typeof tx.stop === 'function') tx.stop();
    else tx.direction = 'inactive';
  } catch (_) { /* closed meanwhile */ }
}

export class Subscriber {
  // opts: getSig() -> Signal, onPc(pc), onTeacherTrack(slot, track, tx),
  // onGuestTrack(id, track, info), onGuestGone(id), onConnState(state),
  // onError(err) (a failed renegotiation: the page subscribes afresh).
  constructor(opts) {
    this.o = opts;
    this.pc = null;
    this.slotTx = {}; // camera | screen | mic -> transceiver
    this.guests = new Map(); // stream id -> {id, kind, tx}
    this.wanted = new Map(); // stream id -> entry of `streams`
    this.busy = false; // an offer is in flight
    this.dirty = false; // `streams` changed while busy
    this.held = false; // the socket is gone: no offer until open()
    this.pre = null; // prepare(): {pc, slotTx, ready} for the next open()
    this.gen = 0;
    this.rounds = 0; // answers applied (subscribe + renegotiate)
    this.renegotiations = 0;
  }

  // mid -> "camera" | "screen" | "mic" | stream id, for `tracks`.
  tracks() {
    const out = {};
    for (const [slot, tx] of Object.entries(this.slotTx)) if (tx.mid !== null) out[tx.mid] = slot;
    for (const [id, g] of this.guests) if (g.tx.mid !== null) out[g.tx.mid] = id;
    return out;
  }

  // stream id (and slot) -> mid
  mids() {
    const out = {};
    for (const [mid, id] of Object.entries(this.tracks())) out[id] = mid;
    return out;
  }

  // The socket closed: keep the connection (its pictures) but send no
  // offer on it; the next open() replaces it.
  hold() {
    this.held = true;
  }

  // The next subscription's RTCPeerConnection and offer, built ahead of
  // time (while `join` is in flight): the page's own 60-100 ms of
  // createOffer and setLocalDescription come off the wait for the first
  // picture. open() takes it when no guest stream is wanted by then (a
  // lesson's student); else it is closed and open() builds afresh.
  prepare() {
    if (this.pre) return;
    const pc = new RTCPeerConnection(PC_CONFIG);
    const slotTx = {};
    for (const [slot, kind] of TEACHER_SLOTS) slotTx[slot] = pc.addTransceiver(kind, { direction: 'recvonly' });
    const ready = pc.createOffer().then((offer) => pc.setLocalDescription(offer)).then(() => true, () => false);
    this.pre = { pc, slotTx, ready };
  }

  _dropPrepared() {
    if (!this.pre) return;
    try { this.pre.pc.close(); } catch (_) { /* ignore */ }
    this.pre = null;
  }

  close() {
    this.gen++;
    this._dropPrepared();
    const pc = this.pc;
    this.pc = null;
    this.busy = false;
    this.dirty = false;
    this.held = false;
    this.slotTx = {};
    const ids = [...this.guests.keys()];
    this.guests.clear();
    if (pc) {
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.oniceconnectionstatechange = null;
      try { pc.close(); } catch (_) { /* ignore */ }
    }
    for (const id of ids) this.o.onGuestGone?.(id);
    if (pc) this.o.onPc?.(null);
  }

  // A new RTCPeerConnection and `subscribe`: the teacher's camera, screen
  // and microphone first (so a lesson without guests offers exactly those
  // three), then every guest stream listed so far. Throws SignalError
  // (code 'superseded' if close() or another open() came meanwhile).
  async open({ onAnswer } = {}) {
    const pre = this.pre;
    this.pre = null;
    this.close();
    const gen = ++this.gen;
    const prepared = !!pre && this.wanted.size === 0;
    if (pre && !prepared) try { pre.pc.close(); } catch (_) { /* ignore */ }
    const pc = prepared ? pre.pc : new RTCPeerConnection(PC_CONFIG);
    this.pc = pc;
    this.busy = true;
    this.dirty = false;
    try {
      if (prepared) {
        this.slotTx = pre.slotTx;
      } else {
        for (const [slot, kind] of TEACHER_SLOTS) this.slotTx[slot] = pc.addTransceiver(kind, { direction: 'recvonly' });
        for (const info of this.wanted.values()) this._add(pc, info);
      }
      pc.ontrack = (ev) => {
        if (this.pc !== pc) return;
        const slot = Object.keys(this.slotTx).find((k) => this.slotTx[k] === ev.transceiver)
          || Object.keys(this.slotTx).find((k) => this.slotTx[k].mid === ev.transceiver?.mid);
        if (slot) this.o.onTeacherTrack?.(slot, ev.track, ev.transceiver);
      };
      const onState = () => {
        if (this.pc === pc) this.o.onConnState?.(pc.connectionState || pc.iceConnectionState);
      };
      pc.onconnectionstatechange = onState;
      pc.oniceconnectionstatechange = onState;
      this.o.onPc?.(pc);

      if (!prepared || !(await pre.ready) || pc.signalingState !== 'have-local-offer') {
        if (prepared && pc.signalingState !== 'stable') await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
        await pc.setLocalDescription(await pc.createOffer());
      }
      if (this.gen !== gen) throw superseded();
      const sig = this.o.getSig();
      if (!sig) throw new SignalError('network', 'not connected');
      // A new RTCPeerConnection: a plain `subscribe` (the server opens a new
      // transport and closes the member's old one).
      const r = await sig.request({ type: 'subscribe', sdp: pc.localDescription.sdp, tracks: this.tracks() });
      if (this.gen !== gen) throw superseded();
      if (onAnswer) onAnswer(r);
      await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
      if (this.gen !== gen) throw superseded();
      this.rounds++;
    } finally {
      if (this.gen === gen) this.busy = false;
    }
    this._again(gen);
    return pc;
  }

  // The guest streams this member may receive (`streams`).
  setStreams(list) {
    const next = new Map();
    for (const s of Array.isArray(list) ? list : []) {
      if (s && typeof s.id === 'string' && s.id && !next.has(s.id)) next.set(s.id, s);
    }
    this.wanted = next;
    this.kick();
  }

  // Renegotiates if what is subscribed differs from what is wanted; while
  // an offer is in flight, remembers to look again after its answer.
  kick() {
    if (!this.pc || this.held) return;
    if (this.busy) { this.dirty = true; return; }
    if (!this._differs()) return;
    this._renegotiate();
  }

  _differs() {
    for (const id of this.wanted.keys()) if (!this.guests.has(id)) return true;
    for (const id of this.guests.keys()) if (!this.wanted.has(id)) return true;
    return false;
  }

  _add(pc, info) {
    const kind = info.kind === 'mic' || /\.mic$/.test(info.id) ? 'audio' : 'video';
    const tx = pc.addTransceiver(kind, { direction: 'recvonly' });
    this.guests.set(info.id, { id: info.id, kind: kind === 'audio' ? 'mic' : 'camera', tx });
    // The receiver's track exists from now on; it plays once the server's
    // answer names the stream and packets come.
    this.o.onGuestTrack?.(info.id, tx.receiver.track, info);
  }

  async _renegotiate() {
    const pc = this.pc;
    const gen = this.gen;
    this.busy = true;
    this.dirty = false;
    try {
      for (const [id, g] of [...this.guests]) {
        if (this.wanted.has(id)) continue;
        stopTx(g.tx);
        this.guests.delete(id);
        this.o.onGuestGone?.(id);
      }
      for (const info of this.wanted.values()) if (!this.guests.has(info.id)) this._add(pc, info);
      await pc.setLocalDescription(await pc.createOffer());
      if (this.gen !== gen) return;
      const sig = this.o.getSig();
      if (!sig) throw new SignalError('network', 'not connected');
      const r = await sig.request({ type: 'renegotiate', for: 'subscribe', sdp: pc.localDescription.sdp, tracks: this.tracks() });
      if (this.gen !== gen) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
      if (this.gen !== gen) return;
      this.rounds++;
      this.renegotiations++;
    } catch (e) {
      if (this.gen !== gen) return;
      console.warn('renegotiate (subscribe) failed:', e && (e.code || e.name), e && e.message);
      try {
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      } catch (_) { /* a fresh subscribe repairs it */ }
      this.busy = false;
      this.o.onError?.(e instanceof SignalError ? e : new SignalError('bad_sdp', e && e.message));
      return;
    } finally {
      if (this.gen === gen) this.busy = false;
    }
    this._again(gen);
  }

  _again(gen) {
    if (this.gen !== gen || !this.dirty) return;
    this.dirty = false;
    this.kick();
  }
}

// Inbound stats per guest stream id (and teacher slot) of a Subscriber:
// {"m7.camera": {kind, packetsReceived, bytesReceived, framesDecoded,
// frameWidth, frameHeight, totalAudioEnergy, totalSamplesReceived,
// concealedSamples}, ...}.
export async function recvStats(sub) {
  const pc = sub && sub.pc;
  if (!pc) return {};
  const byMid = {};
  const byTrack = {};
  for (const [mid, id] of Object.entries(sub.tracks())) byMid[mid] = id;
  for (const [slot, tx] of Object.entries(sub.slotTx)) byTrack[tx.receiver.track.id] = slot;
  for (const [id, g] of sub.guests) byTrack[g.tx.receiver.track.id] = id;
  const out = {};
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const id = (s.mid !== undefined && byMid[s.mid]) || (s.trackIdentifier && byTrack[s.trackIdentifier]);
    if (!id) return;
    out[id] = {
      kind: s.kind,
      packetsReceived: s.packetsReceived || 0,
      bytesReceived: s.bytesReceived || 0,
      framesDecoded: s.framesDecoded || 0,
      frameWidth: s.frameWidth || 0,
      frameHeight: s.frameHeight || 0,
      totalAudioEnergy: s.totalAudioEnergy || 0,
      totalSamplesReceived: s.totalSamplesReceived || 0,
      concealedSamples: s.concealedSamples || 0,
      lastPacketAt: s.lastPacketReceivedTimestamp || null, // ms since 1970
    };
  });
  return out;
}

// ---------------------------------------------------------------------------
// Guest media elements

export class GuestMedia {
  // videoBox: where the camera tiles go (shown in speaker order, at most
  // maxShown); audioBox: a hidden box for the audio elements; soundOn():
  // whether audio may play unmuted; onBlocked(): a play() was refused
  // (no tap yet); selfId(): this page's own member id.
  constructor({ videoBox, audioBox, maxShown = 1, soundOn = () => true, onBlocked, selfId = () => null }) {
    this.videoBox = videoBox;
    this.audioBox = audioBox;
    this.maxShown = maxShown;
    this.soundOn = soundOn;
    this.onBlocked = onBlocked;
    this.selfId = selfId;
    this.els = {}; // stream id -> <video> / <audio> (window.cc*.guests)
    this.tiles = new Map(); // camera stream id -> <figure>
    this.info = new Map(); // stream id -> entry of `streams`
    this.speakers = [];
    this.recent = 0;
    this.shown = []; // member ids whose camera is shown, in order
  }

  // Names and roles from `streams`.
  setInfo(list) {
    this.info.clear();
    for (const s of Array.isArray(list) ? list : []) if (s && typeof s.id === 'string') this.info.set(s.id, s);
    for (const [id, tile] of this.tiles) {
      const cap = tile.querySelector('figcaption');
      if (cap) cap.textContent = this._name(id);
    }
  }

  _name(id) {
    const s = this.info.get(id);
    return (s && typeof s.name === 'string' && s.name) || id.split('.')[0];
  }

  memberName(member) {
    for (const s of this.info.values()) if (s.member === member && typeof s.name === 'string') return s.name;
    return null;
  }

  add(id, track, info) {
    if (info) this.info.set(id, info);
    const stream = new MediaStream([track]);
    let el = this.els[id];
    const audio = track.kind === 'audio';
    if (!el) {
      if (audio) {
        el = document.createElement('audio');
        el.autoplay = true;
        el.dataset.stream = id;
        this.audioBox.append(el);
      } else {
        const fig = document.createElement('figure');
        fig.className = 'g-tile';
        fig.dataset.tile = id;
        fig.dataset.member = (info && info.member) || id.split('.')[0];
        fig.hidden = true;
        el = document.createElement('video');
        el.autoplay = true;
        el.muted = true;
        el.playsInline = true;
        el.setAttribute('playsinline', '');
        el.dataset.stream = id;
        el.hidden = true;
        const cap = document.createElement('figcaption');
        cap.textContent = this._name(id);
        fig.append(el, cap);
        this.videoBox.append(fig);
        this.tiles.set(id, fig);
      }
      this.els[id] = el;
    }
    el.srcObject = stream;
    if (audio) el.muted = !this.soundOn();
    this._play(el);
    if (!audio) this.layout();
  }

  _play(el) {
    const p = el.play();
    if (p && p.catch) {
      p.catch((e) => {
        // Only the autoplay rule matters (a new srcObject aborting the
        // previous play() is not a refusal).
        if (e && e.name === 'NotAllowedError' && el.tagName === 'AUDIO' && !el.muted) {
          el.muted = true;
          if (this.onBlocked) this.onBlocked();
        }
      });
    }
  }

  remove(id) {
    const el = this.els[id];
    if (!el) return;
    delete this.els[id];
    el.srcObject = null;
    const tile = this.tiles.get(id);
    if (tile) { this.tiles.delete(id); tile.remove(); } else el.remove();
    this.layout();
  }

  clear() {
    for (const id of Object.keys(this.els)) this.remove(id);
  }

  hasAudio() { return Object.values(this.els).some((el) => el.tagName === 'AUDIO'); }

  // Unmute (or mute) every guest audio; call inside a tap to be allowed.
  setSound(on) {
    for (const el of Object.values(this.els)) {
      if (el.tagName !== 'AUDIO') continue;
      el.muted = !on;
      if (on) this._play(el);
    }
  }

  // `speakers`: the members whose cameras flow now; the first `recent` of
  // them spoke most recently (the others fill the places while fewer have
  // spoken). Without `recent`, all of them count as speakers.
  setSpeakers(members, recent) {
    this.speakers = Array.isArray(members) ? members.filter((m) => typeof m === 'string') : [];
    this.recent = Number.isInteger(recent) ? Math.max(0, Math.min(recent, this.speakers.length)) : this.speakers.length;
    this.layout();
  }

  // The first maxShown speakers whose camera this page receives are shown,
  // in speaker order; every other camera stays hidden (and keeps its track).
  layout() {
    const order = [];
    const self = this.selfId();
    for (const m of this.speakers) {
      if (order.length >= this.maxShown) break;
      if (m === self) continue;
      const tile = this.tiles.get(`${m}.camera`);
      if (tile && !order.includes(tile)) order.push(tile);
    }
    for (const [id, tile] of this.tiles) {
      const i = order.indexOf(tile);
      tile.hidden = i < 0;
      tile.style.order = i < 0 ? '' : String(i);
      // The most recent speaker's tile is the big one (style.css).
      if (i === 0) tile.dataset.rank = 'first'; else delete tile.dataset.rank;
      const v = this.els[id];
      if (v) v.hidden = i < 0;
    }
    this.shown = order.map((tile) => tile.dataset.member);
  }

  // The member who spoke last (first of the recent speakers, not this
  // page), or null.
  speaking() {
    const self = this.selfId();
    return this.speakers.slice(0, this.recent).find((m) => m !== self) || null;
  }
}

// ---------------------------------------------------------------------------
// Publishing this page's camera and microphone

const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20, max: 30 } };
const MIC = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export class Publisher {
  // opts: getSig(), preview (<video> for the local picture, muted),
  // onState(state) with state idle | opening | connecting | connected |
  // failed | media_failed.
  constructor(opts) {
    this.o = opts;
    this.stream = null;
    this.pc = null;
    this.state = 'idle';
    this.micOn = true;
    this.gen = 0;
    this.camera = null; // the local tracks
    this.mic = null;
    this.mediaError = null; // what getUserMedia said, if it failed
  }

  _set(state) {
    this.state = state;
    this.o.onState?.(state);
  }

  // Opens the camera and the microphone once (kept across reconnects and
  // new transports); with only one of them working, goes on with it.
  async acquire() {
    const live = (tr) => tr && tr.readyState === 'live';
    if (live(this.camera) || live(this.mic)) return;
    if (!navigator.mediaDevices?.getUserMedia) throw new SignalError('media', 'no getUserMedia');
    let s = null;
    this.mediaError = null;
    try {
      s = await navigator.mediaDevices.getUserMedia({ video: CAMERA, audio: MIC });
    } catch (e) {
      this.mediaError = e;
      for (const c of [{ audio: MIC }, { video: CAMERA }]) {
        try { s = await navigator.mediaDevices.getUserMedia(c); break; } catch (_) { /* next */ }
      }
    }
    if (!s) throw new SignalError('media', this.mediaError && this.mediaError.message);
    this.stream = s;
    this.camera = s.getVideoTracks()[0] || null;
    this.mic = s.getAudioTracks()[0] || null;
    if (this.mic) this.mic.enabled = this.micOn;
    const v = this.o.preview;
    if (v) {
      v.srcObject = this.camera ? new MediaStream([this.camera]) : null;
      if (this.camera) v.play().catch(() => {});
    }
  }

  // Opens the devices if needed and publishes them on a new connection.
  async start() {
    const gen = ++this.gen;
    this._set('opening');
    try {
      await this.acquire();
    } catch (e) {
      if (gen === this.gen) this._set('media_failed');
      throw e;
    }
    if (gen !== this.gen) throw superseded();
    await this._publish(gen);
  }

  async _publish(gen) {
    this._closePc();
    const pc = new RTCPeerConnection(PC_CONFIG);
    this.pc = pc;
    this._set('connecting');
    const txs = [];
    try {
      if (this.camera) {
        let tx;
        try {
          // Three temporal layers, as the teacher's camera: the server can
          // send a weak link fewer frames.
          tx = pc.addTransceiver(this.camera, { direction: 'sendonly', streams: [this.stream], sendEncodings: [{ scalabilityMode: 'L1T3' }] });
        } catch (_) {
          tx = pc.addTransceiver(this.camera, { direction: 'sendonly', streams: [this.stream] });
        }
        txs.push([tx, 'camera']);
      }
      if (this.mic) txs.push([pc.addTransceiver(this.mic, { direction: 'sendonly', streams: [this.stream] }), 'mic']);
      const onState = () => {
        if (this.pc !== pc) return;
        const s = pc.connectionState || pc.iceConnectionState;
        if (s === 'connected' || s === 'completed') this._set('connected');
        else if (s === 'failed') this._set('failed');
      };
      pc.onconnectionstatechange = onState;
      pc.oniceconnectionstatechange = onState;
      await pc.setLocalDescription(await pc.createOffer());
      if (gen !== this.gen) throw superseded();
      const tracks = {};
      for (const [tx, slot] of txs) if (tx.mid !== null) tracks[tx.mid] = slot;
      const sig = this.o.getSig();
      if (!sig) throw new SignalError('network', 'not connected');
      const r = await sig.request({ type: 'publish', sdp: pc.localDescription.sdp, tracks });
      if (gen !== this.gen) throw superseded();
      await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
      onState();
    } catch (e) {
      if (gen === this.gen) {
        this._closePc();
        this._set('failed');
      }
      throw e;
    }
  }

  setMic(on) {
    this.micOn = !!on;
    if (this.mic) this.mic.enabled = this.micOn;
  }

  _closePc() {
    const pc = this.pc;
    this.pc = null;
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.oniceconnectionstatechange = null;
      try { pc.close(); } catch (_) { /* ignore */ }
    }
  }

  // Stops sending (the devices stay open for the next transport).
  unpublish() {
    this.gen++;
    this._closePc();
    this._set('idle');
  }

  // Stops sending and closes the camera and the microphone.
  stop() {
    this.unpublish();
    if (this.stream) for (const tr of this.stream.getTracks()) tr.stop();
    this.stream = null;
    this.camera = null;
    this.mic = null;
    if (this.o.preview) this.o.preview.srcObject = null;
  }
}

// ---------------------------------------------------------------------------
// Chat

const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/g; // all but newline

export class ChatPanel {
  // ui: {list, empty, form, input, send, note, error}; request(msg) sends
  // a `chat`; selfId() this page's member id; blockedKey() -> the key of
  // the reason the page may not chat now, or null.
  constructor(ui, { request, selfId = () => null, blockedKey = () => null }) {
    this.ui = ui;
    this.request = request;
    this.selfId = selfId;
    this.blockedKey = blockedKey;
    this.messages = []; // as the server sent them (window.cc*.chat)
    this.sending = false;
    this.errorCode = null;
    this.joined = false;
    ui.input.maxLength = CHAT_MAX;
    ui.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.send(); });
    ui.input.addEventListener('input', () => { if (this.errorCode) this.showError(null); });
  }

  setHistory(list) {
    this.messages = (Array.isArray(list) ? list : []).filter((m) => m && typeof m.text === 'string').slice(-200);
    this.render();
  }

  add(m) {
    if (!m || typeof m.text !== 'string') return;
    this.messages.push(m);
    if (this.messages.length > 200) this.messages.splice(0, this.messages.length - 200);
    const list = this.ui.list;
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    if (list.children.length >= 200) list.firstElementChild.remove();
    list.append(this._item(m));
    this.ui.empty.hidden = true;
    if (atEnd || m.from === this.selfId()) list.scrollTop = list.scrollHeight;
  }

  _item(m) {
    const li = document.createElement('li');
    li.className = 'g-msg';
    const role = ['teacher', 'school', 'student'].includes(m.role) ? m.role : 'student';
    li.dataset.role = role;
    if (m.from && m.from === this.selfId()) li.dataset.own = 'true';
    const head = document.createElement('div');
    head.className = 'g-msg-head';
    const who = document.createElement('span');
    who.className = 'g-who';
    who.textContent = typeof m.name === 'string' && m.name ? m.name : String(m.from || '');
    head.append(who);
    if (role !== 'student') {
      const r = document.createElement('span');
      r.className = 'g-role';
      r.textContent = t(`guest.role.${role}`);
      head.append(r);
    }
    if (Number.isFinite(m.at)) {
      const tm = document.createElement('time');
      tm.className = 'g-time';
      const d = new Date(m.at);
      tm.dateTime = d.toISOString();
      tm.textContent = d.toLocaleTimeString(lang() === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
      head.append(tm);
    }
    const text = document.createElement('p');
    text.className = 'g-text';
    text.textContent = m.text; // never innerHTML: a message is only text
    li.append(head, text);
    return li;
  }

  render() {
    const list = this.ui.list;
    list.replaceChildren(...this.messages.map((m) => this._item(m)));
    this.ui.empty.hidden = this.messages.length > 0;
    list.scrollTop = list.scrollHeight;
    this.update();
  }

  // Enables or disables the input (not joined, or student chat off).
  update() {
    const key = this.blockedKey();
    const ui = this.ui;
    ui.input.disabled = !this.joined || !!key;
    ui.send.disabled = !this.joined || !!key || this.sending;
    ui.note.hidden = !key;
    ui.note.textContent = key ? t(key) : '';
    if (this.errorCode) ui.error.textContent = errorText(this.errorCode);
  }

  setJoined(on) {
    this.joined = on;
    this.update();
  }

  showError(code) {
    this.errorCode = code;
    this.ui.error.hidden = !code;
    this.ui.error.textContent = code ? errorText(code) : '';
  }

  async send(textIn) {
    const raw = textIn !== undefined ? String(textIn) : this.ui.input.value;
    const text = raw.replace(/\t/g, ' ').replace(CONTROL, '').trim();
    if (!text || this.sending || !this.joined || this.blockedKey()) return false;
    // maxlength counts UTF-16 units: at most 500 code points as the server counts
    const cut = Array.from(text).slice(0, CHAT_MAX).join('');
    this.sending = true;
    this.update();
    try {
      await this.request({ type: 'chat', text: cut });
      if (textIn === undefined || this.ui.input.value === raw) this.ui.input.value = '';
      this.showError(null);
      return true;
    } catch (e) {
      this.showError(e instanceof SignalError ? e.code : 'server_error');
      return false;
    } finally {
      this.sending = false;
      this.update();
    }
  }

  // Language changed: role names and times again.
  relabel() { this.render(); }
}

// ---------------------------------------------------------------------------
// The page: joining, coming back, the room's controls, the join form

export const FINAL_ERRORS = ['no_such_lesson', 'lesson_ended', 'bad_request', 'forbidden', 'bad_invite', 'lesson_locked', 'not_admitted'];

// Pill text per shown state (`${prefix}.${key}`).
const STATE_KEYS = {
  failed: 'failed', ended: 'ended', reconnecting: 'reconnecting',
  joining: 'joining', live: 'live', waiting: 'waiting', admit: 'admit_wait',
};

// The elements both pages have (web/student.html, web/school.html), plus
// the page's own `more`.
export function guestUi(more) {
  return {
    join: $('join'), joinForm: $('join-form'), codeIn: $('code'), nameIn: $('name'), formError: $('form-error'),
    room: $('room'), stage: $('stage'),
    screen: $('screen'), camera: $('camera'), audio: $('audio'),
    overlay: $('overlay'), overlayTitle: $('overlay-title'), overlaySub: $('overlay-sub'),
    overlayError: $('overlay-error'), overlayActions: $('overlay-actions'), retry: $('retry'), home: $('home'),
    sound: $('sound'), mute: $('mute'), leave: $('leave'),
    state: $('state'), stateText: $('state-text'), linkNotice: $('link-notice'),
    lessonTitle: $('lesson-title'), teacherName: $('teacher-name'),
    hand: $('hand'), handLabel: $('hand-label'), mutedNotice: $('muted-notice'), roomError: $('room-error'),
    side: $('side'), speaking: $('speaking'), speakers: $('speakers'), selfTile: $('self-tile'), self: $('self'),
    guestAudio: $('guest-audio'),
    chatList: $('chat-list'), chatEmpty: $('chat-empty'), chatNote: $('chat-note'), chatError: $('chat-error'),
    chatForm: $('chat-form'), chatInput: $('chat-input'), chatSend: $('chat-send'),
    ...more,
  };
}

// What window.ccStudent / window.ccSchool hold on both pages, plus the
// page's own `more`.
export function guestState(more) {
  return {
    // idle | joining | waiting (the waiting room) | joined | reconnecting |
    // ended | failed | refused | removed | left
    state: 'idle',
    lessonState: null, // waiting | live | ended
    error: null, // last error code
    pc: null, // the subscribe RTCPeerConnection
    ws: null, // the raw WebSocket of the current Signal
    sig: null,
    code: '', name: '', title: '', teacher: '', member: null,
    media: { camera: false, screen: false, mic: false }, // what the teacher sends
    slots: { camera: null, screen: null, mic: null }, // {mid, trackId}
    weakLink: false, // the server sends fewer camera frames: this Wi-Fi is weak
    // The pictures froze (no frame decoded for over 2 s while the teacher
    // sends video), and what the server was last told (`quality`).
    quality: { frozen: false, told: false, reports: 0 },
    kind: 'lesson', // lesson | seminar (from `lesson`)
    chatStudents: true, // students may chat (`lesson`.chat_students)
    hand: false, // this member's hand is up
    muted: false, // the teacher turned this member's microphone off
    micOn: true, // the page's own microphone switch (track.enabled)
    removed: null, // the teacher's reason ('' without one) once removed
    refused: null, // the teacher's reason ('' without one) once refused
    speakers: [], // `speakers`: member ids whose cameras flow now
    speakersRecent: 0, // the first this many of them spoke most recently
    streams: [], // `streams`: the guest streams this page may receive
    ...more,
  };
}

// Everything the two pages do alike, on the page's state `cc`
// (guestState()) and elements `ui` (guestUi()). Call boot() on the result
// once the page's own code is in place. Where the pages differ, opts says
// how:
//   prefix: 'student' | 'school': the strings `${prefix}.joining`, ...;
//   nameKey: where the name is remembered; errName: the key shown for a
//     missing name;
//   link(): the address's other parameters ({invite}), kept in the
//     address and sent with `join`; linkError(): the key of what the
//     link lacks, or null; readLink(params): reads them from the address;
//   onReload(): before joining by itself from the address;
//   mayPublish(): whether the page sends its camera and microphone now;
//   keepDevices: the camera and microphone stay open while the socket is
//     away; clearOnFail: a join failed for good clears the teacher's
//     pictures;
//   mic: {button, label, shown(joined)}: the microphone switch;
//   handHidden(): the hand button hides (besides while not joined);
//   chatBlockedKey(): why the page may not chat now, or null;
//   stall: {firstMs, next(ms), paused(), stats()}: video stopped while
//     the teacher shares it: subscribe again after firstMs, then next(ms);
//     stats() -> {camera, screen} with packetsReceived and framesDecoded
//     (also what the frozen-picture report watches);
//   on(sig): the page's own messages; onMember(): a new member id (joined
//     again): reset what the page keeps; dropFloor(): the page no longer
//     has the floor (socket lost, removed); onClose(): the subscribe
//     connection closes; beforeSubscribe() -> false: do not subscribe;
//     onAnswer(), onSubscribed(pc), onSubscribeError(code);
//     onHalt(final): a join failed; beforePublish(), onPublished(),
//     publishFailed(code) -> true if the page handled it;
//     render({joined, live}): the page's own parts.
export function guestRoom(cc, ui, o) {
  const call = (name, ...args) => (o[name] ? o[name](...args) : undefined);
  const p = o.prefix;
  const link = () => (o.link ? o.link() : {});
  const linkError = () => (o.linkError ? o.linkError() : null);

  const room = { roomError: null }; // an error code of a hand (or publish) request
  let reconnectAttempt = 0;
  let wakeLock = null;

  // -------------------------------------------------------------------------
  // Receiving: the teacher's camera, screen and microphone, plus a
  // transceiver per guest stream of `streams`

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

  // Guest cameras beside the main picture (the speakers), guest
  // microphones in hidden audio elements, muted until sound is allowed.
  const guests = new GuestMedia({
    videoBox: ui.speakers,
    audioBox: ui.guestAudio,
    maxShown: 8, /* every camera the server sends (last-N) */
    soundOn: () => cc.soundOn,
    onBlocked: () => soundBlocked(),
    selfId: () => cc.member,
  });

  let subscribing = false;
  async function subscribe() {
    if (subscribing || cc.state !== 'joined' || !cc.sig) return;
    if (call('beforeSubscribe') === false) return;
    subscribing = true;
    call('onClose');
    try {
      // Every subscribe is a new RTCPeerConnection, so always a plain
      // `subscribe`: the server opens a new transport and closes the
      // member's old one (`renegotiate` is for changes on the same one).
      const pc = await sub.open({ onAnswer: () => { cc.timing.subscribes++; call('onAnswer'); } });
      call('onSubscribed', pc);
      resetStall();
    } catch (e) {
      if ((e && e.code === 'superseded') || cc.state !== 'joined') return;
      const code = e instanceof SignalError ? e.code : 'bad_sdp';
      console.warn('subscribe failed:', code, e && e.message);
      if (code === 'lesson_ended') { onEnded(); return; }
      if (code === 'network') return; // the socket closed: reconnectLoop takes over
      call('onSubscribeError', code);
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
      // Not allowed without a tap (yet): show the button again.
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

  // Stall watchdog: the teacher shares video, the lesson is live, but no
  // video packet has arrived for a while: get a new subscribe transport.
  // The wait grows after each try and resets once video flows.
  let stallMs = 0;
  let stallLimit = o.stall.firstMs;
  let lastPackets = -1;
  function resetStall() { stallMs = 0; }
  setInterval(async () => {
    const watching = cc.state === 'joined' && cc.lessonState === 'live' && (cc.media.camera || cc.media.screen);
    if (!watching || !sub.pc || subscribing || o.stall.paused()) { stallMs = 0; return; }
    let packets = 0;
    try {
      const st = await o.stall.stats();
      packets = (st.camera?.packetsReceived || 0) + (st.screen?.packetsReceived || 0);
    } catch (_) { return; }
    if (packets !== lastPackets) {
      if (lastPackets >= 0 && packets > lastPackets) stallLimit = o.stall.firstMs;
      lastPackets = packets;
      stallMs = 0;
      return;
    }
    stallMs += 1000;
    if (stallMs >= stallLimit) {
      console.warn(`no video for ${stallMs} ms: subscribing again`);
      stallMs = 0;
      lastPackets = -1;
      stallLimit = o.stall.next(stallLimit);
      subscribe();
    }
  }, 1000);

  // Frozen pictures, told to the teacher (docs/protocol.md, "What a
  // student sees"): while the page should be playing (joined, the lesson
  // live, the teacher sending a camera or a screen, the subscribe
  // connection up, the page visible) and no video frame has been decoded
  // for over FROZEN_MS, send `quality` {frozen: true}; once frames come
  // again (or the page no longer should play), {frozen: false}. At most
  // one report a second (the server's limit is the same); the latest state
  // goes out when the second is over. A new or closed subscribe transport
  // clears the server's flag (`transport`), and the watch starts afresh.
  const FROZEN_MS = 2000;
  const q = { frames: -1, frameAt: 0, sentAt: -Infinity, busy: false };
  function qualityReset() {
    cc.quality.frozen = false;
    cc.quality.told = false;
    q.frames = -1;
  }
  setInterval(async () => {
    if (q.busy) return;
    const pc = sub.pc;
    const shouldPlay = cc.state === 'joined' && cc.lessonState === 'live' && (cc.media.camera || cc.media.screen) &&
      !!pc && pc.connectionState === 'connected' && !o.stall.paused();
    let frozen = false;
    if (shouldPlay) {
      q.busy = true;
      let frames;
      try {
        const st = await o.stall.stats();
        frames = (st.camera?.framesDecoded || 0) + (st.screen?.framesDecoded || 0);
      } catch (_) {
        return; // closed meanwhile
      } finally {
        q.busy = false;
      }
      if (sub.pc !== pc) return;
      const now = performance.now();
      if (frames !== q.frames) { q.frames = frames; q.frameAt = now; }
      frozen = now - q.frameAt > FROZEN_MS;
    } else {
      q.frames = -1;
    }
    cc.quality.frozen = frozen;
    const now = performance.now();
    if (frozen === cc.quality.told || !cc.sig || now - q.sentAt < 1000) return;
    q.sentAt = now;
    cc.quality.told = frozen;
    cc.quality.reports++;
    cc.sig.request({ type: 'quality', frozen }).catch(() => { /* told again after the next transport */ });
  }, 500); // getStats twice a second: a stop shows within FROZEN_MS + 1 s

  // -------------------------------------------------------------------------
  // Sending: the page's own camera and microphone (cc.pubPc) while
  // mayPublish()

  const publisher = new Publisher({
    getSig: () => cc.sig,
    preview: ui.self,
    onState: (s) => {
      if (s === 'failed' && o.mayPublish()) schedulePublish(1500);
      render();
    },
  });

  let publishTimer = null;
  function schedulePublish(ms) {
    if (publishTimer) return;
    publishTimer = setTimeout(() => {
      publishTimer = null;
      if (o.mayPublish()) startPublishing();
    }, ms);
  }

  async function startPublishing() {
    if (!o.mayPublish() || !cc.sig) return;
    call('beforePublish');
    try {
      publisher.setMic(cc.micOn);
      await publisher.start();
      call('onPublished');
    } catch (e) {
      const code = e instanceof SignalError ? e.code : 'bad_sdp';
      if (code === 'superseded' || code === 'network' || !o.mayPublish()) return;
      if (call('publishFailed', code)) return;
      console.warn('publish failed:', code, e && e.message);
      schedulePublish(3000);
    }
    render();
  }

  // Stops sending; keepDevices: the camera and microphone stay open (for
  // coming back), else they close too.
  function stopPublishing(keepDevices) {
    clearTimeout(publishTimer);
    publishTimer = null;
    if (keepDevices) publisher.unpublish(); else publisher.stop();
  }

  // -------------------------------------------------------------------------
  // Rendering

  function overlayKeys() {
    if (cc.state === 'removed') return [`${p}.removed_h`, null];
    if (cc.state === 'refused') return [`${p}.refused_h`, null];
    if (cc.state === 'failed') return [`${p}.failed`, null];
    if (cc.state === 'ended' || cc.lessonState === 'ended') return [`${p}.ended`, `${p}.ended_sub`];
    if (cc.state === 'reconnecting') return [`${p}.reconnecting`, `${p}.reconnecting_sub`];
    if (cc.state === 'waiting') return [`${p}.admit_wait`, `${p}.admit_wait_sub`];
    if (cc.state === 'joining' || cc.state === 'idle') return [`${p}.joining`, null];
    if (cc.lessonState === 'waiting') return [`${p}.waiting`, `${p}.waiting_sub`];
    if (!cc.media.camera && !cc.media.screen) return [`${p}.no_video`, null];
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
    ui.stateText.textContent = cc.state === 'removed' ? t(`${p}.removed_h`)
      : cc.state === 'refused' ? t(`${p}.refused_h`) : t(`${p}.${STATE_KEYS[s]}`);
    ui.state.dataset.state = s === 'admit' ? 'waiting' : s;
    ui.overlay.dataset.state = s === 'admit' ? 'waiting' : s;

    const keys = overlayKeys();
    ui.overlay.hidden = !keys;
    if (keys) {
      // Removed or refused: the teacher's own words, if any, as the second line.
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
    const final = cc.state === 'failed' || cc.state === 'removed' || cc.state === 'refused';
    ui.overlayActions.hidden = !(final || cc.state === 'ended' || cc.lessonState === 'ended');
    ui.retry.hidden = cc.state !== 'failed';

    // Screen large + camera small; no screen: camera large.
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
    ui.hand.hidden = !joined || !!call('handHidden');
    ui.hand.setAttribute('aria-pressed', String(cc.hand));
    ui.hand.classList.toggle('is-up', cc.hand);
    ui.handLabel.textContent = t(cc.hand ? 'guest.hand_down' : 'guest.hand_up');
    const mic = o.mic;
    mic.button.hidden = !mic.shown(joined);
    mic.button.disabled = cc.muted;
    mic.button.setAttribute('aria-pressed', String(cc.micOn && !cc.muted));
    mic.label.textContent = t(cc.muted ? 'guest.mic_muted' : cc.micOn ? 'guest.mic_off' : 'guest.mic_on');
    ui.mutedNotice.hidden = !(joined && cc.muted);
    ui.roomError.hidden = !(joined && room.roomError);
    ui.roomError.textContent = joined && room.roomError ? errorText(room.roomError) : '';

    call('render', { joined, live });

    const speaking = live ? guests.speaking() : null;
    const name = speaking && guests.memberName(speaking);
    ui.speaking.hidden = !name;
    ui.speaking.textContent = name ? t('guest.speaking', { name }) : '';
    chat.update();
  }

  function setState(s) { cc.state = s; render(); }

  // -------------------------------------------------------------------------
  // Joining and coming back

  async function openAndJoin() {
    // The socket opened while the form was filled in (warmUp), if it is
    // still open; else a new one. The subscription's RTCPeerConnection
    // and offer are built meanwhile (sent right after `joined`).
    let sig = null;
    const e = early;
    early = null;
    if (e && (await e.opening) && e.sig.open) sig = e.sig;
    if (!sig) {
      sig = new Signal();
      const opening = sig.connect();
      sub.prepare();
      await opening;
    }
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
      if (m.for === 'subscribe') { cc.weakLink = false; qualityReset(); render(); }
      if (m.state !== 'closed' || cc.state !== 'joined') return;
      if (m.for === 'subscribe') scheduleResubscribe(500);
      if (m.for === 'publish' && o.mayPublish()) schedulePublish(1000);
    });
    // The server thinned this page's camera to fewer frames (a weak Wi-Fi
    // link), or it is back to full rate.
    sig.on('link', (m) => { cc.weakLink = !!m.weak; render(); });
    cc.recording = recordingBadge(sig); /* the "Recording" badge (docs/recording.md) */
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
    call('on', sig);
    sig.on('muted', (m) => { cc.muted = !!m.muted; render(); });
    sig.on('removed', (m) => { if (cc.sig === sig) onRemoved(m.reason); });
    sig.onclose = () => { if (cc.sig === sig) onSocketLost(); };

    // With the rejoin secret of an earlier `joined` (a reload, a lost
    // connection, a server restart) the server brings this same member
    // back; an unknown or spent one simply joins as new.
    const secret = rejoinSecret();
    const r = await joinLesson(sig, { type: 'join', code: cc.code, name: cc.name, ...link(),
      ...(secret ? { rejoin: secret } : {}) }, {
      onWaiting: (m) => {
        if (cc.sig !== sig) return;
        if (typeof m.member === 'string') cc.member = m.member;
        if (typeof m.title === 'string') cc.title = m.title;
        keepRejoin(m.rejoin);
        setState('waiting');
      },
    });
    cc.timing.joins++;
    keepRejoin(r.rejoin);
    cc.member = r.member || null;
    // Its hand as the server has it (a member that came back keeps its
    // place); not muted until the server says `muted` (it does, right
    // after, if the teacher muted this member), no floor until `floor`.
    cc.hand = Number.isInteger(r.hand) && r.hand > 0;
    cc.muted = false;
    room.roomError = null;
    call('onMember');
    qualityReset();
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
    if (o.mayPublish()) startPublishing();
    await s;
  }

  async function start() {
    setState('joining');
    try {
      await openAndJoin();
    } catch (e) {
      if (joinFailed(e)) reconnectLoop();
    }
  }

  // A join failed: no sending, no receiving (final: the teacher's pictures
  // go too, where the page wants that).
  function halt(final) {
    stopPublishing(o.keepDevices);
    call('onClose');
    sub.close();
    if (final && o.clearOnFail) clearMedia();
  }

  // Too many wrong codes came from this network (maybe from other
  // devices): say how long to wait, and try again by itself when the wait
  // is over. The Retry button stays, so nobody is stuck.
  let tooManyTimer = null;
  function waitTooMany(e) {
    halt(false);
    const secs = Math.max(1, Math.min(600, e.retryAfter || 10));
    cc.retryAt = Date.now() + secs * 1000;
    setState('failed');
    clearTimeout(tooManyTimer);
    tooManyTimer = setTimeout(() => { if (cc.state === 'failed' && cc.error === 'too_many_tries') start(); },
      secs * 1000 + 200);
  }

  // What a failed join means; true if the page should keep trying
  // (network trouble, a busy server, a timeout).
  function joinFailed(e) {
    if (cc.sig) { cc.sig.close(); cc.sig = null; }
    const code = e instanceof SignalError ? e.code : 'server_error';
    cc.error = code;
    if (code === 'refused') { onRefused(e.reason); return false; }
    if (code === 'too_many_tries') { waitTooMany(e); return false; }
    if (code === 'lesson_ended') { onEnded(); return false; }
    if (FINAL_ERRORS.includes(code)) { halt(true); setState('failed'); return false; }
    if (cc.state !== 'reconnecting') setState('reconnecting');
    return true;
  }

  function onSocketLost() {
    if (['ended', 'left', 'failed', 'removed', 'refused'].includes(cc.state)) return;
    cc.sig = null;
    cc.ws = null;
    // Nothing more goes out on the old connections until the page is back.
    sub.hold();
    call('dropFloor');
    stopPublishing(o.keepDevices);
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
          if (!joinFailed(e)) return;
        }
      }
    } finally {
      reconnecting = false;
    }
  }
  window.addEventListener('online', () => { if (wakeUp) wakeUp(); });

  // Stops everything this page sends and receives (ended, removed,
  // refused, left).
  function stopAll() {
    clearTimeout(resubTimer);
    clearTimeout(tooManyTimer);
    resubTimer = null;
    stopPublishing(false);
    call('onClose');
    sub.close();
    guests.clear();
    clearMedia();
    chat.setJoined(false);
    releaseWake();
  }

  function onEnded() {
    dropRejoin();
    cc.lessonState = 'ended';
    stopAll();
    setState('ended');
    // The socket may stay open; the server forgets the lesson later.
  }

  // A reload must not walk straight back in: keep the code (and the
  // link), drop the name.
  function forgetName() {
    if (cc.code) history.replaceState(null, '', `?${new URLSearchParams({ code: cc.code, ...link() })}`);
  }

  // The teacher removed this member: the server closes the socket.
  function onRemoved(reason) {
    dropRejoin();
    cc.removed = typeof reason === 'string' ? reason : '';
    call('dropFloor');
    cc.state = 'removed';
    const sig = cc.sig;
    cc.sig = null;
    cc.ws = null;
    if (sig) sig.close();
    stopAll();
    forgetName();
    render();
  }

  // The teacher did not let this member in from the waiting room.
  function onRefused(reason) {
    dropRejoin();
    cc.refused = typeof reason === 'string' ? reason : '';
    cc.error = 'refused';
    cc.state = 'refused';
    if (cc.sig) { cc.sig.close(); cc.sig = null; }
    cc.ws = null;
    stopAll();
    forgetName();
    render();
  }

  // -------------------------------------------------------------------------
  // Controls: sound, the microphone, the hand, leaving, the chat

  function soundBlocked() {
    cc.soundOn = false;
    ui.audio.muted = true;
    guests.setSound(false);
    render();
  }
  ui.sound.addEventListener('click', () => {
    // Unmute inside the tap: what iPad Safari and Chrome allow.
    cc.soundOn = true;
    ui.audio.muted = false;
    const pl = ui.audio.srcObject ? ui.audio.play() : null;
    if (pl && pl.catch) pl.catch(() => soundBlocked());
    guests.setSound(true);
    render();
  });
  ui.mute.addEventListener('click', () => {
    cc.soundOn = false;
    ui.audio.muted = true;
    guests.setSound(false);
    render();
  });

  // The page's microphone switch (local: the track is enabled or not). A
  // microphone the teacher muted stays muted on the server whatever this
  // says; the button waits until the teacher turns it back on.
  function setMic(on) {
    cc.micOn = !!on;
    publisher.setMic(cc.micOn);
    render();
    return cc.micOn;
  }
  o.mic.button.addEventListener('click', () => { if (!cc.muted) setMic(!cc.micOn); });

  async function raiseHand(up) {
    if (cc.state !== 'joined' || !cc.sig) return false;
    const was = cc.hand;
    cc.hand = !!up;
    room.roomError = null;
    render();
    try {
      await cc.sig.request({ type: 'hand', up: !!up });
      return true;
    } catch (e) {
      if (cc.hand === !!up) cc.hand = was;
      room.roomError = e instanceof SignalError && e.code !== 'network' ? e.code : null;
      render();
      return false;
    }
  }
  ui.hand.addEventListener('click', () => raiseHand(!cc.hand));

  ui.leave.addEventListener('click', async () => {
    dropRejoin();
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
    blockedKey: o.chatBlockedKey,
  });

  async function keepAwake() {
    // A tablet that dims and locks, or a projector PC that blanks its
    // screen, mid-lesson: ask to stay on where the browser allows it
    // (Chrome, Safari 16.4+). Optional.
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

  // For tests (and the console): live views of what the modules hold.
  Object.defineProperties(cc, {
    guests: { get: () => guests.els, enumerable: true }, // stream id -> <video> / <audio>
    shownSpeakers: { get: () => guests.shown, enumerable: true }, // members whose camera is shown
    chat: { get: () => chat.messages, enumerable: true },
    pubPc: { get: () => publisher.pc, enumerable: true },
    pubState: { get: () => publisher.state, enumerable: true },
    sub: { get: () => sub, enumerable: false },
  });
  cc.setMic = setMic;
  cc.raiseHand = raiseHand;
  cc.sendChat = (text) => chat.send(text);
  cc.recvStats = () => recvStats(sub);

  // -------------------------------------------------------------------------
  // The join form and the address

  let formErrKey = null;
  function showFormError(key, field) {
    formErrKey = key;
    ui.formError.hidden = !key;
    ui.formError.textContent = key ? t(key) : '';
    ui.codeIn.removeAttribute('aria-invalid');
    ui.nameIn.removeAttribute('aria-invalid');
    if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
  }

  // While the person types a name: the socket to the server opened and
  // the subscription's offer built (GuestMedia.prepare), so that Join has
  // only `join` and `subscribe` to send. A socket that has closed by then
  // is opened again on Join.
  let early = null; // {sig, opening: Promise<boolean>}
  function warmUp() {
    if (early) return;
    const sig = new Signal();
    early = { sig, opening: sig.connect().then(() => true, () => false) };
    sub.prepare();
  }

  function showForm() {
    warmUp();
    ui.join.hidden = false;
    ui.room.hidden = true;
    ui.codeIn.value = cc.code;
    fitCodeInput();
    ui.nameIn.value = cc.name || recall(o.nameKey);
    const linkKey = linkError();
    if (linkKey) showFormError(linkKey);
    (cc.code ? ui.nameIn : ui.codeIn).focus();
  }

  const fitCodeInput = bindCodeInput(ui.codeIn, () => { if (formErrKey && !linkError()) showFormError(null); });
  ui.nameIn.addEventListener('input', () => { if (formErrKey && !linkError()) showFormError(null); });
  ui.joinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = normalizeCode(ui.codeIn.value);
    const name = ui.nameIn.value.trim().replace(/\s+/g, ' ');
    const linkKey = linkError();
    if (linkKey) { showFormError(linkKey); return; }
    if (!isLessonCode(code)) { showFormError('index.err_code', ui.codeIn); return; }
    if (!name) { showFormError(o.errName, ui.nameIn); return; }
    showFormError(null);
    remember(o.nameKey, name);
    // Code, link and name in the address: a reload joins again by itself.
    history.replaceState(null, '', `?${new URLSearchParams({ code, ...link(), name })}`);
    enter(code, name);
  });

  function enter(code, name) {
    cc.code = code;
    cc.name = name;
    ui.join.hidden = true;
    ui.room.hidden = false;
    start();
  }

  // The rejoin secret of this tab's member, per lesson code, in
  // sessionStorage: a reload or a restarted server brings the same member
  // back (same id, name, hand), a new tab is a new member.
  const rejoinKey = () => `classcast.${p}.rejoin.${cc.code}`;
  function rejoinSecret() {
    try { return sessionStorage.getItem(rejoinKey()) || ''; } catch (_) { return ''; }
  }
  function keepRejoin(secret) {
    if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,79}$/.test(secret)) return;
    try { sessionStorage.setItem(rejoinKey(), secret); } catch (_) { /* private mode */ }
  }
  function dropRejoin() {
    try { sessionStorage.removeItem(rejoinKey()); } catch (_) { /* private mode */ }
  }

  // The page's own code is in place: show the page, and join by itself
  // when the address has what it takes.
  function boot() {
    onChange(() => {
      chat.relabel();
      render();
      if (formErrKey) ui.formError.textContent = t(formErrKey);
    });
    mountSwitch($('lang-switch'));
    apply();
    render();

    const params = new URLSearchParams(location.search);
    const code = normalizeCode(params.get('code'));
    const name = (params.get('name') || '').trim().replace(/\s+/g, ' ').slice(0, 64);
    cc.code = code;
    cc.name = name;
    call('readLink', params);
    if (code && isLessonCode(code) && !linkError() && name) {
      remember(o.nameKey, name);
      call('onReload');
      enter(code, name);
    } else {
      showForm();
    }
  }

  return Object.assign(room, {
    sub, guests, publisher, chat,
    render, setState, clearMedia, onEnded,
    startPublishing, schedulePublish, stopPublishing, boot,
  });
}
