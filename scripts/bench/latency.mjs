// scripts/bench/latency.mjs: glass-to-glass latency of the local encoder
// path (run it through scripts/bench/latency; usage there and in
// docs/bench-latency.md).
//
// The demo lesson as scripts/run.sh starts it, except that its camera
// pipeline (a test-video.pipe of the benchmark's own, given with
// --pipelines) puts the ccstamp element (scripts/bench/stamp.c, on
// GST_PLUGIN_PATH) right after videotestsrc: every frame carries, as a row
// of black and white blocks, the CLOCK_REALTIME millisecond it left the
// source. A headless Chromium student joins like a person; then, on every
// frame the page's camera <video> presents (requestVideoFrameCallback), the
// page draws the row into a canvas, reads the blocks back and takes
//   display time (performance.timeOrigin + metadata.expectedDisplayTime)
//   - capture time (the blocks)
// on the same machine clock. The frame metadata and getStats split it:
//   capture -> packet: the same pipeline and encoder in bench_media (a
//     separate 5 s run just before: capture, conversion, queue, VP8 encode,
//     RTP packetization);
//   capture -> received: metadata.receiveTime (the frame's last packet in
//     the browser) - capture; minus the above: the server (SFU) and the
//     loopback network;
//   received -> presented: jitter buffer + decode + hand-off to the
//     compositor (getStats: jitterBufferDelay, totalDecodeTime,
//     totalProcessingDelay over the window);
//   presented -> display: the compositor's wait for the (virtual) vsync.
//
// --paths browser (or "local browser"): the same with a browser teacher:
// the teacher page (teacher.html on this computer, --local-teacher)
// creates a lesson and publishes its camera, which an init script makes a
// canvas (captureStream, 30 fps) painting a moving ball and the same row
// of blocks with Date.now() on every animation frame: Chromium's own
// capture, VP8 encoder and pacer, then the SFU, then the student. The
// teacher's getStats (totalEncodeTime, totalPacketSendDelay) give its
// encode and pacer share.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO, sleep, pct, r1, summary, machineNote, startServer, stagesOf, readProbe, preparePage, pressJoin, waitFirstFrame,
} from './pagelib.mjs';

const { launch } = await import(path.join(REPO, 'tests/e2e/lib/chromium.mjs'));

const argv = process.argv.slice(2);
const opt = { sizes: ['1280x720', '1920x1080'], paths: ['local'], seconds: 20, out: path.join(REPO, 'bench-results'), encodeStage: true };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) die(`${a} needs a value`); return argv[++i]; };
  switch (a) {
    case '--quick': opt.seconds = 8; break;
    case '--seconds': opt.seconds = Number(val()); if (!(opt.seconds >= 2 && opt.seconds <= 300)) die('--seconds 2..300'); break;
    case '--sizes': opt.sizes = val().split(/[ ,]+/).filter(Boolean); break;
    case '--paths': opt.paths = val().split(/[ ,]+/).filter(Boolean); break;
    case '--no-encode-stage': opt.encodeStage = false; break;
    case '--out': opt.out = path.resolve(val()); break;
    case '-h': case '--help':
      console.log('usage: scripts/bench/latency [--quick] [--seconds S] [--sizes "1280x720 1920x1080"] [--paths "local browser"] [--no-encode-stage] [--out DIR]');
      process.exit(0);
      break;
    default: die(`unknown option ${a}`);
  }
}
for (const s of opt.sizes) if (!/^\d{3,4}x\d{3,4}$/.test(s)) die(`bad size ${s}`);
for (const p of opt.paths) if (!['local', 'browser'].includes(p)) die(`--paths: local and/or browser, not ${p}`);
function die(msg) { console.error(`latency: ${msg}`); process.exit(2); }
const log = (...a) => console.error('latency:', ...a);

const CC_BIN = path.resolve(REPO, process.env.CLASSCAST || 'build/classcast');
const BUILD = path.dirname(CC_BIN);
const BENCH_MEDIA = path.join(BUILD, 'bench_media');
const PLUGIN = path.join(BUILD, 'libgstccstamp.so');
if (!existsSync(CC_BIN)) die(`no ${CC_BIN}`);
if (!existsSync(PLUGIN)) die(`no ${PLUGIN} (ninja -C ${path.relative(REPO, BUILD)} libgstccstamp.so)`);
const GST_ENV = { GST_PLUGIN_PATH: [BUILD, process.env.GST_PLUGIN_PATH].filter(Boolean).join(':') };

const RUNDIR = path.join(opt.out, 'latency-runs');
rmSync(RUNDIR, { recursive: true, force: true });
mkdirSync(RUNDIR, { recursive: true });

// The benchmark's pipelines: pipelines/test-video.pipe with the stamp
// right after the source (same caps, same conversion), test-audio as is.
const PIPES = mkdtempSync(path.join(os.tmpdir(), 'cc-bench-latency-pipes-'));
process.on('exit', () => rmSync(PIPES, { recursive: true, force: true }));
writeFileSync(path.join(PIPES, 'test-video.pipe'), `# test-video (benchmark): pipelines/test-video.pipe with ccstamp (scripts/bench/stamp.c)
# painting the capture time into each frame. Vars: WIDTH, HEIGHT, FPS, PATTERN.
videotestsrc is-live=true pattern=\${PATTERN:-ball}
  ! video/x-raw,format=I420,width=\${WIDTH:-1280},height=\${HEIGHT:-720},framerate=\${FPS:-30}/1
  ! ccstamp
  ! videoconvert
  ! video/x-raw,format=I420,width=\${WIDTH:-1280},height=\${HEIGHT:-720},framerate=\${FPS:-30}/1,pixel-aspect-ratio=1/1
  ! appsink name=sink
`);
copyFileSync(path.join(REPO, 'pipelines/test-audio.pipe'), path.join(PIPES, 'test-audio.pipe'));

// capture -> packet for this pipeline and size, from bench_media.
function encodeStage(size) {
  if (!opt.encodeStage || !existsSync(BENCH_MEDIA)) return null;
  try {
    const out = execFileSync(BENCH_MEDIA, ['--pipelines', PIPES, '--seconds', '5', '--no-header', `camera-${size}`],
      { cwd: REPO, env: { ...process.env, ...GST_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
    const line = out.split('\n').filter((l) => l.startsWith('{')).pop();
    return line ? JSON.parse(line) : null;
  } catch (e) {
    log(`bench_media failed: ${e.message.split('\n')[0]}`);
    return null;
  }
}

// In the page: read the blocks of every frame the camera <video> presents
// for `seconds`, with the frame's metadata, and getStats of the inbound
// video before and after.
async function collect(page, seconds) {
  return page.evaluate(async ({ seconds }) => {
    const T = window.__ccBench;
    const v = Array.from(document.querySelectorAll('video')).filter((x) => x.videoWidth > 0)
      .sort((a, b) => b.videoWidth - a.videoWidth)[0];
    if (!v) return { error: 'no playing video' };
    const pc = T.pc;
    const stats = async () => {
      let o = null;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && (!o || s.framesDecoded > o.framesDecoded)) {
          o = { framesDecoded: s.framesDecoded, framesReceived: s.framesReceived, framesDropped: s.framesDropped,
            jitterBufferDelay: s.jitterBufferDelay, jitterBufferEmittedCount: s.jitterBufferEmittedCount,
            jitterBufferTargetDelay: s.jitterBufferTargetDelay, jitterBufferMinimumDelay: s.jitterBufferMinimumDelay,
            totalDecodeTime: s.totalDecodeTime, totalProcessingDelay: s.totalProcessingDelay,
            totalAssemblyTime: s.totalAssemblyTime, framesAssembledFromMultiplePackets: s.framesAssembledFromMultiplePackets,
            totalInterFrameDelay: s.totalInterFrameDelay, packetsLost: s.packetsLost, nackCount: s.nackCount,
            pliCount: s.pliCount, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
            decoderImplementation: s.decoderImplementation, jitter: s.jitter };
        }
      });
      return o;
    };
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const frames = [];
    let bad = 0;
    const s0 = await stats();
    const t0 = performance.now();
    const origin = performance.timeOrigin;
    const M = 4294967296;
    // The block row (scripts/bench/stamp.c): 44 blocks across the width,
    // W/44 tall; read at their centres, whatever the scale.
    const read = () => {
      const W = v.videoWidth;
      const bw = Math.max(3, Math.floor(W / 44));
      if (canvas.width !== W || canvas.height !== bw) { canvas.width = W; canvas.height = bw; }
      ctx.drawImage(v, 0, 0, W, bw, 0, 0, W, bw);
      const img = ctx.getImageData(0, 0, W, bw).data;
      const bits = [];
      const cy = Math.floor(bw / 2);
      for (let b = 0; b < 44; b++) {
        const cx = Math.floor(((b + 0.5) * W) / 44);
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const o = ((cy + dy) * W + cx + dx) * 4;
            sum += img[o] + img[o + 1] + img[o + 2];
          }
        }
        bits.push(sum / 27 > 128 ? 1 : 0);
      }
      if (bits[0] !== 1 || bits[1] !== 0 || bits[42] !== 0 || bits[43] !== 1) return null;
      let ms = 0;
      for (let i = 0; i < 32; i++) ms = ms * 2 + bits[2 + i];
      let check = 0;
      for (let i = 0; i < 8; i++) check = check * 2 + bits[34 + i];
      const sum = (Math.floor(ms / 16777216) + (Math.floor(ms / 65536) & 255) + (Math.floor(ms / 256) & 255) + (ms & 255) + 0xA5) & 255;
      return sum === check ? ms : null;
    };
    // Wall ms (the low 32 bits' frame of reference) minus the stamp.
    const since = (wallMs, stamp) => {
      let d = ((wallMs % M) - stamp) % M;
      if (d < 0) d += M;
      if (d > M / 2) d -= M;
      return d;
    };
    await new Promise((resolve) => {
      const onFrame = (now, md) => {
        const stamp = read();
        if (stamp === null) {
          bad++;
        } else {
          const f = { cb: since(origin + now, stamp) };
          if (md.presentationTime) f.presented = since(origin + md.presentationTime, stamp);
          // On the screen: the expected display time, never before the
          // frame was handed to the compositor (headless estimates it).
          if (md.expectedDisplayTime) f.display = since(origin + Math.max(md.expectedDisplayTime, md.presentationTime || 0), stamp);
          if (md.receiveTime) f.received = since(origin + md.receiveTime, stamp);
          if (md.processingDuration !== undefined) f.processing = md.processingDuration * 1000;
          f.w = md.width;
          frames.push(f);
        }
        if (now - t0 < seconds * 1000) v.requestVideoFrameCallback(onFrame);
        else resolve();
      };
      v.requestVideoFrameCallback(onFrame);
    });
    const s1 = await stats();
    return { frames, bad, s0, s1, wall_s: (performance.now() - t0) / 1000,
      clock_skew_ms: Date.now() - (origin + performance.now()), video: { id: v.id, w: v.videoWidth, h: v.videoHeight } };
  }, { seconds });
}

function statsDelta(s0, s1) {
  if (!s0 || !s1) return null;
  const d = (k) => (s1[k] ?? 0) - (s0[k] ?? 0);
  const per = (a, b) => (d(b) > 0 ? r1((d(a) / d(b)) * 1000) : null);
  return {
    frames_decoded: d('framesDecoded'), frames_dropped: d('framesDropped'), packets_lost: d('packetsLost'),
    nacks: d('nackCount'), plis: d('pliCount'),
    jitter_buffer_ms: per('jitterBufferDelay', 'jitterBufferEmittedCount'),
    jitter_buffer_target_ms: s1.jitterBufferTargetDelay !== undefined ? per('jitterBufferTargetDelay', 'jitterBufferEmittedCount') : null,
    decode_ms: per('totalDecodeTime', 'framesDecoded'),
    processing_ms: per('totalProcessingDelay', 'framesDecoded'),
    assembly_ms: per('totalAssemblyTime', 'framesAssembledFromMultiplePackets'),
    decoder: s1.decoderImplementation || null,
    frame: `${s1.frameWidth}x${s1.frameHeight}`,
  };
}

// The browser teacher's camera: a canvas of the case's size painting a
// moving ball and the block row of scripts/bench/stamp.c with Date.now()
// (low 32 bits) on every animation frame, captured at 30 fps; audio from
// the fake device as before. Runs in the teacher page (addInitScript).
function teacherCamera([W, H]) {
  const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  const camera = () => {
    const c = document.createElement('canvas');
    c.width = W;
    c.height = H;
    const ctx = c.getContext('2d');
    const bw = Math.floor(W / 44);
    const M = 4294967296;
    const paint = () => {
      const ms = Date.now() % M;
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, W, H);
      const t = performance.now() / 1000;
      ctx.fillStyle = '#fff';
      ctx.beginPath();
      ctx.arc(W / 2 + (W / 3) * Math.sin(t), H / 2 + (H / 3) * Math.cos(t * 1.3), H / 20, 0, 2 * Math.PI);
      ctx.fill();
      const check = (Math.floor(ms / 16777216) + (Math.floor(ms / 65536) & 255) + (Math.floor(ms / 256) & 255) + (ms & 255) + 0xA5) & 255;
      const bits = [1, 0];
      for (let i = 31; i >= 0; i--) bits.push(Math.floor(ms / 2 ** i) % 2);
      for (let i = 7; i >= 0; i--) bits.push((check >> i) & 1);
      bits.push(0, 1);
      for (let b = 0; b < 44; b++) {
        const x0 = Math.floor((b * W) / 44);
        ctx.fillStyle = bits[b] ? '#fff' : '#000';
        ctx.fillRect(x0, 0, Math.floor(((b + 1) * W) / 44) - x0, bw);
      }
      requestAnimationFrame(paint);
    };
    paint();
    return c.captureStream(30).getVideoTracks()[0];
  };
  navigator.mediaDevices.getUserMedia = async (cons) => {
    const out = new MediaStream();
    if (cons && cons.audio) (await orig({ audio: cons.audio })).getAudioTracks().forEach((t) => out.addTrack(t));
    if (cons && cons.video) out.addTrack(camera());
    return out;
  };
}

// Outbound video getStats of the teacher page.
async function teacherStats(page) {
  return page.evaluate(async () => {
    const pc = window.ccTeacher && window.ccTeacher.pc;
    if (!pc) return null;
    let o = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && (!o || s.framesEncoded > o.framesEncoded)) {
        o = { framesEncoded: s.framesEncoded, totalEncodeTime: s.totalEncodeTime, packetsSent: s.packetsSent,
          totalPacketSendDelay: s.totalPacketSendDelay, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          framesPerSecond: s.framesPerSecond, qualityLimitationReason: s.qualityLimitationReason,
          encoderImplementation: s.encoderImplementation, targetBitrate: s.targetBitrate };
      }
    });
    return o;
  });
}

// A teacher page on this computer (--local-teacher: signed in) creates a
// lesson and publishes its (canvas) camera; returns the lesson code.
async function startTeacher(browser, url, size, logLines) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  await context.addInitScript(teacherCamera, size.split('x').map(Number));
  const page = await context.newPage();
  page.on('pageerror', (e) => logLines.push(`teacher [pageerror] ${e.message}`));
  await page.goto(`${url}/teacher.html`, { waitUntil: 'load', timeout: 20000 });
  await page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#lesson-title', 'Latency');
  await page.fill('#teacher-name', 'Bench');
  await page.click('#create-btn');
  await page.waitForFunction(() => /^[0-9]{6}$/.test((window.ccTeacher && window.ccTeacher.code) || ''), null, { timeout: 10000 });
  await page.waitForFunction(() => window.ccTeacher.sendState === 'connected', null, { timeout: 15000 });
  const code = await page.evaluate(() => window.ccTeacher.code);
  return { context, page, code };
}

async function oneCase(browser, size, which) {
  const [w, h] = size.split('x').map(Number);
  const enc = which === 'local' ? (log(`${size}: bench_media (capture -> packet, 5 s)`), encodeStage(size)) : null;
  log(`${size} ${which}: server, ${which === 'local' ? 'the stamped test camera' : 'a browser teacher'}, a Chromium student, ${opt.seconds} s`);
  const load0 = machineNote().loadavg;
  const srvArgs = which === 'local'
    ? ['--pipelines', PIPES, '--source', 'test-video,test-audio', '--local-teacher', '--video-size', `${w}x${h}`]
    : ['--local-teacher'];
  const srv = await startServer(CC_BIN, `latency-${which}-${size}`, srvArgs, { logDir: RUNDIR, env: GST_ENV });
  const logLines = [];
  let p = null;
  let teacher = null;
  try {
    let code = 'demo';
    if (which === 'browser') {
      teacher = await startTeacher(browser, srv.url, size, logLines);
      code = teacher.code;
    }
    await sleep(1500);
    p = await preparePage(browser, srv.url, 'Latency', logLines, { code });
    await pressJoin(p);
    if (!(await waitFirstFrame(p, 15000))) throw new Error(`no picture within 15 s (${srv.logFile})`);
    const join = stagesOf(await readProbe(p.page));
    // Past the first frames and the jitter buffer's start (a browser
    // teacher's encoder ramps its rate up for a few seconds more).
    await sleep(which === 'browser' ? 5000 : 2000);
    const t0 = teacher ? await teacherStats(teacher.page) : null;
    const c = await collect(p.page, opt.seconds);
    if (c.error) throw new Error(c.error);
    const t1 = teacher ? await teacherStats(teacher.page) : null;
    const fr = c.frames;
    const col = (k) => fr.map((f) => f[k]).filter((x) => typeof x === 'number');
    const diff = (a, b) => fr.filter((f) => typeof f[a] === 'number' && typeof f[b] === 'number').map((f) => f[a] - f[b]);
    const res = {
      size, path: which, frames: fr.length, unreadable: c.bad, fps: r1(fr.length / c.wall_s), clock_skew_ms: r1(c.clock_skew_ms),
      video: c.video, loadavg_start: load0, loadavg_end: machineNote().loadavg,
      glass_to_glass_ms: summary(col('display')),
      capture_to_presented_ms: summary(col('presented')),
      capture_to_received_ms: summary(col('received')),
      received_to_presented_ms: summary(diff('presented', 'received')),
      presented_to_display_ms: summary(diff('display', 'presented')),
      decode_processing_ms: summary(col('processing')),
      getstats: statsDelta(c.s0, c.s1),
      bench_media: enc ? { capture_to_packet_ms_median: enc.capture_to_packet_ms_median, capture_to_packet_ms_p99: enc.capture_to_packet_ms_p99,
        encode_ms_median: enc.encode_ms_median, encode_ms_p99: enc.encode_ms_p99, capture_to_encode_ms_median: enc.capture_to_encode_ms_median,
        fps: enc.fps, kbps: enc.kbps } : null,
      teacher: t0 && t1 ? {
        encode_ms: t1.framesEncoded > t0.framesEncoded ? r1(((t1.totalEncodeTime - t0.totalEncodeTime) / (t1.framesEncoded - t0.framesEncoded)) * 1000) : null,
        pacer_ms: t1.packetsSent > t0.packetsSent ? r1(((t1.totalPacketSendDelay - t0.totalPacketSendDelay) / (t1.packetsSent - t0.packetsSent)) * 1000) : null,
        frame: `${t1.frameWidth}x${t1.frameHeight}`, fps: t1.framesPerSecond, quality_limitation: t1.qualityLimitationReason,
        target_kbps: t1.targetBitrate ? Math.round(t1.targetBitrate / 1000) : null, encoder: t1.encoderImplementation || null,
      } : null,
      join_stages_ms: join,
      page_log: logLines.slice(0, 20),
    };
    const g = res.capture_to_received_ms.p50;
    // Difference of two medians from two runs: only an estimate, and
    // meaningless (left out) when the runs saw different load.
    const est = enc && g !== null ? r1(g - enc.capture_to_packet_ms_median) : null;
    res.server_and_network_ms_est = est !== null && est >= 0 ? est : null;
    log(`${size} ${which}: glass-to-glass p50 ${res.glass_to_glass_ms.p50} ms, p95 ${res.glass_to_glass_ms.p95} ms over ${fr.length} frames (${c.bad} unreadable)`);
    return res;
  } finally {
    if (p) await p.context.close().catch(() => {});
    if (teacher) await teacher.context.close().catch(() => {});
    await srv.stop();
  }
}

function fmt(x) { return x === null || x === undefined ? '-' : String(x); }
function markdown(res) {
  const L = [];
  L.push('# Glass-to-glass latency (loopback)');
  L.push('');
  L.push(`${res.date}; commit ${res.commit}; ${res.machine.cpus} CPUs (${res.machine.model}); Chromium ${res.chromium}.`);
  L.push(`Reproduce: \`${res.command}\` (docs/bench-latency.md).`);
  L.push('');
  L.push('The camera paints its capture time into each frame as a row of blocks (the local encoder path:');
  L.push('the demo lesson\'s test camera, videotestsrc ball 30 fps with scripts/bench/stamp.c; a browser');
  L.push('teacher: a canvas painted on every animation frame, captured at 30 fps). A headless Chromium');
  L.push('student on the same machine reads it from every frame it presents and subtracts it from the');
  L.push('frame\'s expected display time (requestVideoFrameCallback), on the same clock. Capture of a real');
  L.push('camera (exposure, USB) and the panel\'s own scan-out are not in it.');
  L.push('');
  for (const c of res.cases) {
    if (c.error) { L.push(`## ${c.path} ${c.size}: FAILED: ${c.error}`); L.push(''); continue; }
    const g = c.glass_to_glass_ms;
    L.push(`## ${c.path === 'browser' ? 'Browser teacher' : 'Local encoder (the demo lesson\'s test camera)'}, ${c.size}, 30 fps`);
    L.push('');
    L.push(`${c.frames} frames read in ${res.seconds} s (${c.fps} fps presented, ${c.unreadable} unreadable); load average ${c.loadavg_start} at the start, ${c.loadavg_end} at the end.`);
    L.push('');
    L.push('| stage | p50 (ms) | p95 (ms) | how |');
    L.push('|---|---:|---:|---|');
    const bm = c.bench_media;
    if (bm) {
      L.push(`| capture -> RTP packets (convert, queue, VP8 encode, packetize) | ${fmt(r1(bm.capture_to_packet_ms_median))} | ${fmt(r1(bm.capture_to_packet_ms_p99))} (p99) | bench_media, same pipeline, 5 s run before |`);
      L.push(`| of which VP8 encode | ${fmt(r1(bm.encode_ms_median))} | ${fmt(r1(bm.encode_ms_p99))} (p99) | bench_media |`);
    }
    const tc = c.teacher;
    if (tc) {
      L.push(`| teacher page: VP8 encode (mean) | ${fmt(tc.encode_ms)} | | teacher getStats totalEncodeTime / framesEncoded (${tc.frame} at ${fmt(tc.fps)} fps, ${fmt(tc.target_kbps)} kbit/s target, limited by ${fmt(tc.quality_limitation)}) |`);
      L.push(`| teacher page: pacer (mean) | ${fmt(tc.pacer_ms)} | | teacher getStats totalPacketSendDelay / packetsSent |`);
    }
    L.push(`| capture -> last packet in the browser | ${fmt(c.capture_to_received_ms.p50)} | ${fmt(c.capture_to_received_ms.p95)} | rVFC receiveTime |`);
    if (bm) L.push(`| SFU + loopback network (estimate) | ${fmt(c.server_and_network_ms_est)} | | the row above minus capture -> packets (p50s of two runs; - when negative) |`);
    const gs = c.getstats || {};
    L.push(`| received -> presented (jitter buffer, decode, to the compositor) | ${fmt(c.received_to_presented_ms.p50)} | ${fmt(c.received_to_presented_ms.p95)} | rVFC presentationTime - receiveTime |`);
    L.push(`| of which jitter buffer (mean) | ${fmt(gs.jitter_buffer_ms)} | | getStats jitterBufferDelay / jitterBufferEmittedCount |`);
    L.push(`| of which decode (mean) | ${fmt(gs.decode_ms)} | | getStats totalDecodeTime / framesDecoded (${fmt(gs.decoder)}) |`);
    L.push(`| first packet -> decoded (mean) | ${fmt(gs.processing_ms)} | | getStats totalProcessingDelay / framesDecoded |`);
    L.push(`| presented -> display | ${fmt(c.presented_to_display_ms.p50)} | ${fmt(c.presented_to_display_ms.p95)} | rVFC expectedDisplayTime - presentationTime |`);
    L.push(`| **glass to glass** | **${fmt(g.p50)}** | **${fmt(g.p95)}** | expectedDisplayTime - the painted capture time |`);
    L.push('');
    const is720 = c.size === '1280x720' && c.path === 'local';
    if (is720) L.push(`**Target (720p30): p50 < 100 ms: ${g.p50 !== null && g.p50 < 100 ? 'met' : 'NOT met'}; p95 < 150 ms: ${g.p95 !== null && g.p95 < 150 ? 'met' : 'NOT met'}.**`);
    L.push(`Window: ${fmt(gs.frames_decoded)} frames decoded, ${fmt(gs.frames_dropped)} dropped, ${fmt(gs.packets_lost)} packets lost, ${fmt(gs.nacks)} NACKs, ${fmt(gs.plis)} PLIs; page clock vs Date.now: ${fmt(c.clock_skew_ms)} ms.`);
    L.push('');
  }
  L.push('Every number: latency.json.');
  return L.join('\n') + '\n';
}

const res = { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), command: `scripts/bench/latency ${argv.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`.trim(),
  machine: machineNote(), seconds: opt.seconds, cases: [] };
try { res.commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch (_) { res.commit = 'unknown'; }
let browser = null;
try {
  browser = await launch();
  res.chromium = browser.version();
  for (const which of opt.paths) {
    for (const size of opt.sizes) {
      try {
        res.cases.push(await oneCase(browser, size, which));
      } catch (e) {
        log(`${size} ${which}: ${e.message}`);
        res.cases.push({ size, path: which, error: e.message.split('\n')[0] });
      }
    }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
}
mkdirSync(opt.out, { recursive: true });
writeFileSync(path.join(opt.out, 'latency.json'), JSON.stringify(res, null, 2) + '\n');
const md = markdown(res);
writeFileSync(path.join(opt.out, 'latency.md'), md);
process.stdout.write(md);
log(`wrote ${path.join(opt.out, 'latency.md')} and latency.json`);
process.exit(res.cases.some((c) => c.error) ? 1 : 0);
