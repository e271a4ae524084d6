// scripts/bench/screenbits.mjs: Chromium's own WebRTC screen encoder on the
// lesson sequence of scripts/bench/screenbits (run through that script; it
// provides the Xvfb display).
//
// A Chromium window is opened first on the display (playwright-core with
// Debian's /usr/bin/chromium, not headless: the X11 screen capturer needs
// a real X client), then the lesson page in a kiosk window on top of it,
// so the screen shows only the lesson. The first window's page calls
// getDisplayMedia for the whole screen at 1920x1080 and 30 fps (ideal
// constraints: with none, Chromium 156 captures 1280x720, and the point is
// the encoder on the same picture classcast gets), picked without a
// dialog by --auto-select-desktop-capture-source="Entire screen" (with
// --use-fake-ui-for-media-stream Chromium picks source "screen:0:0", which
// its X11 capturer rejects on Xvfb: "Could not start video source"). It
// sends the track over an RTCPeerConnection to a second one in the same
// page (loopback; VP8 asked for with setCodecPreferences, the codec
// classcast sends; encoder, rate control, bandwidth estimation and content
// hint at Chromium's defaults). Every second
// it reads getStats: outbound-rtp bytesSent, framesEncoded, qpSum,
// frameWidth/Height, qualityLimitationReason; the inbound side's decoded
// frames and freezes.
//
// SSIM: every 500 ms the page takes the next captured frame (the encoder's
// input, from a MediaStreamTrackProcessor on the captured track) whose
// block row (the page's state id) it can read, copies its luma, and waits
// for the decoded frame (a processor on the received track) that shows the
// same id; both lumas are POSTed to this script, which saves them
// (OUT/pairs.txt); bench_screenbits pairs computes the SSIM. Comparing with
// Chromium's own captured frame, not classcast's recording, leaves out the
// two capturers' different RGB-to-YUV conversions.
//
// Output on stdout: ROW lines (one per segment and "all") for the Markdown
// table, NOTE lines, one JSON line. Bounded: about 60 s; everything it
// started is killed on exit.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { REPO, sleep, r1, machineNote } from './pagelib.mjs';

const require = createRequire(path.join(REPO, 'tests/e2e/package.json'));
const { chromium } = require('playwright-core');

const argv = process.argv.slice(2);
const opt = { display: process.env.DISPLAY, out: null, page: path.join(REPO, 'scripts/bench/screenbits.html'), pairMs: 500 };
for (let i = 0; i < argv.length; i++) {
  const v = () => argv[++i];
  switch (argv[i]) {
    case '--display': opt.display = v(); break;
    case '--out': opt.out = path.resolve(v()); break;
    case '--page': opt.page = path.resolve(v()); break;
    case '--pair-ms': opt.pairMs = Number(v()); break;
    default: console.error(`unknown argument ${argv[i]}`); process.exit(2);
  }
}
if (!opt.display || !opt.out) { console.error('usage: screenbits.mjs --display :N --out DIR [--page FILE]'); process.exit(2); }
mkdirSync(opt.out, { recursive: true });

const SEG = ['still slide', 'slide changes', 'scrolling text', 'video clip'];
const segOf = (id) => (id === 1 ? 0 : id >= 2 && id <= 6 ? 1 : id >= 1000 && id < 2000 ? 2 : id >= 2000 && id < 3000 ? 3 : -1);

let kiosk = null;
let browser = null;
let profile = null;
const cleanup = () => {
  if (kiosk && kiosk.exitCode === null) { try { process.kill(-kiosk.pid, 'SIGKILL'); } catch (_) { /* gone */ } }
  if (profile) rmSync(profile, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---------------------------------------------------------------- server
const CAP_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>capturer</title></head>
<body><button id="go">share</button><script>
'use strict';
const SX = 1600, SY = 1040, BW = 16;
window.cc = { samples: [], errors: [], pairs: 0, pairFails: 0, settings: null, codecs: null };
function lumaOfRect(buf, fmt, w, h) { // Y of a copied rect (planar Y first, or RGB)
  if (/^(I4|NV12)/.test(fmt)) return buf.subarray(0, w * h);
  const y = new Uint8Array(w * h), rgb = fmt.startsWith('RGB');
  for (let i = 0; i < w * h; i++) {
    const r = buf[4 * i + (rgb ? 0 : 2)], g = buf[4 * i + 1], b = buf[4 * i + (rgb ? 2 : 0)];
    y[i] = Math.min(255, Math.max(0, Math.round(16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256)));
  }
  return y;
}
async function readId(frame) { // the lesson page's block row, or -1
  const W = frame.visibleRect.width, H = frame.visibleRect.height;
  const sx = Math.floor(SX * W / 1920 / 2) * 2, sy = Math.floor(SY * H / 1080 / 2) * 2;
  const bw = BW * W / 1920, rw = Math.ceil(18 * bw / 2) * 2, rh = Math.max(2, Math.ceil(bw / 2) * 2);
  const rect = { x: sx, y: sy, width: rw, height: rh };
  const buf = new Uint8Array(frame.allocationSize({ rect }));
  await frame.copyTo(buf, { rect });
  const y = lumaOfRect(buf, frame.format, rw, rh);
  const bit = (i) => y[Math.floor(rh / 2) * rw + Math.floor(i * bw + bw / 2)] > 128;
  if (!bit(0) || bit(1)) return -1;
  let id = 0;
  for (let i = 0; i < 16; i++) id = (id << 1) | (bit(2 + i) ? 1 : 0);
  return id;
}
async function fullLuma(frame) {
  const W = frame.visibleRect.width, H = frame.visibleRect.height;
  const buf = new Uint8Array(frame.allocationSize());
  const layout = await frame.copyTo(buf);
  if (/^(I4|NV12)/.test(frame.format)) {
    const y = new Uint8Array(W * H), off = layout[0].offset, st = layout[0].stride;
    for (let r = 0; r < H; r++) y.set(buf.subarray(off + r * st, off + r * st + W), r * W);
    return { y, W, H };
  }
  return { y: lumaOfRect(buf, frame.format, W, H), W, H };
}
// Captured frames waiting for their decoded twin (a few at once: in the
// scroll and the video each id is on one frame only, which the encoder
// may skip).
let armed = false, posting = Promise.resolve();
const pendings = [];
function post(kind, id, l, n) {
  posting = posting.then(() => fetch('/luma?kind=' + kind + '&id=' + id + '&w=' + l.W + '&h=' + l.H + '&n=' + n,
    { method: 'POST', body: l.y })).catch((e) => { cc.errors.push('post: ' + e.message); });
}
async function pumpLocal(track) {
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  for (;;) {
    const { value: f, done } = await reader.read();
    if (done) return;
    try {
      if (armed && pendings.length < 6) {
        const id = await readId(f);
        if (id > 0 && id !== 65535 && !pendings.some((p) => p.id === id)) {
          armed = false;
          pendings.push({ id, l: await fullLuma(f), t: performance.now() });
        }
      }
    } catch (e) { cc.errors.push('local: ' + e.message); }
    f.close();
  }
}
async function pumpRemote(track) {
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  for (;;) {
    const { value: f, done } = await reader.read();
    if (done) return;
    try {
      while (pendings.length && performance.now() - pendings[0].t > 2000) { pendings.shift(); cc.pairFails++; }
      if (pendings.length) {
        const id = await readId(f), i = pendings.findIndex((p) => p.id === id);
        if (i >= 0) {
          const p = pendings.splice(i, 1)[0], n = cc.pairs++;
          post('local', p.id, p.l, n);
          post('remote', p.id, await fullLuma(f), n);
        }
      }
    } catch (e) { cc.errors.push('remote: ' + e.message); }
    f.close();
  }
}
async function start(pairMs) {
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 } }, audio: false });
  const track = stream.getVideoTracks()[0];
  cc.settings = track.getSettings();
  cc.label = track.label;
  cc.contentHint = track.contentHint;
  const pc1 = new RTCPeerConnection(), pc2 = new RTCPeerConnection();
  pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate);
  pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate);
  pc2.ontrack = (e) => { pumpRemote(e.track); };
  const tr = pc1.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  const vp8 = RTCRtpSender.getCapabilities('video').codecs.filter((c) => /vp8/i.test(c.mimeType));
  tr.setCodecPreferences(vp8);
  await pc1.setLocalDescription();
  await pc2.setRemoteDescription(pc1.localDescription);
  await pc2.setLocalDescription();
  await pc1.setRemoteDescription(pc2.localDescription);
  pumpLocal(track.clone());
  setInterval(() => { armed = true; }, pairMs);
  const poll = async () => {
    const s = { t: Date.now() };
    (await pc1.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        for (const k of ['bytesSent', 'headerBytesSent', 'retransmittedBytesSent', 'framesEncoded', 'framesSent', 'keyFramesEncoded', 'qpSum',
          'frameWidth', 'frameHeight', 'framesPerSecond', 'targetBitrate', 'qualityLimitationReason', 'encoderImplementation',
          'totalEncodeTime', 'hugeFramesSent']) s[k] = r[k];
      }
      if (r.type === 'media-source' && r.kind === 'video') { s.srcFrames = r.frames; s.srcWidth = r.width; s.srcFps = r.framesPerSecond; }
      if (r.type === 'codec' && /video/.test(r.mimeType)) s.codec = r.mimeType;
    });
    (await pc2.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        s.framesDecoded = r.framesDecoded; s.freezeCount = r.freezeCount; s.totalFreezesDuration = r.totalFreezesDuration;
        s.rxWidth = r.frameWidth;
      }
    });
    cc.samples.push(s);
  };
  await poll();
  setInterval(poll, 1000);
}
document.getElementById('go').onclick = () => { start(window.ccPairMs || 500).then(() => { cc.started = true; }, (e) => { cc.errors.push('start: ' + e.name + ': ' + e.message); }); };
</script></body></html>`;

const pairs = [];
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (req.method === 'GET' && u.pathname === '/cap.html') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(CAP_PAGE);
    return;
  }
  if (req.method === 'POST' && u.pathname === '/luma') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const kind = u.searchParams.get('kind'), n = Number(u.searchParams.get('n'));
      const id = Number(u.searchParams.get('id')), w = Number(u.searchParams.get('w')), h = Number(u.searchParams.get('h'));
      const file = `pair-${String(n).padStart(4, '0')}.${kind}.y`;
      writeFileSync(path.join(opt.out, file), Buffer.concat(chunks));
      let p = pairs[n];
      if (!p) p = pairs[n] = { id, w, h };
      p[kind] = file;
      if (kind === 'remote' && (w !== p.w || h !== p.h)) p.sizeMismatch = true;
      res.writeHead(204);
      res.end();
    });
    return;
  }
  res.writeHead(404);
  res.end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// --------------------------------------------------------------- browsers
const env = { ...process.env, DISPLAY: opt.display };
browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: false,
  env,
  args: ['--no-sandbox', '--disable-gpu', '--ozone-platform=x11',
    '--auto-select-desktop-capture-source=Entire screen', '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows', '--disable-renderer-backgrounding',
    '--window-position=0,0', '--window-size=640,480'],
  timeout: 30000,
});
const ctx = await browser.newContext({ viewport: { width: 600, height: 400 } });
const page = await ctx.newPage();
const pageLog = [];
page.on('console', (m) => pageLog.push(`[${m.type()}] ${m.text()}`));
page.on('pageerror', (e) => pageLog.push(`[pageerror] ${e.message}`));
await page.goto(`${base}/cap.html`, { waitUntil: 'load' });
await page.evaluate((ms) => { window.ccPairMs = ms; }, opt.pairMs);

// The lesson on top, its clock starting 9 s from now.
const t0 = Date.now() + 9000;
profile = mkdtempSync(path.join(os.tmpdir(), 'cc-screenbits-kiosk-'));
kiosk = spawn('chromium', ['--kiosk', '--no-sandbox', '--disable-gpu', '--ozone-platform=x11', '--no-first-run',
  '--noerrdialogs', '--disable-infobars', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-default-apps', '--disable-extensions', '--password-store=basic',
  `--user-data-dir=${profile}`, '--window-position=0,0', '--window-size=1920,1080', `file://${opt.page}#t0=${t0}`],
{ env, detached: true, stdio: 'ignore' });
for (let i = 0; i < 60; i++) {
  let tree = '';
  try { tree = execFileSync('xwininfo', ['-root', '-tree'], { env, encoding: 'utf8' }); } catch (_) { /* not yet */ }
  if (/"Lesson/.test(tree)) break;
  await sleep(100);
}
await sleep(1500);
await page.click('#go');
await page.waitForFunction(() => window.cc.started || window.cc.errors.length, null, { timeout: 15000 });
const early = await page.evaluate(() => window.cc);
if (!early.started) {
  console.error(`capture did not start: ${early.errors.join('; ')}\n${pageLog.join('\n')}`);
  process.exit(1);
}
console.error(`capturing: ${early.label} ${JSON.stringify(early.settings)}; the sequence starts in ${((t0 - Date.now()) / 1000).toFixed(1)} s`);
await sleep(t0 + 41500 - Date.now());
const cc = await page.evaluate(() => window.cc);
await browser.close();
browser = null;
server.close();

// ---------------------------------------------------------------- results
const S = cc.samples;
// Linear interpolation of a counter at time t from the 1 s samples.
function at(key, t) {
  for (let i = 1; i < S.length; i++) {
    if (S[i].t >= t && S[i - 1].t <= t && S[i][key] !== undefined && S[i - 1][key] !== undefined) {
      const a = S[i - 1], b = S[i];
      return a[key] + (b[key] - a[key]) * ((t - a.t) / Math.max(1, b.t - a.t));
    }
  }
  return null;
}
function mode(key, from, to) {
  const c = {};
  for (const s of S) if (s.t >= from && s.t <= to && s[key] !== undefined) c[s[key]] = (c[s[key]] || 0) + 1;
  return Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} (${n})`).join(', ');
}
const rows = [];
const segs = SEG.map((name, k) => ({ name, from: t0 + k * 10000, to: t0 + (k + 1) * 10000 }));
segs.push({ name: 'all', from: t0, to: t0 + 40000 });
for (const s of segs) {
  const sec = (s.to - s.from) / 1000;
  const b0 = at('bytesSent', s.from), b1 = at('bytesSent', s.to);
  const f0 = at('framesEncoded', s.from), f1 = at('framesEncoded', s.to);
  const q0 = at('qpSum', s.from), q1 = at('qpSum', s.to);
  const kbps = b0 !== null && b1 !== null ? ((b1 - b0) * 8) / 1000 / sec : null;
  const fps = f0 !== null && f1 !== null ? (f1 - f0) / sec : null;
  const size = kbps !== null && fps ? `${r1((kbps * 1000) / 8 / fps / 1000)} KB` : '-';
  const qp = q0 !== null && q1 !== null && f1 > f0 ? r1((q1 - q0) / (f1 - f0)) : null;
  const w = mode('frameWidth', s.from, s.to), h = mode('frameHeight', s.from, s.to);
  rows.push({ segment: s.name, seconds: sec, kbps: r1(kbps), fps: r1(fps), qp, width: w, height: h });
  console.log(`ROW | ${s.name} | ${sec} | **${kbps === null ? '-' : Math.round(kbps)}** | ${fps === null ? '-' : r1(fps)} | ${size} | ${qp ?? '-'} |`);
}
const last = S[S.length - 1] || {};
const good = pairs.filter((p) => p && p.local && p.remote && !p.sizeMismatch);
writeFileSync(path.join(opt.out, 'pairs.txt'), good.map((p) => `${p.id} ${p.w} ${p.h} ${p.local} ${p.remote}\n`).join(''));
console.log(`NOTE - capture: \`${cc.label}\`, track settings ${JSON.stringify(cc.settings)}; codec ${last.codec}, encoder ${last.encoderImplementation}; frame size sent: ${mode('frameWidth', t0, t0 + 40000)} wide, ${mode('frameHeight', t0, t0 + 40000)} high (seconds at each)`);
console.log(`NOTE - qualityLimitationReason per second: ${mode('qualityLimitationReason', t0, t0 + 40000)}; targetBitrate at the end ${last.targetBitrate} bit/s; keyframes ${last.keyFramesEncoded}; captured frames/s (media-source) ${r1(((at('srcFrames', t0 + 40000) ?? 0) - (at('srcFrames', t0) ?? 0)) / 40)}`);
console.log(`NOTE - receiver: ${last.framesDecoded} frames decoded, freezeCount ${last.freezeCount}, total freezes ${r1(last.totalFreezesDuration)} s`);
console.log(`NOTE - SSIM pairs: ${good.length} usable (${pairs.filter((p) => p && p.sizeMismatch).length} with a decoded size other than the captured one, ${cc.pairFails} captured frames whose id never came out decoded within 2 s); errors: ${cc.errors.slice(0, 3).join('; ') || 'none'}`);
console.log(`JSON ${JSON.stringify({ config: 'Chromium (c)', t0, machine: machineNote(), settings: cc.settings, rows, samples: S })}`);
process.exit(0);
