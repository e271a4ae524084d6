// Shared by scripts/bench/join.mjs and scripts/bench/latency.mjs: a
// classcast server on free loopback ports, a student page driven like a
// person (type the code and a name, press Join) with a probe that times
// each stage of the join, and small statistics helpers.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Child processes to kill if the script dies before stopping them.
export const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch (_) { /* gone */ } } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ------------------------------------------------------------- statistics
// Nearest-rank percentile of the finite numbers in values (Infinity counts:
// a student without a picture is the slowest there is).
export function pct(values, q) {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.min(v.length, Math.max(1, Math.ceil(q * v.length))) - 1];
}
export const r1 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? x ?? null : Math.round(x * 10) / 10);
export function summary(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return { n: v.length, p50: r1(pct(v, 0.5)), p95: r1(pct(v, 0.95)), max: r1(v.length ? Math.max(...v) : null) };
}
export function machineNote() {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model || '', loadavg: load };
}

// ----------------------------------------------------------------- server
async function freeTcpPort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}
async function freeUdpPort() {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// Starts `<bin> serve` on free loopback ports (HTTP, HTTPS, UDP) with its
// own state directory, the log in logDir/<tag>.server.log; resolves once
// it prints its ready line (15 s at most). stop() sends SIGINT and waits
// (SIGKILL after 10 s).
export async function startServer(bin, tag, extra, { logDir, env } = {}) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `cc-bench-${tag}-`));
  for (let attempt = 0; ; attempt++) {
    const http = await freeTcpPort();
    const https = await freeTcpPort();
    const udp = await freeUdpPort();
    const args = ['serve', '--bind', '127.0.0.1', '--http-port', String(http), '--https-port', String(https),
      '--udp-port', String(udp), '--web-root', path.join(REPO, 'web'), '--state-dir', stateDir,
      '--log-level', 'warn', ...extra];
    const logFile = path.join(logDir, `${tag}.server.log`);
    const logStream = createWriteStream(logFile);
    logStream.write(`# ${bin} ${args.join(' ')}\n`);
    const proc = spawn(bin, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(env || {}) } });
    children.add(proc);
    let text = '';
    const onData = (b) => { logStream.write(b); if (text.length < 65536) text += b.toString(); };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    const exited = new Promise((r) => proc.on('exit', r));
    let gone = false;
    exited.then(() => { gone = true; });
    let ready = false;
    for (let i = 0; i < 150 && !gone; i++) {
      if (/classcast: listening http:\/\//.test(text)) { ready = true; break; }
      await sleep(100);
    }
    if (ready) {
      return {
        url: `http://127.0.0.1:${http}`, proc, logFile, log: () => text,
        async stop() {
          if (!gone) {
            proc.kill('SIGINT');
            const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
            await exited;
            clearTimeout(t);
          }
          children.delete(proc);
          logStream.end();
          rmSync(stateDir, { recursive: true, force: true });
        },
      };
    }
    proc.kill('SIGKILL');
    await exited;
    children.delete(proc);
    if (attempt >= 2 || !/in use|bind/i.test(text)) {
      rmSync(stateDir, { recursive: true, force: true });
      throw new Error(`classcast did not start (${logFile}):\n${text.slice(-2000)}`);
    }
  }
}

// ------------------------------------------------------- the page's probe
// Runs in every page before its own scripts (context.addInitScript): the
// page itself is not changed. Marks on the page's performance.now() clock:
// the Join press (the form's submit event), the WebSocket's messages
// (ws_<type>, ws_send_<type>, ws_answer_<for>), the RTCPeerConnection's
// descriptions and ICE / DTLS states, getStats (polled every 5 ms) for the
// first RTP packet and the first decoded frame, and the first frame a
// <video> presents (requestVideoFrameCallback, with its metadata).
export function probe() {
  const T = { marks: {}, msgs: [], errors: [] };
  window.__ccBench = T;
  const now = () => performance.now();
  const mark = (k, t) => { if (T.marks[k] === undefined) T.marks[k] = t === undefined ? now() : t; };
  T.mark = mark;
  document.addEventListener('submit', () => mark('join_pressed'), true);
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...a) {
      super(...a);
      mark('ws_created');
      this.addEventListener('open', () => mark('ws_open'));
      this.addEventListener('message', (ev) => {
        try {
          const m = JSON.parse(ev.data);
          const k = m.type === 'answer' ? `ws_answer_${m.for}` : `ws_${m.type}`;
          T.msgs.push([Math.round(now()), k]);
          mark(k);
        } catch (_) { /* not JSON */ }
      });
    }
    send(d) {
      try { const m = JSON.parse(d); T.msgs.push([Math.round(now()), `send_${m.type}`]); mark(`ws_send_${m.type}`); } catch (_) { /* not JSON */ }
      return super.send(d);
    }
  };
  const watchStats = (pc) => {
    const tick = async () => {
      if (pc.connectionState === 'closed' || T.marks.first_decoded !== undefined) return;
      try {
        const t = now();
        (await pc.getStats()).forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.packetsReceived > 0) mark('first_rtp', t);
          if (s.kind === 'video' && s.packetsReceived > 0) mark('first_video_rtp', t);
          if (s.kind === 'video' && s.framesDecoded > 0) mark('first_decoded', t);
        });
      } catch (_) { return; }
      setTimeout(tick, 5);
    };
    tick();
  };
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(...a) {
      super(...a);
      mark('pc_created');
      T.pc = this;
      this.addEventListener('iceconnectionstatechange', () => {
        if (this.iceConnectionState === 'connected' || this.iceConnectionState === 'completed') mark('ice_connected');
      });
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') mark('pc_connected');
      });
      this.addEventListener('icegatheringstatechange', () => {
        if (this.iceGatheringState === 'complete') mark('ice_gathered');
      });
      this.addEventListener('track', (e) => {
        mark(`track_${e.track.kind}`);
        // DTLS itself: the transport's own state (connectionState waits
        // for every transport and comes later in Chromium).
        const tr = e.receiver && e.receiver.transport;
        if (tr && !tr.__ccWatched) {
          tr.__ccWatched = true;
          const check = () => { if (tr.state === 'connected') mark('dtls_connected'); };
          tr.addEventListener('statechange', check);
          check();
        }
      });
      watchStats(this);
    }
    async setLocalDescription(...a) {
      const r = await super.setLocalDescription(...a);
      mark(`local_${this.localDescription && this.localDescription.type}`);
      return r;
    }
    async setRemoteDescription(d) {
      const r = await super.setRemoteDescription(d);
      mark(`remote_${d && d.type}`);
      return r;
    }
  };
  const watchVideo = (v) => {
    if (v.__ccWatched) return;
    v.__ccWatched = true;
    v.requestVideoFrameCallback((cbNow, md) => {
      if (T.marks.first_frame !== undefined) return;
      mark('first_frame', cbNow);
      if (md.presentationTime) mark('first_frame_presented', md.presentationTime);
      if (md.expectedDisplayTime) mark('first_frame_display', md.expectedDisplayTime);
      if (md.receiveTime) mark('first_frame_received', md.receiveTime);
      T.firstFrame = { width: md.width, height: md.height, rtpTimestamp: md.rtpTimestamp,
        processingDuration: md.processingDuration, id: v.id };
    });
  };
  const desc = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject');
  Object.defineProperty(HTMLMediaElement.prototype, 'srcObject', {
    configurable: true, enumerable: desc.enumerable,
    get() { return desc.get.call(this); },
    set(v) { desc.set.call(this, v); if (v && this instanceof HTMLVideoElement) watchVideo(this); },
  });
  window.addEventListener('error', (e) => T.errors.push(String(e.message)));
}

// Stages, in ms after the Join press: [name, mark, meaning].
export const STAGES = [
  ['ws_join', 'ws_joined', 'WS `join` answered with `joined` (the socket opens with the page)'],
  ['media_msg', 'ws_media', 'WS `media` came (what the teacher sends)'],
  ['offer_made', 'local_offer', 'offer made (setLocalDescription done)'],
  ['ice_gathered', 'ice_gathered', 'ICE gathering complete (the page does not wait for it)'],
  ['offer_sent', 'ws_send_subscribe', '`subscribe` sent with the offer'],
  ['answer', 'ws_answer_subscribe', '`answer` came'],
  ['answer_applied', 'remote_answer', 'setRemoteDescription(answer) done'],
  ['ice', 'ice_connected', 'ICE connected'],
  ['dtls', 'dtls_connected', 'DTLS connected (RTCDtlsTransport state)'],
  ['pc_connected', 'pc_connected', 'connectionState connected'],
  ['first_rtp', 'first_rtp', 'first RTP packet (getStats, polled every 5 ms)'],
  ['first_video_rtp', 'first_video_rtp', 'first video RTP packet (getStats)'],
  ['keyframe_received', 'first_frame_received', 'first frame\'s last packet in (rVFC receiveTime)'],
  ['first_decoded', 'first_decoded', 'first frame decoded (getStats framesDecoded > 0)'],
  ['first_frame', 'first_frame_presented', 'first frame presented (rVFC presentationTime)'],
];

export function stagesOf(b) {
  const m = b.marks || {};
  const t0 = m.join_pressed;
  const out = {};
  for (const [name, key] of STAGES) out[name] = t0 !== undefined && m[key] !== undefined ? r1(m[key] - t0) : null;
  return out;
}

export async function readProbe(page) {
  return page.evaluate(() => {
    const T = window.__ccBench || { marks: {} };
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      marks: T.marks, msgs: T.msgs, errors: T.errors, firstFrame: T.firstFrame || null,
      load: nav ? { response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd } : null,
      state: window.ccStudent ? window.ccStudent.state : null,
      pageError: window.ccStudent ? window.ccStudent.error : null,
    };
  });
}

// A student page ready to press Join: a fresh context (its own storage and
// cache, like another tablet), student.html loaded, the code and the name
// typed key by key.
export async function preparePage(browser, url, name, logLines, { code = 'demo' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'en-US' });
  await context.addInitScript(probe);
  const page = await context.newPage();
  page.on('pageerror', (e) => logLines.push(`${name} [pageerror] ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') logLines.push(`${name} [console.error] ${m.text()}`); });
  const t = Date.now();
  await page.goto(`${url}/student.html`, { waitUntil: 'load', timeout: 20000 });
  const loadMs = Date.now() - t;
  await page.locator('#join-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.locator('#code').fill('');
  await page.locator('#code').pressSequentially(code);
  await page.locator('#name').fill('');
  await page.locator('#name').pressSequentially(name);
  return { context, page, name, loadMs };
}

export async function pressJoin(p) {
  await p.page.locator('#join-form button[type=submit]').click({ timeout: 5000 });
}

// Waits (bounded) until the page presented and decoded its first frame.
export async function waitFirstFrame(p, timeoutMs) {
  try {
    await p.page.waitForFunction(() => {
      const m = window.__ccBench && window.__ccBench.marks;
      return m && m.first_frame !== undefined && m.first_decoded !== undefined;
    }, null, { timeout: timeoutMs, polling: 50 });
    return true;
  } catch (_) {
    return false;
  }
}
