// End to end: a WHEP viewer on a second, independent WebRTC stack.
//
// A teacher page in headless Chromium creates and starts a lesson and
// publishes its fake camera and microphone; npm `werift` (pure TypeScript
// WebRTC, 0.24.4: the last release whose engines allow Node 20) POSTs a
// recvonly video+audio offer to /whep/<code> with the lesson's viewer token,
// receives the RTP, and forwards the VP8 packets to a local UDP port where
// GStreamer depayloads and decodes them:
//   gst-launch-1.0 -v udpsrc address=127.0.0.1 port=P caps=... payload=<pt from
//   the answer> ! rtpjitterbuffer ! rtpvp8depay ! vp8dec ! fakesink silent=false
// Every decoded frame reaching fakesink prints one "last-message = chain" line;
// the test counts them (>= 30). Then DELETE on the Location ends the session.
// HTTP error answers (401 without / with a wrong token, 404 for a wrong code,
// 415 for a wrong content type) are checked on the way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';

import { startServer, artifactPath } from './lib/server.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';
import { launch, newPage, teacherStats, signInTeacher } from './lib/lesson.mjs';

const note = (...a) => console.log(...a);
const fmt = (v) => JSON.stringify(v);

// Keep only loopback candidates in an offer: the test talks to 127.0.0.1 only.
function loopbackOnly(sdp) {
  return sdp.split(/\r?\n/).filter((l) => !l.startsWith('a=candidate:') || / 127\.0\.0\.1 /.test(l)).join('\r\n');
}

// Payload type the answer chose for VP8 in its first video section.
function vp8PayloadType(sdp) {
  const video = sdp.split(/\r?\n(?=m=)/).find((s) => s.startsWith('m=video'));
  const m = video && /a=rtpmap:(\d+) VP8\/90000/i.exec(video);
  return m ? Number(m[1]) : null;
}

describe('whep', { timeout: 120_000 }, () => {
  let server;
  let browser;
  let teacher;
  const log = [];
  let gst;
  let gstOut = '';
  let viewer;
  let udp;

  before(async () => {
    server = await startServer('whep');
    browser = await launch();
  });

  after(async () => {
    try { writeFileSync(artifactPath('whep.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    try { writeFileSync(artifactPath('whep.gst.log'), gstOut.slice(-200_000)); } catch (_) { /* ignore */ }
    if (gst && gst.exitCode === null) gst.kill('SIGKILL');
    if (udp) udp.close();
    if (viewer) await viewer.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop().catch((e) => note(`stop after failure: ${e.message.split('\n')[0]}`));
  });

  let code;
  let viewerToken;
  it('a teacher page creates and starts a lesson and publishes camera and microphone', { timeout: 40_000 }, async () => {
    teacher = await newPage(browser, `${server.url}/teacher.html`, { log, tag: 'teacher' });
    const { page } = teacher;
    await signInTeacher(page, server);
    await page.fill('#lesson-title', 'WHEP');
    await page.fill('#teacher-name', 'Cô Lan');
    await page.click('#create-btn');
    await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });
    await page.click('#start');
    await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 10_000 });
    const r = await pollUntil(() => teacherStats(page),
      (s) => s.out.camera?.packetsSent > 50 && s.out.mic?.packetsSent > 50, { timeoutMs: 20_000, intervalMs: 500 });
    assert.ok(r.ok, `teacher is not sending: ${fmt(r.value)}\n${log.slice(-20).join('\n')}`);
    ({ code, viewerToken } = await page.evaluate(() => ({ code: window.ccTeacher.code, viewerToken: window.ccTeacher.viewerToken })));
    assert.ok(viewerToken, 'the created message carried a viewer_token');
    note(`lesson ${code}`);
  });

  it('WHEP refuses a missing or wrong token, a wrong code and a wrong content type', { timeout: 15_000 }, async () => {
    const post = (path, headers, body = 'v=0\r\n') => fetch(`${server.url}${path}`, {
      method: 'POST', headers, body, signal: AbortSignal.timeout(5000),
    });
    const sdpType = { 'Content-Type': 'application/sdp' };
    let res = await post(`/whep/${code}`, sdpType);
    assert.equal(res.status, 401, 'no token');
    res = await post(`/whep/${code}`, { ...sdpType, Authorization: 'Bearer wrong' });
    assert.equal(res.status, 401, 'wrong token');
    const other = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    res = await post(`/whep/${other}`, { ...sdpType, Authorization: `Bearer ${viewerToken}` });
    assert.equal(res.status, 404, 'wrong code');
    res = await post(`/whep/${code}`, { 'Content-Type': 'text/plain', Authorization: `Bearer ${viewerToken}` });
    assert.equal(res.status, 415, 'not application/sdp');
    assert.ok(server.alive());
  });

  let location;
  let frames = 0;
  it('werift watches over WHEP and GStreamer decodes >= 30 VP8 frames of it', { timeout: 60_000 }, async () => {
    viewer = new RTCPeerConnection({
      codecs: {
        video: [new RTCRtpCodecParameters({
          mimeType: 'video/VP8', clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
        })],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      },
      // One transport for both m-lines, as browsers do (the server answers
      // BUNDLE offers).
      bundlePolicy: 'max-bundle',
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceUseIpv6: false,
    });
    const vtx = viewer.addTransceiver('video', { direction: 'recvonly' });
    const atx = viewer.addTransceiver('audio', { direction: 'recvonly' });

    const got = { video: 0, audio: 0, videoPt: null, videoSsrc: null };
    udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    let gstPort = null;
    vtx.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        got.video++;
        got.videoPt = rtp.header.payloadType;
        got.videoSsrc = rtp.header.ssrc;
        if (gstPort) udp.send(rtp.serialize(), gstPort, '127.0.0.1');
      });
    });
    atx.onTrack.subscribe((track) => { track.onReceiveRtp.subscribe(() => { got.audio++; }); });

    await viewer.setLocalDescription(await viewer.createOffer());
    const g = await pollUntil(() => Promise.resolve(viewer.iceGatheringState), (s) => s === 'complete', { timeoutMs: 5000, intervalMs: 50 });
    note(`werift gathering: ${g.value}`);
    const offer = loopbackOnly(viewer.localDescription.sdp);
    assert.match(offer, / 127\.0\.0\.1 /, 'werift offers a loopback candidate');

    const res = await fetch(`${server.url}/whep/${code}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${viewerToken}` },
      body: offer,
      signal: AbortSignal.timeout(10_000),
    });
    const answer = await res.text();
    assert.equal(res.status, 201, `POST /whep: ${res.status} ${answer.slice(0, 300)}`);
    location = res.headers.get('location');
    assert.match(location || '', new RegExp(`^/whep/${code}/\\S+`), 'Location header');
    const pt = vp8PayloadType(answer);
    assert.ok(pt !== null, `no VP8 in the answer:\n${answer}`);
    note(`WHEP answer: VP8 payload type ${pt}, Location ${location}`);

    // GStreamer first, so no keyframe is forwarded before it listens.
    const probe = dgram.createSocket('udp4');
    probe.bind(0, '127.0.0.1');
    await once(probe, 'listening');
    gstPort = probe.address().port;
    probe.close();
    const caps = `application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=${pt}`;
    gst = spawn('gst-launch-1.0', ['-v', 'udpsrc', 'address=127.0.0.1', `port=${gstPort}`, `caps=${caps}`,
      '!', 'rtpjitterbuffer', 'latency=100', '!', 'rtpvp8depay', '!', 'vp8dec', '!',
      'fakesink', 'silent=false', 'sync=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onOut = (b) => {
      const s = b.toString();
      if (gstOut.length < 4_000_000) gstOut += s;
      frames += (s.match(/last-message = chain/g) || []).length;
    };
    gst.stdout.on('data', onOut);
    gst.stderr.on('data', onOut);
    await sleep(500); // let udpsrc bind
    assert.equal(gst.exitCode, null, `gst-launch exited early:\n${gstOut}`);

    await viewer.setRemoteDescription({ type: 'answer', sdp: answer });

    // Ask for a keyframe now and then until the decoder has one.
    const pli = setInterval(() => {
      if (frames === 0 && got.videoSsrc !== null) vtx.receiver.sendRtcpPLI(got.videoSsrc).catch?.(() => {});
    }, 1000);
    let r;
    try {
      r = await pollUntil(() => Promise.resolve({ frames, ...got, conn: viewer.connectionState }),
        (v) => v.frames >= 30 && v.audio > 50, { timeoutMs: 30_000, intervalMs: 500 });
    } finally {
      clearInterval(pli);
    }
    note(`werift + gstreamer: ${fmt(r.value)}`);
    const size = /width=\(int\)(\d+), height=\(int\)(\d+)/.exec(gstOut);
    if (size) note(`decoded picture size ${size[1]}x${size[2]}`);
    assert.ok(r.value.video > 0, `werift received no video RTP (connection ${r.value.conn})`);
    assert.ok(r.ok, `decoded ${r.value.frames} frames (want >= 30), audio packets ${r.value.audio}\n${gstOut.slice(-2000)}`);
    assert.equal(r.value.videoPt, pt, 'RTP payload type matches the answer');
    assert.ok(server.alive());
  });

  it('DELETE on the Location ends the WHEP session (200)', { timeout: 15_000 }, async () => {
    assert.ok(location, 'no WHEP session');
    const res = await fetch(`${server.url}${location}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const again = await fetch(`${server.url}${location}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
    assert.equal(again.status, 404, 'a deleted resource is gone');
    // The teacher keeps publishing.
    const s = await teacherStats(teacher.page);
    assert.equal(s.sendState, 'connected');
  });

  it('server stops cleanly', { timeout: 30_000 }, async () => {
    if (gst && gst.exitCode === null) gst.kill('SIGTERM');
    await viewer.close().catch(() => {});
    viewer = null;
    await browser.close();
    browser = null;
    const srv = server;
    server = null;
    await srv.stop();
  });
});
