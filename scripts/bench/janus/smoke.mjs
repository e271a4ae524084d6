// Janus VideoRoom over the HTTP API, end to end, with npm `werift` as both
// the publisher and the subscribers: the exact request sequence that
// docs/bench-janus.md describes for `classcast-loadgen --janus URL`.
//
// usage (inside the client namespace, Janus started by run-janus.sh):
//   ip netns exec cc-sub node scripts/bench/janus/smoke.mjs \
//       [--url http://10.231.0.1:8088/janus] [--subscribers 2] [--seconds 4]
//       [--verbose]   (print every long-poll event, SDP bodies elided)
//
// Prints each step, then one JSON line {"ok":true,...}. Bounded: the whole run
// stops after 45 s whatever happens; synthetic RTP is sent for --seconds.
// werift comes from tests/e2e/node_modules (scripts/install-deps.sh).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../tests/e2e/package.json', import.meta.url));
const { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader } = require('werift');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const URL_BASE = opt('url', 'http://10.231.0.1:8088/janus');
const N_SUBS = Math.max(1, Math.min(20, Number(opt('subscribers', '2'))));
const SECONDS = Math.max(1, Math.min(20, Number(opt('seconds', '4'))));
const ROOM = Number(opt('room', '1234'));
const VERBOSE = args.includes('--verbose');

const hardStop = setTimeout(() => { console.error('smoke: timed out after 45 s'); process.exit(1); }, 45_000);

let txn = 0;
const log = (...a) => console.error('smoke:', ...a);

async function post(path, body) {
  const msg = { ...body, transaction: `t${++txn}` };
  const res = await fetch(URL_BASE + path, {
    method: 'POST', body: JSON.stringify(msg),
    headers: { 'Content-Type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  const j = await res.json();
  if (j.janus === 'error') throw new Error(`${body.janus} ${path}: ${JSON.stringify(j.error)}`);
  return { txn: msg.transaction, reply: j };
}

// One long-poll reader per session: GET /janus/<session>?maxev=10 returns an
// array of events (or [{"janus":"keepalive"}] after ~30 s without any).
function eventPump(session) {
  const waiters = [];
  const backlog = [];
  let stopped = false;
  (async () => {
    while (!stopped) {
      let evs;
      try {
        const res = await fetch(`${URL_BASE}/${session}?maxev=10&rid=${Date.now()}`, { signal: AbortSignal.timeout(35_000) });
        evs = await res.json();
      } catch (e) {
        if (!stopped) log('long poll failed:', e.message);
        return;
      }
      for (const ev of Array.isArray(evs) ? evs : [evs]) {
        if (VERBOSE) log('event', JSON.stringify(ev, (k, v) => (k === 'sdp' ? `<${v.length} bytes of SDP>` : v)));
        const w = waiters.findIndex((x) => x.match(ev));
        if (w >= 0) waiters.splice(w, 1)[0].resolve(ev);
        else backlog.push(ev);
      }
    }
  })();
  return {
    wait(match, what, ms = 10_000) {
      const i = backlog.findIndex(match);
      if (i >= 0) return Promise.resolve(backlog.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
        waiters.push({ match, resolve: (ev) => { clearTimeout(t); resolve(ev); } });
      });
    },
    backlog,
    stop() { stopped = true; },
  };
}

const codecs = {
  video: [new RTCRtpCodecParameters({
    mimeType: 'video/VP8', clockRate: 90000,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
  })],
  audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
};
const newPc = () => new RTCPeerConnection({ codecs, bundlePolicy: 'max-bundle', iceUseIpv6: false });

async function gathered(pc) {
  for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++) await new Promise((r) => setTimeout(r, 50));
}
async function connected(pc, what) {
  for (let i = 0; i < 200; i++) {
    if (pc.connectionState === 'connected') return;
    if (pc.connectionState === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: PeerConnection ${pc.connectionState}`);
}

// A VP8 keyframe-looking payload: descriptor S=1, frame tag key frame,
// start code 9d 01 2a, 640x360, then filler.
function vp8Payload(size) {
  const b = Buffer.alloc(size, 0x5a);
  b[0] = 0x10; b[1] = 0x00; b[2] = 0x00; b[3] = 0x00;
  b[4] = 0x9d; b[5] = 0x01; b[6] = 0x2a;
  b.writeUInt16LE(640, 7); b.writeUInt16LE(360, 9);
  return b;
}

const result = { ok: false, url: URL_BASE, room: ROOM, subscribers: N_SUBS };
const pcs = [];
let pump;
let session;
try {
  const info = await (await fetch(`${URL_BASE}/info`, { signal: AbortSignal.timeout(5000) })).json();
  log(`info: ${info.name} ${info.version_string}, plugins ${Object.keys(info.plugins).join(',')}`);

  // 1. session + publisher handle
  session = (await post('', { janus: 'create' })).reply.data.id;
  pump = eventPump(session);
  const keepalive = setInterval(() => post(`/${session}`, { janus: 'keepalive' }).catch(() => {}), 25_000);
  const pubHandle = (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).reply.data.id;
  log(`session ${session}, publisher handle ${pubHandle}`);

  // 2. join as publisher (no jsep): ack now, "joined" event on the long poll
  let r = await post(`/${session}/${pubHandle}`, { janus: 'message', body: { request: 'join', ptype: 'publisher', room: ROOM, display: 'smoke-pub' } });
  let ev = await pump.wait((e) => e.transaction === r.txn, 'joined');
  const joined = ev.plugindata.data;
  if (joined.videoroom !== 'joined') throw new Error(`join: ${JSON.stringify(joined)}`);
  const feed = joined.id;
  log(`joined room ${ROOM} as publisher id ${feed}`);

  // 3. publish with a jsep offer (sendonly VP8 + Opus, candidates in the SDP)
  const pub = newPc();
  pcs.push(pub);
  const vtrack = new MediaStreamTrack({ kind: 'video' });
  const atrack = new MediaStreamTrack({ kind: 'audio' });
  pub.addTransceiver(atrack, { direction: 'sendonly' });
  pub.addTransceiver(vtrack, { direction: 'sendonly' });
  await pub.setLocalDescription(await pub.createOffer());
  await gathered(pub);
  r = await post(`/${session}/${pubHandle}`, {
    janus: 'message', body: { request: 'publish', audio: true, video: true, bitrate: 2500000 },
    jsep: { type: 'offer', sdp: pub.localDescription.sdp },
  });
  ev = await pump.wait((e) => e.transaction === r.txn, 'publish answer');
  if (!ev.jsep || ev.jsep.type !== 'answer') throw new Error(`publish: ${JSON.stringify(ev.plugindata.data)}`);
  log(`publish: configured=${ev.plugindata.data.configured}, codecs ${ev.plugindata.data.audio_codec}/${ev.plugindata.data.video_codec}`);
  await pub.setRemoteDescription(ev.jsep);
  await connected(pub, 'publisher');
  await pump.wait((e) => e.janus === 'webrtcup' && e.sender === pubHandle, 'publisher webrtcup');
  log('publisher: webrtcup');

  // synthetic media: 30 fps VP8 (~5 packets a frame) and 50 pps Opus
  let vseq = 1, aseq = 1, vts = 0, ats = 0;
  const payload = vp8Payload(1100);
  const opus = Buffer.alloc(120, 0x33);
  const vtimer = setInterval(() => {
    vts += 3000;
    for (let k = 0; k < 5; k++) {
      vtrack.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: (vseq++) & 0xffff, timestamp: vts >>> 0, marker: k === 4 }), payload));
    }
  }, 33);
  const atimer = setInterval(() => {
    ats += 960;
    atrack.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: (aseq++) & 0xffff, timestamp: ats >>> 0 }), opus));
  }, 20);

  // 4. subscribers: attach, join ptype subscriber -> Janus OFFERS; answer with "start"
  const subs = [];
  for (let i = 0; i < N_SUBS; i++) {
    const h = (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).reply.data.id;
    r = await post(`/${session}/${h}`, { janus: 'message', body: { request: 'join', ptype: 'subscriber', room: ROOM, streams: [{ feed }] } });
    ev = await pump.wait((e) => e.transaction === r.txn, 'subscriber offer');
    if (!ev.jsep || ev.jsep.type !== 'offer') throw new Error(`subscriber join: ${JSON.stringify(ev.plugindata.data)}`);
    const pc = newPc();
    pcs.push(pc);
    const got = { video: 0, audio: 0 };
    pc.onTransceiverAdded.subscribe((t) => t.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => { got[track.kind]++; })));
    await pc.setRemoteDescription(ev.jsep);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    r = await post(`/${session}/${h}`, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp: pc.localDescription.sdp } });
    ev = await pump.wait((e) => e.transaction === r.txn, 'started');
    if (ev.plugindata.data.started !== 'ok') throw new Error(`start: ${JSON.stringify(ev.plugindata.data)}`);
    subs.push({ h, pc, got });
    log(`subscriber ${i + 1}: handle ${h}, Janus offered, answered, started`);
  }
  for (const s of subs) await connected(s.pc, `subscriber ${s.h}`);
  log('subscribers connected; forwarding for', SECONDS, 's');
  await new Promise((res) => setTimeout(res, SECONDS * 1000));
  clearInterval(vtimer);
  clearInterval(atimer);
  clearInterval(keepalive);

  result.subscriber_rtp = subs.map((s) => s.got);
  result.ok = subs.every((s) => s.got.video > 0 && s.got.audio > 0);

  // 5. tear down: leave, detach, destroy
  await post(`/${session}/${pubHandle}`, { janus: 'message', body: { request: 'leave' } }).catch(() => {});
  for (const s of subs) await post(`/${session}/${s.h}`, { janus: 'detach' }).catch(() => {});
  await post(`/${session}/${pubHandle}`, { janus: 'detach' }).catch(() => {});
} catch (e) {
  result.error = e.message;
} finally {
  if (session) await post(`/${session}`, { janus: 'destroy' }).catch(() => {});
  if (pump) pump.stop();
  for (const pc of pcs) await pc.close().catch(() => {});
  clearTimeout(hardStop);
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
