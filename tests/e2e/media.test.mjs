// The media core end to end: classcast captures with GStreamer, encodes with
// libvpx/libopus, and publishes into the demo lesson from inside the server
// process (`serve --source`); a student page in headless Chromium decodes it.
// 1. test sources: a moving test picture as the camera and a tone as the mic.
// 2. a real X screen: Xvfb shows a moving picture (a GStreamer test pattern
//    drawn into an X window), classcast captures that screen, and the student
//    decodes the screen at its captured size, plus the test camera and mic.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, artifactPath, REPO } from './lib/server.mjs';
import { launch, newPage, studentStats, joinAsStudent } from './lib/lesson.mjs';
import { sleep, pollUntil } from './lib/webrtc.mjs';

// A student follows the demo link (the one scripts/run.sh prints), types a
// name and presses Join.
async function watchDemo(browser, srv, tag, log) {
  const r = await newPage(browser, `${srv.url}/student.html?code=demo`, { log, tag });
  await joinAsStudent(r.page, `Học sinh ${tag}`);
  return r;
}

// The line `classcast serve` prints on stdout for the students when the
// demo lesson is on.
const STUDENT_LINE = /^ {2}Student page: {3}(\S+)$/m;

describe('media core: local sources published into the demo lesson', { timeout: 120_000 }, () => {
  let browser;
  const log = [];
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  it('test camera and microphone: a student decodes the picture and receives the sound', { timeout: 45_000 }, async () => {
    const srv = await startServer('media-test', { extraArgs: ['--source', 'test-video,test-audio', '--video-size', '640x360'] });
    try {
      const { page, context } = await watchDemo(browser, srv, 'A', log);
      const { value: st } = await pollUntil(() => studentStats(page),
        (s) => s.camera?.framesDecoded > 60 && s.mic?.packetsReceived > 100,
        { timeoutMs: 25_000 });
      console.log('student stats:', JSON.stringify(st));
      assert.ok(st.camera.framesDecoded > 60, 'camera frames decoded');
      assert.equal(st.camera.frameWidth, 640);
      assert.equal(st.camera.frameHeight, 360);
      assert.ok(st.mic.packetsReceived > 100, 'audio packets received');
      assert.deepEqual(st.media, { camera: true, screen: false, mic: true });
      const stats = await (await fetch(`${srv.url}/stats`)).json();
      assert.equal(stats.sfu.publishers, 2);
      assert.ok(stats.sfu.rtp_out > 0);
      await page.screenshot({ path: artifactPath('student-test-sources.png') });
      await context.close();
    } finally {
      await srv.stop();
    }
  });

  it('the "Student page" link the server prints: opened as printed, a name typed, Join pressed: video and sound decode', { timeout: 45_000 }, async () => {
    const srv = await startServer('media-printed-link', { extraArgs: ['--source', 'test-video,test-audio', '--video-size', '640x360'] });
    try {
      const line = await srv.waitStdout(STUDENT_LINE, 5000);
      assert.ok(line, `no "  Student page:   URL" line on the server's stdout; stdout was:\n${srv.stdout()}`);
      const url = line[1];
      console.log('printed student link:', url);
      assert.equal(url, `${srv.url}/student.html?code=demo`, 'the link names this server and the demo lesson');
      const { page, context } = await newPage(browser, url, { log, tag: 'printed' });
      assert.equal(page.url(), url, 'the page opened is exactly the printed link');
      await joinAsStudent(page, 'Nguyễn Thị Lan');
      await page.waitForFunction(() => window.ccStudent.state === 'joined', null, { timeout: 10_000 });
      assert.equal(await page.isVisible('#form-error'), false, 'no error under the join form');
      // Sound starts muted; the student taps "Tap for sound", as the page asks.
      await page.locator('#sound').click({ timeout: 15_000 });
      // Decoding, and still decoding a second later: frames and sound keep coming.
      const decoding = (s) => s.camera?.framesDecoded > 30
        && s.mic && s.mic.totalSamplesReceived - s.mic.concealedSamples > 48_000;
      const { ok, value: a } = await pollUntil(() => studentStats(page), decoding, { timeoutMs: 25_000 });
      assert.ok(ok, `the student decodes video and audio: ${JSON.stringify(a)}`);
      await sleep(1000);
      const b = await studentStats(page);
      console.log('printed link, student stats:', JSON.stringify({ camera: b.camera, mic: b.mic }));
      assert.ok(b.camera.framesDecoded > a.camera.framesDecoded + 10,
        `video frames keep being decoded (${a.camera.framesDecoded} -> ${b.camera.framesDecoded})`);
      const decodedSamples = (s) => s.mic.totalSamplesReceived - s.mic.concealedSamples;
      assert.ok(decodedSamples(b) > decodedSamples(a) + 24_000,
        `audio samples keep being decoded from packets (${decodedSamples(a)} -> ${decodedSamples(b)})`);
      assert.ok(b.mic.totalAudioEnergy > a.mic.totalAudioEnergy, 'the sound is not silence (a test tone)');
      assert.equal(new URL(page.url()).searchParams.get('code'), 'demo');
      await context.close();
    } finally {
      await srv.stop();
    }
  });

  it('a real X screen (Xvfb) with a moving picture: the student decodes it at its captured size', { timeout: 60_000 }, async () => {
    assert.ok(existsSync('/usr/bin/Xvfb'), 'Xvfb is installed by scripts/install-deps.sh');
    const display = `:${90 + Math.floor(Math.random() * 9)}`;
    const xvfb = spawn('Xvfb', [display, '-screen', '0', '960x540x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    let painter;
    let srv;
    try {
      await sleep(1000);
      // A moving picture on that screen: a test pattern in an X window.
      painter = spawn('gst-launch-1.0', ['-q', 'videotestsrc', 'is-live=true', 'pattern=ball', '!',
        'video/x-raw,width=960,height=540,framerate=30/1', '!', 'videoconvert', '!', 'ximagesink', `display=${display}`],
      { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
      await sleep(1000);
      srv = await startServer('media-screen', {
        extraArgs: ['--source', 'screen,test-video,test-audio', '--display', display, '--video-size', '960x540'],
      });
      const { page, context } = await watchDemo(browser, srv, 'B', log);
      const { value: st } = await pollUntil(() => studentStats(page),
        (s) => s.screen?.framesDecoded > 60 && s.camera?.framesDecoded > 30 && s.mic?.packetsReceived > 100,
        { timeoutMs: 35_000 });
      console.log('student stats:', JSON.stringify(st));
      assert.equal(st.screen.frameWidth, 960);
      assert.equal(st.screen.frameHeight, 540);
      assert.ok(st.mic.packetsReceived > 100);
      assert.deepEqual(st.media, { camera: true, screen: true, mic: true });
      // The picture moves: frames keep being decoded.
      const before2 = st.screen.framesDecoded;
      await sleep(2000);
      const st2 = await studentStats(page);
      assert.ok(st2.screen.framesDecoded > before2 + 20, `screen still decoding (${before2} -> ${st2.screen.framesDecoded})`);
      await page.screenshot({ path: artifactPath('student-xvfb-screen.png') });
      await context.close();
    } finally {
      await srv?.stop();
      painter?.kill('SIGTERM');
      xvfb.kill('SIGTERM');
    }
  });

  it('classcast-publish --whip into a running classcast: a student page decodes it', { timeout: 60_000 }, async () => {
    // 43 characters of base64url: the shape of a lesson token.
    const token = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255)).toString('base64url');
    const srv = await startServer('media-whip', { extraArgs: ['--demo-token', token] });
    let pub;
    let pubOut = '';
    try {
      // The WHIP client is a program of its own, built beside the server.
      const server = process.env.CC_BIN ? path.resolve(REPO, process.env.CC_BIN) : path.join(REPO, 'build', 'classcast');
      const bin = path.join(path.dirname(server), 'classcast-publish');
      pub = spawn(bin, ['--whip', `${srv.url}/whip/demo`, '--token', token,
        '--source', 'test-video,test-audio', '--video-size', '640x360', '--duration', '40'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      pub.stderr.on('data', (d) => { pubOut += d.toString(); });
      pub.stdout.on('data', (d) => { pubOut += d.toString(); });
      const { page, context } = await watchDemo(browser, srv, 'C', log);
      const { value: st } = await pollUntil(() => studentStats(page),
        (v) => v.camera?.framesDecoded > 60 && v.mic?.packetsReceived > 100,
        { timeoutMs: 30_000 });
      console.log('student stats:', JSON.stringify(st));
      console.log('publish says:', pubOut.trim());
      assert.match(pubOut, /connected \(SRTP_AEAD_AES_128_GCM\)/);
      assert.equal(st.camera.frameWidth, 640);
      assert.ok(st.camera.framesDecoded > 60);
      assert.ok(st.mic.packetsReceived > 100);
      await context.close();
    } finally {
      if (pub && pub.exitCode === null) {
        pub.kill('SIGINT');
        await new Promise((r) => { const t = setTimeout(r, 5000); pub.on('exit', () => { clearTimeout(t); r(); }); });
      }
      await srv.stop();
    }
    assert.match(pubOut, /sent \d+ video and \d+ audio packets/, 'publish ended cleanly on SIGINT');
  });

  it('no page threw', () => {
    const bad = log.filter((l) => l.includes('[pageerror]'));
    assert.deepEqual(bad, []);
  });
});
