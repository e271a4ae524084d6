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
// - recvStats(): inbound stats per guest stream id (for tests).
//
// Only APIs iPad Safari 15+ has.

import { t, lang } from '../i18n.js';
import { SignalError, waitGatheringComplete, errorText } from './signal.js';

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

  close() {
    this.gen++;
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
    this.close();
    const gen = ++this.gen;
    const pc = new RTCPeerConnection(PC_CONFIG);
    this.pc = pc;
    this.busy = true;
    this.dirty = false;
    try {
      for (const [slot, kind] of TEACHER_SLOTS) this.slotTx[slot] = pc.addTransceiver(kind, { direction: 'recvonly' });
      for (const info of this.wanted.values()) this._add(pc, info);
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

      await pc.setLocalDescription(await pc.createOffer());
      await waitGatheringComplete(pc, 3000);
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
      await waitGatheringComplete(pc, 3000);
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
      await waitGatheringComplete(pc, 3000);
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
