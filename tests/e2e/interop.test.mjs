// End to end with a second WebRTC stack on the sending side: GStreamer's
// webrtcbin (tests/interop/webrtcbin_peer, built by meson; scripts/test.sh
// passes its path in CC_WEBRTCBIN) publishes a moving test picture (VP8) and
// a test tone (Opus) over WHIP into the demo lesson with
// bundle-policy=max-bundle, so its audio section is offered with port 0 and
// a=bundle-only (RFC 8843 section 7.2). A Chromium student opens the student
// link the server prints, types a name and presses Join, as a person would,
// and must decode the video (getStats framesDecoded > 30 and still rising)
// and receive the sound.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { startServer, artifactPath, REPO } from './lib/server.mjs';
import { launch, newPage, studentStats, joinAsStudent } from './lib/lesson.mjs';
import { sleep, pollUntil } from './lib/webrtc.mjs';

const fmt = (v) => JSON.stringify(v);
// The line `classcast serve` prints on stdout for the students.
const STUDENT_LINE = /^ {2}Student page: {3}(\S+)$/m;

describe('interop: a GStreamer webrtcbin WHIP publisher (max-bundle) watched by a Chromium student', { timeout: 120_000 }, () => {
  let server;
  let browser;
  let pub;
  let pubOut = '';
  let pubErr = '';
  const log = [];
  const offerFile = artifactPath('interop.whip-offer.sdp');
  const answerFile = artifactPath('interop.whip-answer.sdp');
  // 43 characters of base64url: the shape of a lesson token.
  const token = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 255)).toString('base64url');

  before(async () => {
    server = await startServer('interop', { extraArgs: ['--demo-token', token] });
    browser = await launch();
  });

  after(async () => {
    try { writeFileSync(artifactPath('interop.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    try { writeFileSync(artifactPath('interop.webrtcbin.log'), pubErr.slice(-200_000)); } catch (_) { /* ignore */ }
    if (pub && pub.exitCode === null && pub.signalCode === null) pub.kill('SIGKILL');
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('webrtcbin publishes over WHIP with max-bundle; a student joins from the printed link and decodes video and sound', { timeout: 90_000 }, async () => {
    const bin = process.env.CC_WEBRTCBIN;
    assert.ok(bin, 'CC_WEBRTCBIN is not set: it names the built tests/interop/webrtcbin_peer '
      + '(scripts/test.sh sets it to build/tests/webrtcbin_peer)');
    const peerBin = path.resolve(REPO, bin);
    assert.ok(existsSync(peerBin), `CC_WEBRTCBIN=${bin}: no such program (build it: ninja -C build)`);

    rmSync(offerFile, { force: true }); // from an earlier run
    rmSync(answerFile, { force: true });
    pub = spawn(peerBin, ['--whip', `${server.url}/whip/demo`, '--token', token,
      '--bundle-policy', 'max-bundle', '--duration', '60', '--timeout', '80',
      '--dump-offer', offerFile, '--dump-answer', answerFile], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // GStreamer's own leaks, if the program is a sanitizer build.
        LSAN_OPTIONS: `suppressions=${path.join(REPO, 'tests', 'media', 'lsan.supp')}:print_suppressions=0`,
      },
    });
    pub.stdout.on('data', (d) => { pubOut += d.toString(); });
    pub.stderr.on('data', (d) => { pubErr += d.toString(); });
    const pubExit = once(pub, 'exit');

    // The offer really has the shape under test: a bundle-only audio line.
    const offered = await pollUntil(() => Promise.resolve(existsSync(answerFile)), (v) => v, { timeoutMs: 15_000, intervalMs: 100 });
    assert.ok(offered.ok, `webrtcbin got no answer to its WHIP offer:\n${pubOut}${pubErr.slice(-3000)}`);
    const offer = readFileSync(offerFile, 'utf8');
    const answer = readFileSync(answerFile, 'utf8');
    assert.match(offer, /^m=audio 0 [^\r\n]*\r?\n(?:a=[^\r\n]*\r?\n|c=[^\r\n]*\r?\n)*?a=bundle-only/m, `webrtcbin offered a bundle-only audio line:\n${offer}`);
    assert.match(answer, /^a=group:BUNDLE video0 audio1\r?$/m, `the answer keeps both lines in the BUNDLE group:\n${answer}`);
    assert.match(answer, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r?$/m, `the answer accepts the bundle-only audio line:\n${answer}`);

    // A student opens the link the server printed, types a name, presses Join.
    const line = await server.waitStdout(STUDENT_LINE, 5000);
    assert.ok(line, `no "  Student page:   URL" line on the server's stdout; stdout was:\n${server.stdout()}`);
    const { page } = await newPage(browser, line[1], { log, tag: 'student' });
    await joinAsStudent(page, 'Trần Văn Bình');
    await page.waitForFunction(() => window.ccStudent.state === 'joined', null, { timeout: 10_000 });
    // Sound starts muted; the student taps "Tap for sound", as the page asks.
    await page.locator('#sound').click({ timeout: 15_000 });

    const decoded = (s) => s.mic ? s.mic.totalSamplesReceived - s.mic.concealedSamples : 0;
    const t0 = Date.now();
    const r = await pollUntil(() => studentStats(page),
      (s) => s.camera?.framesDecoded > 30 && s.mic?.packetsReceived > 50 && decoded(s) > 48_000,
      { timeoutMs: 30_000, intervalMs: 500 });
    assert.ok(r.ok, `the student decodes webrtcbin's video and audio: ${fmt(r.value)}\n`
      + `webrtcbin: ${pubOut}${pubErr.slice(-2000)}\n${log.slice(-20).join('\n')}`);
    const a = r.value;
    console.log(`student decoding after ${Date.now() - t0} ms: ${fmt({ camera: a.camera, mic: a.mic })}`);
    await sleep(2000);
    const b = await studentStats(page);
    console.log(`2 s later: ${fmt({ camera: b.camera, mic: b.mic })}`);
    assert.ok(b.camera.framesDecoded > a.camera.framesDecoded + 20,
      `video frames keep being decoded (${a.camera.framesDecoded} -> ${b.camera.framesDecoded})`);
    assert.equal(b.camera.frameWidth, 640, 'the publisher sends 640x360');
    assert.ok(b.mic.packetsReceived > a.mic.packetsReceived + 50,
      `audio packets keep arriving (${a.mic.packetsReceived} -> ${b.mic.packetsReceived})`);
    assert.ok(decoded(b) > decoded(a) + 48_000,
      `audio samples keep being decoded from packets (${decoded(a)} -> ${decoded(b)})`);
    assert.ok(b.mic.totalAudioEnergy > a.mic.totalAudioEnergy, 'the sound is not silence (a 440 Hz tone)');

    // The publisher stops (SIGTERM ends it like its duration would): it
    // DELETEs its WHIP resource and reports what it sent.
    pub.kill('SIGTERM');
    const [code] = await Promise.race([pubExit, sleep(15_000).then(() => ['timeout'])]);
    const result = pubOut.trim().split('\n').pop() || '';
    console.log(`webrtcbin publisher: ${result} (exit ${code})`);
    assert.equal(code, 0, `webrtcbin publisher exit status; stdout: ${pubOut}\nstderr: ${pubErr.slice(-2000)}`);
    const res = JSON.parse(result);
    assert.equal(res.ok, true);
    assert.equal(res.delete_status, 200, 'the WHIP resource was deleted');
    assert.ok(res.video_rtp_packets > 100 && res.audio_rtp_packets > 100, `it sent media: ${result}`);
    assert.ok(server.alive(), 'the server is still running');
  });
});
