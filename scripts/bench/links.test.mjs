// Students and a teacher behind impaired links, each browser in a network
// namespace of its own that this test makes (root only; like
// security.test.mjs it skips the whole file otherwise):
//
//   cc-links-srv   the server (bound to 0.0.0.0: it announces each of its
//                  four addresses below as a candidate, and serves HTTPS
//                  with its school CA there, docs/https.md)
//   cc-links-s1    student "An", 10.241.1.2  <->  10.241.1.1 in cc-links-srv
//   cc-links-s2    student "Bình", 10.241.2.2 <->  10.241.2.1
//   cc-links-s3    student "Chi", 10.241.3.2  <->  10.241.3.1
//   cc-links-t     the teacher, 10.241.4.2    <->  10.241.4.1
//
// Each pair is a veth; the client side routes everything through it, so
// every server address is reachable from every client, through its own
// link. Rate limits are tc tbf (this kernel has no netem, docs/TESTING.md
// section 5): on the server side of a student's pair for server -> student,
// on the teacher's side of its pair for teacher -> server. Loss comes from
// the user-space relay (lib/relay.mjs), run inside cc-links-srv.
//
// Chromium runs inside a namespace through a small wrapper script written
// to the artifacts directory (`ip netns exec NS chromium "$@"`; playwright
// talks to it over the inherited pipe). The pages come from
// https://10.241.N.1:8443 (bound to 0.0.0.0, classcast redirects plain
// HTTP from other computers to HTTPS): each browser trusts the server's own
// certificate and school CA by their public keys
// (--ignore-certificate-errors-spki-list), so the pages are a secure
// context and the teacher page gets its (fake) camera, microphone and
// screen as in lesson.test.mjs. People's path: the teacher signs in,
// creates the lesson, starts it and shares the screen; each student opens
// the join page, types the code and a name and presses Join.
//
// 1. three students at 300 kbit/s, 1 Mbit/s and unlimited (the server's
//    per-subscriber estimate and "screen first" allocation): the slow one
//    keeps the screen playing, gets less and a lower layer; the unlimited
//    one gets what the teacher sends; the 1 Mbit/s and unlimited ones get
//    the same sizes and frame rates as in a window measured before the
//    slow one joined, where every stream of theirs must show;
// 2. the teacher's uplink cut to 800 kbit/s: its estimate and send rate
//    follow within 5 s, no standing queue reaches the students;
// 3. 5 % random loss to one student: NACK/RTX repairs >= 99 % of its video.
//    Measured on the wire by the relay, not with getStats' packetsLost:
//    with RTX, Chromium counts every packet missing on the media SSRC as
//    lost, repaired or not (the output shows it equal to the relay's drops),
//    and the SFU sends thinned pictures as padding-only packets, which it
//    does not resend.
//
// Every number measured is printed (and written to artifacts/links.json);
// the checks of a case are all evaluated and reported together.
//
// CC_LINKS_WORKERS=2 runs the server with two workers and --split-at 1,
// so the students are spread over both: those on the second get the
// lesson through a mirror of the room (docs/ARCHITECTURE.md), and the
// lossy student's relay listens for each worker's port.
//
// A benchmark of what issue-level targets ask for, not part of the test run
// (scripts/test.sh): scripts/bench/links, or
// CC_BIN=build/classcast node --test --test-reporter=spec --test-concurrency=1 scripts/bench/links.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';

import { startServer, artifactPath, REPO } from '../../tests/e2e/lib/server.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../tests/e2e/lib/chromium.mjs';
import { newPage, joinAsStudent, signInTeacher } from '../../tests/e2e/lib/lesson.mjs';
import { viaRelay } from '../../tests/e2e/lib/relay.mjs';
import { sleep, pollUntil } from '../../tests/e2e/lib/webrtc.mjs';
import { addNetns } from '../../tests/e2e/lib/netns.mjs';

// playwright-core is installed with the e2e tests (tests/e2e/package.json).
const { chromium } = createRequire(path.join(REPO, 'tests/e2e/package.json'))('playwright-core');

// ---------------------------------------------------------------------------
// Links and thresholds: every number the checks use.
const LINK = {
  weak: '300kbit', weakKbps: 300, // student 1
  mid: '1mbit', midKbps: 1000, // student 2 (student 3: no limit)
  teacherUp: '800kbit', teacherUpKbps: 800,
  tbf: ['burst', '8kb', 'latency', '300ms'],
};
const T = {
  settleMs: 10_000, // case 1: from the students' first frames to the window
  windowMs: 10_000, // case 1's measuring window
  maxGapMs: 1000, // no longer gap between two frames of the screen a student sees...
  gapSlackMs: 250, // ...unless the teacher's encoder itself made none for as long (+ this: its 200 ms sampling)
  weakScreenMinFps: 1, // the 300 kbit/s student's screen keeps decoding at least this
  weakVsFull: 0.8, // the 300 kbit/s student receives under this share of the unlimited one's bytes
  lowerFps: 0.75, // "a lower temporal layer": under this share of the other's frame rate
  topFps: 0.8, // the unlimited student receives at least this share of the frames the teacher sends (top encoding)
  unaffectedFps: 0.85, // the 1M and unlimited students get at least this share of the frames they got before the 300k one joined
  // The window without the 300k student is the baseline only while the
  // teacher's screen encoder sends at its steady rate (the page captures at
  // 15 frames/s); in one run of 13 it sent 5.6 frames/s at 269 kbit/s in
  // that window and 15 at 619 later, so the 1M student fitted a larger
  // camera beside it then. Such a window is measured again (at most twice).
  baselineScreenFps: 12,
  maxTbfDrops: 0.02, // the SFU sends a limited student so little over its link that tbf drops at most this share
  fitShare: 0.9, // an encoding "does not fit" a link when its rate + the audio's exceed this share of it
  teacherDropMs: 5000, // case 2: the teacher's estimate and send rate under the cap within this
  teacherCapSlack: 1.05, // "under ~800k": 800 kbit/s x this
  teacherHoldMs: 10_000, // case 2: watching the students at the cut uplink
  addedLatencyMs: 300, // case 2: at most this much more latency than before the cut
  minRtpInPerS: 50, // case 2: the SFU keeps receiving the teacher's packets
  loss: 0.05, lossSeed: 20241,
  lossSettleMs: 4000, lossWindowMs: 15_000,
  minRecovered: 0.99, // case 3: share of the video packets that arrive or are repaired
  repairWaitMs: 1500, repairMatchMs: 3000, // case 3: how long after a loss its repair may come
  // Once the teacher page sends simulcast (its `created` reply says
  // simulcast: true and the camera goes out as several encodings):
  // (each only where the teacher's top encoding, at the rate it is sent
  // at, does not fit the student's link: on a busy machine the encoder may
  // make so little that everything fits)
  // Each encoding has three temporal layers, and the issue asks for the
  // screen to keep its full resolution at a lower frame rate before it
  // loses resolution: a stream "goes down" with a smaller encoding, or
  // with the top one at most this share of the frame rate the teacher
  // sends it at (temporal layer 1 is half of it, layer 0 a quarter).
  simulcast: {
    weakScreenNarrower: true, // the 300 kbit/s student gets a lower screen: smaller, or fewer frames
    weakCameraNarrowerOrPaused: true, // and a lower camera (smaller, fewer frames), or none
    midCameraNarrowerOrPaused: true, // the same for the 1 Mbit/s student's camera
    lowerFpsShare: 0.6,
  },
};

const isRoot = process.getuid && process.getuid() === 0;
const PFX = 'cc-links-';
const NS = { srv: `${PFX}srv`, s1: `${PFX}s1`, s2: `${PFX}s2`, s3: `${PFX}s3`, t: `${PFX}t` };
const CLIENTS = [['s1', 1], ['s2', 2], ['s3', 3], ['t', 4]];
const srvAddr = (n) => `10.241.${n}.1`;
const cliAddr = (n) => `10.241.${n}.2`;
const srvDev = (n) => `lk${n}s`;
const cliDev = (n) => `lk${n}c`;
const HTTP_PORT = 8080;
const HTTPS_PORT = 8443;
const UDP_PORT = 50000;
const WORKERS = Math.max(1, Math.min(4, Number(process.env.CC_LINKS_WORKERS || 1)));

const note = (...a) => console.log(...a);
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const fmt = (v) => JSON.stringify(v);
const r0 = (x) => (Number.isFinite(x) ? Math.round(x) : x);
const r1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : x);

// ---------------------------------------------------------------------------
// Namespaces, veth pairs, tc.

function ipc(...args) { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }); }
function nsRun(ns, ...cmd) { execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] }); }

// Every namespace of this test, including those a crashed run left: their
// processes killed, then deleted (a namespace takes its veth ends along).
function dropNet() {
  let names = [];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')
      .map((l) => l.split(/\s+/)[0]).filter((n) => n && n.startsWith(PFX));
  } catch (_) { /* no netns support: nothing to drop */ }
  for (const ns of names) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\s+/).filter(Boolean);
      for (const p of pids) { try { process.kill(Number(p), 'SIGKILL'); } catch (_) { /* gone */ } }
    } catch (_) { /* gone */ }
    try { ipc('netns', 'del', ns); } catch (_) { /* not there */ }
  }
  return names;
}

function makeNet() {
  for (const ns of Object.values(NS)) addNetns(ns); // IPv4 only (lib/netns.mjs)
  ipc('-n', NS.srv, 'link', 'set', 'lo', 'up');
  for (const [key, n] of CLIENTS) {
    const ns = NS[key];
    ipc('link', 'add', cliDev(n), 'netns', ns, 'type', 'veth', 'peer', 'name', srvDev(n), 'netns', NS.srv);
    ipc('-n', ns, 'addr', 'add', `${cliAddr(n)}/30`, 'dev', cliDev(n));
    ipc('-n', NS.srv, 'addr', 'add', `${srvAddr(n)}/30`, 'dev', srvDev(n));
    ipc('-n', ns, 'link', 'set', 'lo', 'up');
    ipc('-n', ns, 'link', 'set', cliDev(n), 'up');
    ipc('-n', NS.srv, 'link', 'set', srvDev(n), 'up');
    // Everything through this link: each of the server's addresses (its
    // candidates) is reachable, always over this client's own veth.
    ipc('-n', ns, 'route', 'add', 'default', 'via', srvAddr(n));
  }
}

// tbf's counters on a device: {bytes, packets, dropped} (tc -s).
function tcCounts(ns, dev) {
  const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(tcShow(ns, dev));
  return m ? { bytes: Number(m[1]), packets: Number(m[2]), dropped: Number(m[3]) } : null;
}
const tbfWindow = (a, b) => (a && b ? { packets: b.packets - a.packets, dropped: b.dropped - a.dropped, bytes: b.bytes - a.bytes } : null);
const tbf = (ns, dev, rate) => nsRun(ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, ...LINK.tbf);
const untbf = (ns, dev) => nsRun(ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root');
function tcShow(ns, dev) {
  try { return execFileSync('ip', ['netns', 'exec', ns, 'tc', '-s', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' }).replace(/\s+/g, ' ').trim(); } catch (e) { return `tc: ${e.message}`; }
}

// GET /stats from inside the server's namespace (loopback there).
async function srvStats() {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', NS.srv, process.execPath, '-e',
    `fetch('http://127.0.0.1:${HTTP_PORT}/stats').then((r) => r.text()).then((t) => process.stdout.write(t))`],
  { timeout: 10_000 });
  return JSON.parse(stdout);
}
const SFU_KEYS = ['rtp_in', 'rtp_out', 'twcc_subscribers', 'twcc_feedback_received', 'probe_clusters', 'probe_packets',
  'alloc_up', 'alloc_down', 'alloc_paused', 'layer_down', 'layer_up', 'sim_switches', 'rtx_wrapped', 'nack_received',
  'rtx_sent', 'nack_cache_miss', 'nack_miss_unmapped', 'nack_miss_evicted', 'nack_repeated', 'nack_within_rtt', 'nack_upstream', 'pli_received', 'pli_sent', 'keyframe_waits', 'pace_queued', 'pace_drop', 'pace_flushes', 'sim_stopped', 'fills', 'kf_floors', 'cut_holds'];
function sfuDelta(a, b) {
  const o = {};
  for (const k of SFU_KEYS) if (b.sfu[k] !== undefined) o[k] = k === 'twcc_subscribers' ? b.sfu[k] : b.sfu[k] - (a.sfu[k] || 0);
  return o;
}

// The lossy relay (lib/relay.mjs) in the server's namespace, as a child
// node process: it listens on 0.0.0.0 there (any of the server's
// addresses) and forwards to the server on 127.0.0.1. Lines on stdin:
// "counts", "detail" or "loss P"; each answers one JSON line: the relay's
// counts and, per SSRC, the RTP packets to the student, passed and
// dropped, media and padding-only (the P bit, which SRTP leaves in the
// clear) apart; "detail" adds, per SSRC, the time and length of each media
// packet dropped and passed (the last 20000).
const RELAY_CHILD = `
const [lib, port, loss, seed] = process.argv.slice(1);
const { lossyRelay } = await import(lib);
const ssrcs = {};
const detail = {};
const onRtp = (msg, dropped) => {
  const ssrc = msg.readUInt32BE(8);
  const t = ssrcs[ssrc] ||= { media: 0, padding: 0, mediaDropped: 0, paddingDropped: 0 };
  const k = msg[0] & 0x20 ? 'padding' : 'media';
  t[k]++;
  if (dropped) t[k + 'Dropped']++;
  if (k === 'media') {
    const d = detail[ssrc] ||= { dropped: [], passed: [] };
    const l = dropped ? d.dropped : d.passed;
    l.push([Date.now(), msg.length]);
    if (l.length > 20000) l.shift();
  }
};
const r = await lossyRelay(Number(port), Number(loss), Number(seed), { host: '0.0.0.0', onRtp });
console.log(JSON.stringify({ port: r.port }));
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) >= 0;) {
    const [cmd, arg] = buf.slice(0, i).trim().split(' ');
    buf = buf.slice(i + 1);
    if (cmd === 'loss') r.ctl.loss = Number(arg);
    console.log(JSON.stringify({ counts: r.counts, loss: r.ctl.loss, ssrcs, detail: cmd === 'detail' ? detail : undefined }));
  }
});
process.stdin.on('end', () => { r.close(); process.exit(0); });
`;
async function startRelay(loss, seed, serverPort = UDP_PORT) {
  const lib = pathToFileURL(path.join(REPO, 'tests/e2e/lib/relay.mjs')).href;
  const proc = spawn('ip', ['netns', 'exec', NS.srv, process.execPath, '--input-type=module', '-e', RELAY_CHILD,
    lib, String(serverPort), String(loss), String(seed)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  let waiters = [];
  let err = '';
  let buf = '';
  proc.stderr.on('data', (d) => { err += d; });
  proc.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0;) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    const w = waiters; waiters = [];
    w.forEach((f) => f());
  });
  const next = async (ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!lines.length) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`relay: no answer (${err.trim()})`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
    }
    return JSON.parse(lines.shift());
  };
  const { port } = await next(10_000);
  return {
    port,
    serverPort,
    async ask(cmd = 'counts') { proc.stdin.write(`${cmd}\n`); return next(); },
    close() { try { proc.stdin.end(); } catch (_) { /* closed */ } setTimeout(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); }, 2000).unref(); },
  };
}

// One relay per worker port (each worker has its own UDP port): the
// student's answer names the port of the worker it was placed on. Their
// answers are added up; a student uses one of them, so the per-SSRC
// figures do not overlap.
async function startRelays(loss, seed) {
  const relays = await Promise.all(Array.from({ length: WORKERS }, (_, i) => startRelay(loss, seed + i, UDP_PORT + i)));
  const sum = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, typeof a[k] === 'number' ? a[k] + (b[k] || 0) : a[k]]));
  return {
    relays,
    async ask(cmd = 'counts') {
      const all = await Promise.all(relays.map((r) => r.ask(cmd)));
      return all.reduce((acc, x) => ({ counts: sum(acc.counts, x.counts), loss: acc.loss, ssrcs: { ...acc.ssrcs, ...x.ssrcs },
        detail: acc.detail || x.detail ? { ...acc.detail, ...x.detail } : undefined }));
    },
    close() { relays.forEach((r) => r.close()); },
  };
}

// ---------------------------------------------------------------------------
// Chromium in a namespace.

function spkiHash(file) {
  const der = new X509Certificate(readFileSync(file)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

async function launchIn(ns, spki) {
  const wrapper = artifactPath(`links-chromium-${ns}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\n# Chromium inside network namespace ${ns} (scripts/bench/links.test.mjs)\n`
    + `exec ip netns exec ${ns} ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
  return chromium.launch({
    executablePath: wrapper,
    headless: false, // --headless=new is in CHROMIUM_ARGS
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spki}`],
    timeout: 30_000,
  });
}

// ---------------------------------------------------------------------------
// What the pages measure (run inside them).

// A student page: every numeric field of each slot's inbound-rtp, and the
// selected candidate pair.
function recvProbe() {
  return (async () => {
    const cc = window.ccStudent;
    const out = { state: cc?.state, subscribes: cc?.timing?.subscribes, slots: {}, pair: null };
    if (!cc || !cc.pc) return out;
    const report = await cc.pc.getStats();
    const nums = (s) => { const o = {}; for (const [k, v] of Object.entries(s)) if (typeof v === 'number') o[k] = v; return o; };
    const pairs = {};
    report.forEach((s) => { if (s.type === 'candidate-pair') pairs[s.id] = s; });
    report.forEach((s) => {
      if (s.type === 'transport' && pairs[s.selectedCandidatePairId]) out.pair = nums(pairs[s.selectedCandidatePairId]);
      if (s.type !== 'inbound-rtp') return;
      for (const slot of ['camera', 'screen', 'mic']) {
        const m = cc.slots[slot];
        if (m && ((s.mid !== undefined && s.mid === m.mid) || (s.trackIdentifier && s.trackIdentifier === m.trackId))) out.slots[slot] = nums(s);
      }
    });
    return out;
  })();
}

// The teacher page: outbound-rtp per slot (one per simulcast encoding,
// with its rid), and the selected candidate pair (availableOutgoingBitrate,
// bytesSent, round trip).
function sendProbe() {
  return (async () => {
    const cc = window.ccTeacher;
    const out = { state: cc?.state, sendState: cc?.sendState, simulcast: cc?.simulcast, slots: {}, pair: null };
    if (!cc || !cc.pc) return out;
    const mids = {};
    for (const tx of cc.pc.getTransceivers()) {
      const tr = tx.sender.track;
      if (!tr || tx.mid === null) continue;
      mids[tx.mid] = tr === cc.tracks.camera ? 'camera' : tr === cc.tracks.screen ? 'screen' : tr === cc.tracks.mic ? 'mic' : '?';
    }
    const report = await cc.pc.getStats();
    const nums = (s) => { const o = {}; for (const [k, v] of Object.entries(s)) if (typeof v === 'number') o[k] = v; return o; };
    const pairs = {};
    report.forEach((s) => { if (s.type === 'candidate-pair') pairs[s.id] = s; });
    report.forEach((s) => {
      if (s.type === 'transport' && pairs[s.selectedCandidatePairId]) out.pair = nums(pairs[s.selectedCandidatePairId]);
      if (s.type === 'outbound-rtp' && mids[s.mid]) {
        (out.slots[mids[s.mid]] ||= []).push({ rid: s.rid || null, qlr: s.qualityLimitationReason, ...nums(s) });
      }
    });
    for (const l of Object.values(out.slots)) l.sort((a, b) => (a.frameWidth || 0) - (b.frameWidth || 0));
    return out;
  })();
}

// Frame gaps of the student page's screen and camera <video> as the person
// sees them (requestVideoFrameCallback), until __gaps.stop(); with the
// longest gap, how far the picture's own clock moved meanwhile (RTP
// timestamps: frames the sender made, or the SFU forwarded, in between).
function watchGaps() {
  const st = { res: {}, stopped: false };
  for (const id of ['screen', 'camera']) {
    const v = document.getElementById(id);
    const r = { frames: 0, maxGap: 0, mediaMs: null, last: null, lastRtp: null };
    st.res[id] = r;
    if (!v || !v.requestVideoFrameCallback) { r.maxGap = null; continue; }
    const onFrame = (now, meta) => {
      if (st.stopped) return;
      if (r.last !== null && now - r.last > r.maxGap) {
        r.maxGap = now - r.last;
        r.mediaMs = meta.rtpTimestamp !== undefined && r.lastRtp !== null ? Math.round(((meta.rtpTimestamp - r.lastRtp) >>> 0) / 90) : null;
      }
      r.last = now;
      r.lastRtp = meta.rtpTimestamp ?? null;
      r.frames++;
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }
  st.stop = () => {
    st.stopped = true;
    const now = performance.now();
    for (const r of Object.values(st.res)) {
      if (r.maxGap === null) continue;
      if (r.last === null || now - r.last > r.maxGap) { r.maxGap = r.last === null ? Infinity : now - r.last; r.mediaMs = null; }
      r.maxGap = Math.round(r.maxGap);
      delete r.last;
      delete r.lastRtp;
    }
    return st.res;
  };
  window.__gaps = st;
}

// The teacher page's side of the same: the longest time each encoding of
// the camera and the screen went without a new encoded frame (getStats
// every 200 ms), until __encGaps.stop(). A student cannot see frames more
// often than its teacher's encoder makes them (a busy machine, or an
// encoding the encoder dropped for its uplink).
function watchEncoderGaps() {
  const cc = window.ccTeacher;
  const st = { res: {}, stopped: false };
  const mids = {};
  for (const tx of cc.pc.getTransceivers()) {
    if (tx.sender.track && tx.mid !== null) mids[tx.mid] = tx.sender.track === cc.tracks.camera ? 'camera' : tx.sender.track === cc.tracks.screen ? 'screen' : null;
  }
  const tick = async () => {
    if (st.stopped) return;
    const now = performance.now();
    (await cc.pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp' || !mids[s.mid]) return;
      const key = `${mids[s.mid]}${s.rid ? `.${s.rid}` : ''}`;
      const r = st.res[key] ||= { frames: s.framesEncoded || 0, at: now, maxGap: 0, width: 0 };
      if ((s.framesEncoded || 0) !== r.frames) { r.maxGap = Math.max(r.maxGap, now - r.at); r.frames = s.framesEncoded || 0; r.at = now; }
      r.width = s.frameWidth || r.width;
    });
    setTimeout(tick, 200);
  };
  tick();
  st.stop = () => {
    st.stopped = true;
    const now = performance.now();
    const out = {};
    for (const [k, r] of Object.entries(st.res)) out[k] = { maxGap: Math.round(Math.max(r.maxGap, now - r.at)), width: r.width };
    return out;
  };
  window.__encGaps = st;
}

// The teacher's longest encoder gap for the encoding of `slot` a student
// shows at `width` (the narrowest encoding at least that wide; any
// encoding of the slot without simulcast).
function encoderGap(encGaps, slot, width) {
  const list = Object.entries(encGaps || {}).filter(([k]) => k === slot || k.startsWith(`${slot}.`)).map(([, v]) => v)
    .sort((a, b) => a.width - b.width);
  const e = list.find((x) => x.width >= width) || list[list.length - 1];
  return e ? e.maxGap : 0;
}

// ---------------------------------------------------------------------------
// Windows over two snapshots.

const dsec = (a, b) => ((b?.timestamp ?? 0) - (a?.timestamp ?? 0)) / 1000;
const dd = (a, b, k) => (b?.[k] ?? 0) - (a?.[k] ?? 0);

// One inbound video or audio stream over a window.
function inWindow(a, b) {
  if (!b) return null;
  const same = a && a.ssrc === b.ssrc;
  const dt = same ? dsec(a, b) : 0;
  const d = (k) => (same ? dd(a, b, k) : 0);
  const emitted = d('jitterBufferEmittedCount');
  return {
    same,
    kbps: dt > 0 ? ((d('bytesReceived') + d('headerBytesReceived')) * 8) / dt / 1000 : 0,
    fps: dt > 0 ? d('framesDecoded') / dt : 0,
    // frames that arrived (what the SFU sent), decoded or not: on a busy
    // machine the page decodes fewer than it gets
    rxFps: dt > 0 ? d('framesReceived') / dt : 0,
    frames: d('framesDecoded'),
    width: b.frameWidth || 0,
    height: b.frameHeight || 0,
    fpsNow: b.framesPerSecond || 0,
    freezes: d('freezeCount'),
    freezeS: d('totalFreezesDuration'),
    received: d('packetsReceived'),
    lost: d('packetsLost'),
    nacks: d('nackCount'),
    rtxReceived: b.retransmittedPacketsReceived !== undefined ? d('retransmittedPacketsReceived') : null,
    dropped: d('framesDropped'),
    plis: d('pliCount'),
    keyframes: d('keyFramesDecoded'),
    jbMs: emitted > 0 ? (1000 * d('jitterBufferDelay')) / emitted : null,
  };
}

function studentWindow(a, b) {
  const dt = dsec(a.pair, b.pair);
  const out = {
    resubscribed: a.subscribes !== b.subscribes,
    linkKbps: dt > 0 ? (dd(a.pair, b.pair, 'bytesReceived') * 8) / dt / 1000 : 0,
    rttMs: dd(a.pair, b.pair, 'responsesReceived') > 0
      ? (1000 * dd(a.pair, b.pair, 'totalRoundTripTime')) / dd(a.pair, b.pair, 'responsesReceived')
      : (b.pair?.currentRoundTripTime ?? 0) * 1000,
  };
  for (const slot of ['camera', 'screen', 'mic']) out[slot] = inWindow(a.slots[slot], b.slots[slot]);
  return out;
}

// The teacher's encodings of one slot over a window.
function outWindow(a, b) {
  return (b || []).map((e) => {
    const p = (a || []).find((x) => x.ssrc === e.ssrc);
    const dt = dsec(p, e);
    const d = (k) => (p ? dd(p, e, k) : 0);
    return {
      rid: e.rid, width: e.frameWidth || 0, height: e.frameHeight || 0,
      kbps: p && dt > 0 ? ((d('bytesSent') + d('headerBytesSent')) * 8) / dt / 1000 : 0,
      fps: p && dt > 0 ? d('framesEncoded') / dt : 0,
      sentFps: p && dt > 0 ? d('framesSent') / dt : 0,
      fpsNow: e.framesPerSecond || 0,
      qlr: e.qlr,
      sendDelayMs: d('packetsSent') > 0 ? (1000 * d('totalPacketSendDelay')) / d('packetsSent') : null,
      packets: d('packetsSent'),
    };
  });
}

function teacherWindow(a, b) {
  const dt = dsec(a.pair, b.pair);
  const out = {
    linkKbps: dt > 0 ? (dd(a.pair, b.pair, 'bytesSent') * 8) / dt / 1000 : 0,
    estimateKbps: (b.pair?.availableOutgoingBitrate ?? 0) / 1000,
    rttMs: (b.pair?.currentRoundTripTime ?? 0) * 1000,
  };
  for (const slot of ['camera', 'screen', 'mic']) out[slot] = outWindow(a.slots[slot], b.slots[slot]);
  // The pacer's hold per packet, all slots together.
  let sent = 0;
  let delay = 0;
  for (const slot of ['camera', 'screen', 'mic']) {
    for (const e of b.slots[slot] || []) {
      const p = (a.slots[slot] || []).find((x) => x.ssrc === e.ssrc);
      if (!p) continue;
      sent += dd(p, e, 'packetsSent');
      delay += dd(p, e, 'totalPacketSendDelay');
    }
  }
  out.pacerMs = sent > 0 ? (1000 * delay) / sent : 0;
  return out;
}

// The top (widest) encoding the teacher actually sends of a slot.
function topEncoding(list) {
  const live = (list || []).filter((e) => e.fps > 0);
  return live.length ? live.reduce((x, y) => (y.width > x.width || (y.width === x.width && y.fps > x.fps) ? y : x)) : null;
}

function studentTable(rows) {
  const head = ['student', 'link', 'kbit/s', 'cam kbit/s', 'cam WxH', 'cam fps rx/dec', 'scr kbit/s', 'scr WxH', 'scr fps rx/dec',
    'scr gap ms', 'cam gap ms', 'freezes scr/cam', 'lost scr/cam', 'nacks', 'rtt ms'];
  const cell = (v) => String(v ?? '-');
  const lines = rows.map(({ name, link, w, gaps }) => [
    name, link, r0(w.linkKbps),
    r0(w.camera?.kbps), w.camera ? `${w.camera.width}x${w.camera.height}` : '-', `${r1(w.camera?.rxFps)}/${r1(w.camera?.fps)}`,
    r0(w.screen?.kbps), w.screen ? `${w.screen.width}x${w.screen.height}` : '-', `${r1(w.screen?.rxFps)}/${r1(w.screen?.fps)}`,
    gaps?.screen?.maxGap, gaps?.camera?.maxGap,
    `${w.screen?.freezes ?? '-'}/${w.camera?.freezes ?? '-'} (${r1((w.screen?.freezeS ?? 0) + (w.camera?.freezeS ?? 0))} s)`,
    `${w.screen?.lost ?? '-'}/${w.camera?.lost ?? '-'}`, (w.screen?.nacks ?? 0) + (w.camera?.nacks ?? 0), r0(w.rttMs),
  ].map(cell));
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmtRow = (l) => `| ${l.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [fmtRow(head), `|${widths.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...lines.map(fmtRow)].join('\n');
}

function teacherTable(tw) {
  const out = [];
  for (const slot of ['camera', 'screen']) {
    for (const e of tw[slot] || []) {
      out.push(`  teacher ${slot}${e.rid ? ` rid ${e.rid}` : ''}: ${r0(e.kbps)} kbit/s ${e.width}x${e.height} ${r1(e.fps)} fps encoded, ${r1(e.sentFps)} sent`
        + ` (limited by ${e.qlr || 'none'})`);
    }
  }
  out.push(`  teacher link: ${r0(tw.linkKbps)} kbit/s sent, estimate ${r0(tw.estimateKbps)} kbit/s, rtt ${r0(tw.rttMs)} ms, pacer ${r1(tw.pacerMs)} ms/packet`);
  return out.join('\n');
}

// Every check of a case, evaluated, then reported together.
function checks() {
  const list = [];
  return {
    check(ok, what) { list.push({ ok: !!ok, what }); },
    done(title) {
      for (const c of list) note(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
      const bad = list.filter((c) => !c.ok);
      assert.equal(bad.length, 0, `${title}: ${bad.length} of ${list.length} checks failed:\n${bad.map((c) => `  ${c.what}`).join('\n')}`);
    },
  };
}

// "No gap over 1 s between the frames a student sees", except where the
// teacher's encoder made no frame of that encoding for as long itself.
function gapCheck(c, who, slot, gap, w, encGaps) {
  const enc = encoderGap(encGaps, slot, w?.width || 0);
  const allowed = Math.max(T.maxGapMs, enc + T.gapSlackMs);
  c.check(gap && gap.maxGap !== null && gap.maxGap <= allowed,
    `${who}: no gap over ${T.maxGapMs} ms between ${slot} frames shown: max ${gap?.maxGap} ms (picture clock ${gap?.mediaMs ?? '-'} ms; `
    + `the teacher's encoder's longest gap ${enc} ms, so <= ${allowed}; getStats: ${w?.freezes} freezes, ${r1(w?.freezeS)} s)`);
}

// ---------------------------------------------------------------------------

describe('links: students and a teacher behind impaired links (network namespaces)',
  { skip: !isRoot && 'needs root (ip netns, tc): the test makes its own network namespaces', timeout: 300_000 }, () => {
    let srv = null;
    const browsers = {};
    let teacher = null;
    const students = []; // {name, link, key, n, page, context}
    let absent = null; // the 1M and unlimited students' window before the 300k one joined
    let relay = null;
    let code = null;
    const log = [];
    const results = {};
    const base = (n) => `https://${srvAddr(n)}:${HTTPS_PORT}`;

    const snapStudents = () => Promise.all(students.map((s) => s.page.evaluate(recvProbe)));
    const snapTeacher = () => teacher.page.evaluate(sendProbe);

    async function openStudent(key, n, name, link, { relays } = {}) {
      const r = await newPage(browsers[key], null, { log, tag: name, viewport: { width: 960, height: 600 } });
      for (const rl of relays || []) await viaRelay(r.page, rl.serverPort, rl.port);
      await r.page.goto(`${base(n)}/`, { waitUntil: 'load', timeout: 15_000 });
      await joinAsStudent(r.page, name, { code }); // the join page: the code typed, then the name
      return { name, link, key, n, ...r };
    }

    before(async () => {
      const left = dropNet();
      if (left.length) note(`removed namespaces left by an earlier run: ${left.join(' ')}`);
      makeNet();
      // Students 1 and 2: their downlinks limited from the start.
      tbf(NS.srv, srvDev(1), LINK.weak);
      tbf(NS.srv, srvDev(2), LINK.mid);
      srv = await startServer('links', { netns: NS.srv, bind: '0.0.0.0', httpPort: HTTP_PORT, udpPort: UDP_PORT,
        extraArgs: ['--https-port', String(HTTPS_PORT), '--workers', String(WORKERS), '--simulcast',
          ...(WORKERS > 1 ? ['--split-at', '1'] : [])] });
      const spki = [spkiHash(path.join(srv.stateDir, 'server.crt')), spkiHash(path.join(srv.stateDir, 'ca.crt'))].join(',');
      const launched = await Promise.all(CLIENTS.map(([key]) => launchIn(NS[key], spki)));
      CLIENTS.forEach(([key], i) => { browsers[key] = launched[i]; });
      note(`Chromium ${launched[0].version()} in ${CLIENTS.length} namespaces; server ${base(4)} (udp ${UDP_PORT}${WORKERS > 1 ? `-${UDP_PORT + WORKERS - 1}, ${WORKERS} workers, split at 1` : ''})`);

      // The teacher: sign in, create, start, share the screen.
      const tp = await newPage(browsers.t, `${base(4)}/teacher.html`, { log, tag: 'teacher', viewport: { width: 1280, height: 900 } });
      teacher = tp;
      const { page } = tp;
      assert.equal(await page.evaluate(() => window.isSecureContext), true, 'the teacher page is a secure context');
      await signInTeacher(page, srv);
      await page.fill('#lesson-title', 'Địa lý lớp 6 – Bản đồ');
      await page.fill('#teacher-name', 'Cô Lan');
      await page.click('#create-btn');
      await page.waitForFunction(() => window.ccTeacher.state === 'joined' && /^[0-9]{6}$/.test(window.ccTeacher.code || ''), null, { timeout: 10_000 });
      code = await page.evaluate(() => window.ccTeacher.code);
      await page.click('#start');
      await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 10_000 });
      await page.click('#screen-toggle');
      const pub = await pollUntil(snapTeacher, (s) => s.sendState === 'connected'
        && (s.slots.camera || []).some((e) => e.framesEncoded > 20) && (s.slots.screen || []).some((e) => e.framesEncoded > 10)
        && (s.slots.mic || []).some((e) => e.packetsSent > 50), { timeoutMs: 30_000 });
      assert.ok(pub.ok, `the teacher publishes camera, screen and microphone: ${fmt({ ...pub.value, pair: undefined })}\n${log.slice(-20).join('\n')}`);
      note(`teacher: lesson ${code}, simulcast ${pub.value.simulcast}, encodings: camera ${(pub.value.slots.camera || []).length}, screen ${(pub.value.slots.screen || []).length}`);

      // The students, as people: the join page, the code, the name, Join.
      // The two stronger ones first: what they get before the 300 kbit/s
      // student joins is what case 1 compares them with ("unaffected by
      // the weakest: the same as with it absent").
      students.push(...await Promise.all([
        openStudent('s2', 2, 'Bình', `${LINK.midKbps} kbit/s`),
        openStudent('s3', 3, 'Chi', 'unlimited'),
      ]));
      const dec2 = await pollUntil(snapStudents, (all) => all.every((x) => x.slots.screen?.framesDecoded > 10
        && x.slots.camera?.framesDecoded > 10), { timeoutMs: 40_000 });
      assert.ok(dec2.ok, `the 1 Mbit/s and unlimited students decode\n${log.slice(-30).join('\n')}`);
      await sleep(T.settleMs);
      for (let attempt = 1; ; attempt++) {
        const [b0, bt0] = [await snapStudents(), await snapTeacher()];
        await sleep(T.windowMs);
        const [b1, bt1] = [await snapStudents(), await snapTeacher()];
        absent = { teacher: teacherWindow(bt0, bt1), students: students.map((x, i) => studentWindow(b0[i], b1[i])) };
        note(`without the 300 kbit/s student, ${T.windowMs / 1000} s window after ${T.settleMs / 1000} s (load average ${load()}):`);
        note(teacherTable(absent.teacher));
        note(studentTable(students.map((x, i) => ({ name: x.name, link: x.link, w: absent.students[i], gaps: null }))));
        const scr = topEncoding(absent.teacher.screen);
        if (attempt === 3 || (scr && scr.sentFps >= T.baselineScreenFps)) break;
        note(`  (the teacher's screen sent ${r1(scr?.sentFps)} frames/s, under its steady ${T.baselineScreenFps}: not a baseline; measuring again)`);
      }
      students.unshift(await openStudent('s1', 1, 'An', `${LINK.weakKbps} kbit/s`));
      const dec = await pollUntil(snapStudents, (all) => all.every((s, i) => s.slots.screen?.framesDecoded > 10
        && (i === 0 || s.slots.camera?.framesDecoded > 10)), { timeoutMs: 40_000 });
      note(`students decoding: ${fmt(dec.value.map((s) => ({ st: s.state, cam: s.slots.camera?.framesDecoded, scr: s.slots.screen?.framesDecoded })))}`);
      assert.ok(dec.ok, `every student decodes the screen (and the two faster ones the camera)\n${log.slice(-30).join('\n')}`);
    }, { timeout: 120_000 });

    after(async () => {
      try { writeFileSync(artifactPath('links.page.log'), `${log.join('\n')}\n`); } catch (_) { /* ignore */ }
      try { writeFileSync(artifactPath('links.json'), `${JSON.stringify(results, null, 1)}\n`); } catch (_) { /* ignore */ }
      if (relay) relay.close();
      for (const b of Object.values(browsers)) await b.close().catch(() => {});
      let stopErr = null;
      try { if (srv) await srv.stop(); } catch (e) { stopErr = e; } finally { dropNet(); }
      if (stopErr) throw stopErr;
    }, { timeout: 60_000 });

    it('1. students at 300 kbit/s, 1 Mbit/s and unlimited: the slow one keeps the screen and gets a lower layer, the unlimited one the top', { timeout: 60_000 }, async () => {
      await sleep(T.settleMs);
      await Promise.all([teacher.page.evaluate(watchEncoderGaps), ...students.map((s) => s.page.evaluate(watchGaps))]);
      const [t0, a0, sfu0, q0] = [await snapTeacher(), await snapStudents(), await srvStats(), [1, 2].map((n) => tcCounts(NS.srv, srvDev(n)))];
      await sleep(T.windowMs);
      const [t1, a1, sfu1, q1] = [await snapTeacher(), await snapStudents(), await srvStats(), [1, 2].map((n) => tcCounts(NS.srv, srvDev(n)))];
      const tbfW = [0, 1].map((i) => tbfWindow(q0[i], q1[i]));
      const gaps = await Promise.all(students.map((s) => s.page.evaluate(() => window.__gaps.stop())));
      const encGaps = await teacher.page.evaluate(() => window.__encGaps.stop());
      const tw = teacherWindow(t0, t1);
      const w = students.map((s, i) => studentWindow(a0[i], a1[i]));
      const sfu = sfuDelta(sfu0, sfu1);
      const rows = students.map((s, i) => ({ name: s.name, link: s.link, w: w[i], gaps: gaps[i] }));
      results.case1 = { load: os.loadavg(), teacher: tw, encGaps, students: rows, sfu, simulcast: t1.simulcast, tbf: tbfW, absent };
      note(`case 1, ${T.windowMs / 1000} s window after ${T.settleMs / 1000} s (load average ${load()}, ${os.cpus().length} CPUs):`);
      note(teacherTable(tw));
      note(studentTable(rows));
      note(`  details: ${fmt(w.map((x) => ({ cam: x.camera, scr: x.screen, mic: x.mic && { kbps: r0(x.mic.kbps), lost: x.mic.lost } })))}`);
      note(`  teacher's longest gaps between encoded frames (ms): ${fmt(encGaps)}`);
      note(`  students' longest gaps between frames shown (ms, picture clock ms): ${students.map((s, i) => `${s.name} screen ${gaps[i].screen.maxGap} (${gaps[i].screen.mediaMs}) camera ${gaps[i].camera.maxGap} (${gaps[i].camera.mediaMs})`).join('; ')}`);
      note(`  sfu: ${fmt(sfu)}`);
      note(`  tbf in the window: 300k ${fmt(tbfW[0])}, 1M ${fmt(tbfW[1])}`);
      await Promise.all(students.map((s, i) => s.page.screenshot({ path: artifactPath(`links-student-${['300k', '1m', 'unlimited'][i]}.png`) }).catch(() => {})));
      await teacher.page.screenshot({ path: artifactPath('links-teacher.png') }).catch(() => {});

      const [weak, mid, full] = w;
      const simulcast = t1.simulcast === true && (tw.camera || []).length > 1;
      const topCam = topEncoding(tw.camera);
      const topScr = topEncoding(tw.screen);
      const paused = (x) => !x || x.rxFps < 0.5;
      const dropShare = (q) => (q && q.packets + q.dropped > 0 ? q.dropped / (q.packets + q.dropped) : 0);
      const c = checks();
      c.check(w.every((x) => !x.resubscribed), `no student subscribed again during the window (${w.map((x) => x.resubscribed)})`);
      c.check(weak.screen && weak.screen.fps >= T.weakScreenMinFps,
        `300k: the screen keeps decoding: ${r1(weak.screen?.fps)} frames/s (>= ${T.weakScreenMinFps})`);
      gapCheck(c, '300k', 'screen', gaps[0].screen, weak.screen, encGaps);
      c.check(weak.linkKbps < T.weakVsFull * full.linkKbps,
        `300k receives less than the unlimited one: ${r0(weak.linkKbps)} < ${T.weakVsFull} x ${r0(full.linkKbps)} kbit/s`);
      for (const [who, q] of [['300k', tbfW[0]], ['1M', tbfW[1]]]) {
        c.check(q && dropShare(q) <= T.maxTbfDrops, `${who}: the SFU sends within the link: tbf dropped ${q?.dropped} of ${q ? q.packets + q.dropped : '?'} packets `
          + `(${r1(100 * dropShare(q))} %, <= ${T.maxTbfDrops * 100} %)`);
      }
      // What the SFU sent (frames that arrived), not what a busy page decoded.
      const lower = [];
      if (paused(weak.camera)) lower.push('camera paused');
      if (weak.camera && full.camera && weak.camera.width && weak.camera.width < full.camera.width) lower.push(`camera ${weak.camera.width} < ${full.camera.width} wide`);
      if (weak.camera && full.camera && !paused(weak.camera) && weak.camera.rxFps < T.lowerFps * full.camera.rxFps) lower.push(`camera ${r1(weak.camera.rxFps)} < ${T.lowerFps} x ${r1(full.camera.rxFps)} frames/s`);
      if (weak.screen && full.screen && weak.screen.width < full.screen.width) lower.push(`screen ${weak.screen.width} < ${full.screen.width} wide`);
      if (weak.screen && full.screen && weak.screen.rxFps < T.lowerFps * full.screen.rxFps) lower.push(`screen ${r1(weak.screen.rxFps)} < ${T.lowerFps} x ${r1(full.screen.rxFps)} frames/s`);
      c.check(lower.length > 0, `300k gets a lower layer than the unlimited one: ${lower.join(', ') || 'nothing lower'}`);
      for (const [slot, top] of [['camera', topCam], ['screen', topScr]]) {
        const x = full[slot];
        c.check(top && x && x.width === top.width && x.rxFps >= T.topFps * top.sentFps,
          `unlimited: the ${slot}'s top layer: ${x?.width}x${x?.height} at ${r1(x?.rxFps)} frames/s received (${r1(x?.fps)} decoded) `
          + `vs the teacher's ${top?.width}x${top?.height} at ${r1(top?.sentFps)} sent (>= ${T.topFps} x)`);
      }
      // The stronger two as with the weakest absent: each stream at least
      // the size, and this share of the frames, it got then (its own
      // estimate may give it more later: not the weakest's doing).
      for (const [who, i] of [['1M', 1], ['unlimited', 2]]) {
        for (const slot of ['screen', 'camera']) {
          const x = w[i][slot], y = absent?.students[i - 1]?.[slot];
          c.check(x && y && x.width >= y.width && x.rxFps >= T.unaffectedFps * y.rxFps,
            `${who}: the ${slot} as with the 300k student absent: ${x?.width}x${x?.height} at ${r1(x?.rxFps)} frames/s received `
            + `(without it: ${y?.width}x${y?.height} at ${r1(y?.rxFps)}; at least that size and >= ${T.unaffectedFps} x the frames)`);
          // A stream paused in that window makes the check above hold for
          // anything: the 1 Mbit/s link carries the 1080p screen and the
          // small camera (about 810 kbit/s), so each must show there.
          c.check(y && !paused(y), `${who}: the ${slot} shows in the window without the 300k student: ${r1(y?.rxFps)} frames/s received`);
        }
      }
      gapCheck(c, '1M', 'screen', gaps[1].screen, mid.screen, encGaps);
      gapCheck(c, 'unlimited', 'screen', gaps[2].screen, full.screen, encGaps);
      gapCheck(c, 'unlimited', 'camera', gaps[2].camera, full.camera, encGaps);
      c.check(mid.screen && weak.screen && mid.screen.rxFps + 1 >= weak.screen.rxFps && mid.screen.width >= weak.screen.width,
        `1M gets at least the 300k one's screen: ${mid.screen?.width} wide ${r1(mid.screen?.rxFps)} frames/s vs ${weak.screen?.width} wide ${r1(weak.screen?.rxFps)}`);
      c.check(mid.linkKbps > weak.linkKbps, `1M receives more than 300k: ${r0(mid.linkKbps)} > ${r0(weak.linkKbps)} kbit/s`);
      c.check(sfu.twcc_subscribers >= 3 && sfu.twcc_feedback_received > 0,
        `the SFU estimates every student's downlink from transport-cc: ${sfu.twcc_subscribers} subscribers, ${sfu.twcc_feedback_received} feedback packets in the window`);
      if (simulcast) {
        // The encoding a student gets: the teacher's of the same width.
        const encOf = (slot, x) => (x && !paused(x) ? (tw[slot] || []).find((e) => e.width === x.width) : null);
        const fitKbps = (kbps) => T.fitShare * kbps;
        const audio = (x) => x.mic?.kbps || 0;
        const sc = [];
        const topScrOver = topScr && topScr.kbps + audio(weak) > fitKbps(LINK.weakKbps);
        // Lower than the top encoding as the teacher sends it: a smaller
        // encoding, or the top one with fewer frames (temporal layers).
        const lower = (x, top) => x.width < top.width || x.rxFps <= T.simulcast.lowerFpsShare * top.fps;
        if (T.simulcast.weakScreenNarrower) {
          if (topScrOver) {
            c.check(weak.screen && lower(weak.screen, topScr),
              `simulcast: 300k gets a lower screen than the top encoding (${r0(topScr.kbps)} kbit/s does not fit): smaller, or at most ${T.simulcast.lowerFpsShare} x its ${r1(topScr.fps)} frames/s: `
              + `${weak.screen?.width} wide (top ${topScr.width}) at ${r1(weak.screen?.rxFps)} frames/s`);
          } else sc.push(`the top screen encoding (${r0(topScr?.kbps)} kbit/s) fits 300k`);
        }
        for (const [who, x, link, on] of [['300k', weak, LINK.weakKbps, T.simulcast.weakCameraNarrowerOrPaused],
          ['1M', mid, LINK.midKbps, T.simulcast.midCameraNarrowerOrPaused]]) {
          if (!on) continue;
          const scrKbps = encOf('screen', x.screen)?.kbps ?? x.screen?.kbps ?? 0;
          if (topCam && scrKbps + topCam.kbps + audio(x) > fitKbps(link)) {
            c.check(paused(x.camera) || lower(x.camera, topCam),
              `simulcast: ${who}'s camera is paused or lower than the top encoding (its screen ${r0(scrKbps)} + the top camera ${r0(topCam.kbps)} kbit/s do not fit): `
              + `${x.camera?.width} wide (top ${topCam.width}) at ${r1(x.camera?.rxFps)} frames/s (top ${r1(topCam.fps)})`);
          } else sc.push(`${who}: its screen (${r0(scrKbps)}) and the top camera (${r0(topCam?.kbps)} kbit/s) fit`);
        }
        if (sc.length) note(`  (simulcast checks not needed: ${sc.join('; ')})`);
      } else {
        note(`  (no simulcast from the teacher page: temporal layers only; simulcast ${t1.simulcast}, camera encodings ${(tw.camera || []).length})`);
      }
      c.done('case 1');
    });

    it('2. the teacher\'s uplink cut to 800 kbit/s: its estimate and send rate follow within 5 s, no standing queue reaches the students', { timeout: 60_000 }, async () => {
      // Before: the same measures over 4 s, as the baseline.
      const [tb0, sb0] = [await snapTeacher(), await snapStudents()];
      await sleep(4000);
      const [tb1, sb1] = [await snapTeacher(), await snapStudents()];
      const twBefore = teacherWindow(tb0, tb1);
      const swBefore = students.map((s, i) => studentWindow(sb0[i], sb1[i]));

      tbf(NS.t, cliDev(4), LINK.teacherUp);
      const cutAt = Date.now();
      const capKbps = LINK.teacherUpKbps * T.teacherCapSlack;
      const trace = [];
      let prev = await snapTeacher();
      let droppedAt = null;
      const hist = [prev];
      while (Date.now() - cutAt < T.teacherDropMs + 3000) {
        await sleep(500);
        const cur = await snapTeacher();
        hist.push(cur);
        // Send rate over the last second (the snapshot nearest 1 s back).
        const back = hist.find((h) => (cur.pair.timestamp - h.pair.timestamp) <= 1100) || prev;
        const dt = dsec(back.pair, cur.pair);
        const sentKbps = dt > 0 ? (dd(back.pair, cur.pair, 'bytesSent') * 8) / dt / 1000 : 0;
        const est = (cur.pair.availableOutgoingBitrate ?? 0) / 1000;
        const at = Date.now() - cutAt;
        trace.push({ at, estimate: r0(est), sent: r0(sentKbps), rtt: r0((cur.pair.currentRoundTripTime ?? 0) * 1000) });
        if (droppedAt === null && est > 0 && est <= capKbps && sentKbps <= capKbps && dt >= 0.9) droppedAt = at;
        prev = cur;
        if (droppedAt !== null && at >= droppedAt + 1000) break;
      }
      note(`case 2: before the cut: ${teacherTable(twBefore).trim()}`);
      note(`  after the cut (ms since, estimate kbit/s, sent kbit/s over 1 s, rtt ms): ${trace.map((x) => `${x.at}:${x.estimate}/${x.sent}/${x.rtt}`).join(' ')}`);

      // At the cut uplink: the students over 10 s.
      await Promise.all([teacher.page.evaluate(watchEncoderGaps), ...students.map((s) => s.page.evaluate(watchGaps))]);
      const [th0, sh0, sfu0] = [await snapTeacher(), await snapStudents(), await srvStats()];
      const rtts = [];
      const ests = [];
      const holdStart = Date.now();
      while (Date.now() - holdStart < T.teacherHoldMs) {
        await sleep(1000);
        const t = await snapTeacher();
        rtts.push((t.pair.currentRoundTripTime ?? 0) * 1000);
        ests.push((t.pair.availableOutgoingBitrate ?? 0) / 1000);
      }
      const [th1, sh1, sfu1] = [await snapTeacher(), await snapStudents(), await srvStats()];
      const gaps = await Promise.all(students.map((s) => s.page.evaluate(() => window.__gaps.stop())));
      const encGaps = await teacher.page.evaluate(() => window.__encGaps.stop());
      const twAfter = teacherWindow(th0, th1);
      const swAfter = students.map((s, i) => studentWindow(sh0[i], sh1[i]));
      const sfu = sfuDelta(sfu0, sfu1);
      const tcT = tcShow(NS.t, cliDev(4));
      untbf(NS.t, cliDev(4));
      await teacher.page.screenshot({ path: artifactPath('links-teacher-800k.png') }).catch(() => {});

      // Latency from the teacher's capture to a student's screen, the parts
      // getStats shows: the teacher's pacer hold + the uplink round trip
      // (its queue is in it; the worst sample) + the student's round trip
      // + the student's jitter buffer (screen). Compared with before the cut.
      const maxRtt = Math.max(twAfter.rttMs, ...rtts);
      const lat = (tw, sw, rttT) => sw.map((x) => ({
        pacer: tw.pacerMs, up: rttT, down: x.rttMs, jb: x.screen?.jbMs ?? 0,
        total: tw.pacerMs + rttT + x.rttMs + (x.screen?.jbMs ?? 0),
      }));
      const latBefore = lat(twBefore, swBefore, twBefore.rttMs);
      const latAfter = lat(twAfter, swAfter, maxRtt);
      const rows = students.map((s, i) => ({ name: s.name, link: s.link, w: swAfter[i], gaps: gaps[i] }));
      results.case2 = { load: os.loadavg(), before: { teacher: twBefore, students: swBefore, latency: latBefore }, trace,
        after: { teacher: twAfter, encGaps, students: rows, latency: latAfter, rtts, ests }, sfu, tc: tcT, droppedAt };
      note(`  at 800 kbit/s over ${T.teacherHoldMs / 1000} s (load average ${load()}):`);
      note(teacherTable(twAfter));
      note(studentTable(rows));
      note(`  latency parts (ms: pacer + uplink rtt + student rtt + screen jitter buffer), before -> after: ${students.map((s, i) => `${s.name} ${
        r0(latBefore[i].total)} (${[latBefore[i].pacer, latBefore[i].up, latBefore[i].down, latBefore[i].jb].map(r0).join('+')}) -> ${
        r0(latAfter[i].total)} (${[latAfter[i].pacer, latAfter[i].up, latAfter[i].down, latAfter[i].jb].map(r0).join('+')})`).join('; ')}`);
      note(`  teacher rtt samples (ms): ${rtts.map(r0).join(' ')}; its estimate (kbit/s): ${ests.map(r0).join(' ')}`);
      note(`  teacher's longest gaps between encoded frames (ms): ${fmt(encGaps)}`);
      note(`  sfu: ${fmt(sfu)}`);
      note(`  tc: ${tcT}`);

      const c = checks();
      const rtpIn = sfu.rtp_in / (T.teacherHoldMs / 1000);
      c.check(droppedAt !== null && droppedAt <= T.teacherDropMs,
        `the teacher's estimate and send rate are under ${r0(capKbps)} kbit/s within ${T.teacherDropMs} ms of the cut: ${droppedAt === null ? 'never' : `after ${droppedAt} ms`}`);
      c.check(twAfter.linkKbps <= capKbps, `the teacher sends ${r0(twAfter.linkKbps)} kbit/s over the 10 s at the cut uplink (<= ${r0(capKbps)})`);
      c.check(rtpIn >= T.minRtpInPerS, `the SFU keeps receiving the teacher's packets: ${r0(rtpIn)} a second (>= ${T.minRtpInPerS})`);
      students.forEach((s, i) => {
        const x = swAfter[i];
        c.check(x.screen && x.screen.frames > 0, `${s.name} (${s.link}): the screen keeps decoding (${x.screen?.frames} frames, ${r1(x.screen?.fps)} frames/s)`);
        // Against the encoding the teacher still sends: a student left on
        // one its encoder dropped for the uplink gets no excuse.
        gapCheck(c, `${s.name} (${s.link})`, 'screen', gaps[i].screen, x.screen,
          Object.fromEntries(Object.entries(encGaps).filter(([, v]) => v.maxGap < T.teacherHoldMs / 2)));
        const added = latAfter[i].total - latBefore[i].total;
        c.check(added < T.addedLatencyMs, `${s.name} (${s.link}): latency added by the cut ${r0(added)} ms (< ${T.addedLatencyMs}; ${r0(latBefore[i].total)} -> ${r0(latAfter[i].total)} ms)`);
      });
      c.done('case 2');
    });

    it('3. 5 % random loss to one student: NACK and RTX repair at least 99 % of its video', { timeout: 70_000 }, async () => {
      // Chi's tablet moves to a bad Wi-Fi: a new page behind the lossy
      // relay, joined again like a person; its unlimited page goes first.
      relay = await startRelays(T.loss, T.lossSeed);
      const old = students.pop();
      await old.context.close();
      const lossy = await openStudent('s3', 3, 'Chi', `loss ${T.loss * 100} %`, { relays: relay.relays });
      students.push(lossy);
      const probe = () => lossy.page.evaluate(recvProbe);
      const dec = await pollUntil(probe, (s) => s.slots.screen?.framesDecoded > 10 && s.slots.camera?.framesDecoded > 10, { timeoutMs: 30_000 });
      assert.ok(dec.ok, `the student behind the lossy relay decodes both videos: ${fmt(dec.value.slots && Object.fromEntries(Object.entries(dec.value.slots).map(([k, v]) => [k, v.framesDecoded])))}\n${log.slice(-20).join('\n')}`);
      await sleep(T.lossSettleMs);
      await Promise.all([lossy.page.evaluate(watchGaps), teacher.page.evaluate(watchEncoderGaps)]);
      const tA = Date.now();
      const [a, r0c, sfu0] = [await probe(), await relay.ask(), await srvStats()];
      await sleep(T.lossWindowMs);
      const [b, r1c, sfu1] = [await probe(), await relay.ask(), await srvStats()];
      const tB = Date.now();
      // Repairs of the window's last losses arrive a moment later.
      await sleep(T.repairWaitMs);
      const { detail } = await relay.ask('detail');
      const gaps = await lossy.page.evaluate(() => window.__gaps.stop());
      const encGaps = await teacher.page.evaluate(() => window.__encGaps.stop());
      const w = studentWindow(a, b);
      const sfu = sfuDelta(sfu0, sfu1);
      const relayDropped = r1c.counts.dropped - r0c.counts.dropped;
      const relayDown = r1c.counts.down - r0c.counts.down;
      await lossy.page.screenshot({ path: artifactPath('links-student-lossy.png') }).catch(() => {});
      const video = ['camera', 'screen'].map((k) => w[k]).filter(Boolean);
      const received = video.reduce((n, x) => n + x.received, 0);
      const lost = video.reduce((n, x) => n + x.lost, 0);
      // Recovery from the wire. Chromium's packetsLost cannot tell: with
      // RTX it counts every packet missing on the media SSRC, repaired or
      // not (it equals the relay's drops on that SSRC, padding included,
      // see the output). The relay sees each video stream's packets on
      // its SSRC and on its RTX SSRC (Chromium's rtxSsrc): a dropped media
      // packet counts as repaired when a retransmission of the same size
      // + 2 (RFC 4588 OSN) passed on the RTX SSRC after it, within
      // T.repairMatchMs (each used once). A thinned picture goes out as
      // padding-only packets on the media SSRC: no video, not counted.
      const tally = (ssrc) => {
        const x = r1c.ssrcs[ssrc] || {};
        const y = r0c.ssrcs[ssrc] || {};
        const o = {};
        for (const k of ['media', 'padding', 'mediaDropped', 'paddingDropped']) o[k] = (x[k] || 0) - (y[k] || 0);
        return o;
      };
      const wire = {};
      for (const k of ['camera', 'screen']) {
        const st = b.slots[k];
        if (!st) continue;
        const drops = (detail[st.ssrc]?.dropped || []).filter(([t]) => t >= tA && t <= tB);
        const rtx = st.rtxSsrc ? detail[st.rtxSsrc]?.passed || [] : [];
        const used = new Set();
        let repaired = 0;
        for (const [t, len] of drops) {
          const i = rtx.findIndex(([u, l], j) => !used.has(j) && u >= t && u <= t + T.repairMatchMs && l === len + 2);
          if (i >= 0) { used.add(i); repaired++; }
        }
        wire[k] = { ssrc: st.ssrc, rtxSsrc: st.rtxSsrc ?? null, media: tally(st.ssrc), rtx: st.rtxSsrc ? tally(st.rtxSsrc) : null,
          dropped: drops.length, repaired };
      }
      const videoOnWire = Object.values(wire).reduce((n, x) => n + x.media.media, 0);
      const videoDropped = Object.values(wire).reduce((n, x) => n + x.dropped, 0);
      const videoRepaired = Object.values(wire).reduce((n, x) => n + x.repaired, 0);
      const padDropped = Object.values(wire).reduce((n, x) => n + x.media.paddingDropped, 0);
      const recovered = videoOnWire > 0 ? 1 - (videoDropped - videoRepaired) / videoOnWire : 0;
      results.case3 = { load: os.loadavg(), student: w, gaps, relay: { dropped: relayDropped, passed: relayDown, loss: r1c.loss }, wire, sfu, recovered };
      note(`case 3: ${T.lossWindowMs / 1000} s at ${T.loss * 100} % loss (relay: ${relayDropped} RTP packets dropped, ${relayDown} passed; load average ${load()}):`);
      note(studentTable([{ name: lossy.name, link: lossy.link, w, gaps }]));
      for (const k of ['camera', 'screen']) {
        const x = w[k];
        if (x) note(`  ${k} (getStats): received ${x.received}, packetsLost ${x.lost}, nacks ${x.nacks}, rtx received ${x.rtxReceived}, freezes ${x.freezes} (${r1(x.freezeS)} s), frames dropped ${x.dropped}, key frames ${x.keyframes}, PLIs ${x.plis}, ${r1(x.fps)} frames/s`);
      }
      for (const [k, x] of Object.entries(wire)) {
        note(`  ${k} on the wire: media SSRC ${x.ssrc}: ${x.media.media} media packets (${x.dropped} dropped, ${x.repaired} of them repaired by RTX), `
          + `${x.media.padding} padding-only (${x.media.paddingDropped} dropped); `
          + `RTX SSRC ${x.rtxSsrc}: ${x.rtx ? `${x.rtx.media} packets (${x.rtx.mediaDropped} dropped), ${x.rtx.padding} padding (${x.rtx.paddingDropped} dropped)` : '-'}`);
      }
      note(`  Chromium's packetsLost ${lost} vs the relay's drops on the media SSRCs ${videoDropped} media + ${padDropped} padding = ${videoDropped + padDropped}`);
      note(`  sfu: ${fmt(sfu)}`);
      const c = checks();
      c.check(!w.resubscribed, 'the page did not subscribe again during the window');
      c.check(videoDropped > 0, `the relay dropped video packets (${videoDropped} of ${videoOnWire}; ${relayDropped} RTP packets in all)`);
      c.check(videoOnWire > 0 && recovered >= T.minRecovered,
        `>= ${T.minRecovered * 100} % of the video packets arrive or are repaired: ${r1(recovered * 100)} % `
        + `(${videoDropped - videoRepaired} of ${videoOnWire} media packets dropped and not repaired; ${videoRepaired} of ${videoDropped} dropped ones repaired; `
        + `the SFU: ${sfu.nack_received} NACKed, ${sfu.rtx_sent} resent, ${sfu.nack_cache_miss} not resent)`);
      c.check(sfu.nack_received > 0 && sfu.rtx_sent > 0, `the SFU answered NACKs: ${sfu.nack_received} NACKs, ${sfu.rtx_sent} retransmissions`);
      c.check(w.screen && w.screen.fps > 1, `the screen keeps playing: ${r1(w.screen?.fps)} frames/s`);
      gapCheck(c, 'lossy', 'screen', gaps.screen, w.screen, encGaps);
      c.done('case 3');
    });
  });
