// Local publishing from the teacher page: the teacher's browser runs on the
// classroom computer itself (127.0.0.1), so the page offers "This classroom
// computer" (capture_list) and the server captures and publishes into the
// lesson (capture_start / capture_stop, docs/protocol.md).
//
// One server (with --display set to an Xvfb screen this test starts, showing
// a moving test pattern), one teacher page, one student page:
// 1. the teacher creates a lesson; the section appears and lists pipelines;
// 2. the page starts test-video + test-audio: the student decodes the camera
//    picture and receives the sound;
// 3. the teacher picks the computer screen too (a switch: capture_start with
//    another set replaces the running one): the student decodes the Xvfb
//    screen and keeps decoding the camera;
// 4. stop: the student's `media` says camera:false within a few seconds;
// 5. the camera pipeline (no /dev/video* here) fails with capture_failed,
//    whose message lists the cameras that exist (none), shown by the page in
//    English and in Vietnamese;
// 6. a switch to the missing camera while sending keeps the previous
//    sources running; ending the lesson stops a running capture.
// Only 127.0.0.1 traffic; every wait is bounded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import { startServer, artifactPath } from './lib/server.mjs';
import {
  launch, newPage, studentStats, recordSignal, replyTo, studentLink, joinAsStudent, signInTeacher,
} from './lib/lesson.mjs';
import { sleep, pollUntil } from './lib/webrtc.mjs';

const note = (...a) => console.log(...a);
const local = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.ccTeacher.local)));

async function mustPoll(what, probe, ok, timeoutMs) {
  const r = await pollUntil(probe, ok, { timeoutMs, intervalMs: 250 });
  assert.ok(r.ok, `${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(r.value)}`);
  return r.value;
}

// The reply to the last `type` request the page sent, waited for.
async function lastReply(frames, type, timeoutMs = 25_000) {
  return mustPoll(`reply to ${type}`, async () => {
    const out = frames.filter((f) => f.dir === 'out' && f.msg.type === type).pop();
    return out ? replyTo(frames, out.msg) || null : null;
  }, Boolean, timeoutMs);
}

describe('teacher page: capture on the classroom computer', { timeout: 200_000 }, () => {
  let browser;
  let xvfb;
  let painter;
  let srv;
  const display = `:${80 + Math.floor(Math.random() * 9)}`;
  const log = [];

  before(async () => {
    assert.ok(existsSync('/usr/bin/Xvfb'), 'Xvfb is installed by scripts/install-deps.sh');
    xvfb = spawn('Xvfb', [display, '-screen', '0', '960x540x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    await sleep(1000);
    // A moving picture on that screen.
    painter = spawn('gst-launch-1.0', ['-q', 'videotestsrc', 'is-live=true', 'pattern=ball', '!',
      'video/x-raw,width=960,height=540,framerate=30/1', '!', 'videoconvert', '!', 'ximagesink', `display=${display}`],
    { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
    await sleep(1000);
    srv = await startServer('capture', { extraArgs: ['--display', display, '--video-size', '640x360'] });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    try {
      await srv?.stop();
    } finally {
      painter?.kill('SIGTERM');
      xvfb?.kill('SIGTERM');
    }
  });

  it('lists, starts, switches, stops and reports a missing camera', { timeout: 150_000 }, async () => {
    const teacher = await newPage(browser, `${srv.url}/teacher.html`, { log, tag: 'teacher', viewport: { width: 1280, height: 1000 } });
    const tp = teacher.page;
    const frames = recordSignal(tp); // the page opens its socket on "create"
    await signInTeacher(tp, srv); // capture, like create, needs a signed-in teacher
    await tp.fill('#teacher-name', 'Cô Lan');
    await tp.click('#create-btn');
    const code = await mustPoll('lesson created', () => tp.evaluate(() => window.ccTeacher.code), Boolean, 10_000);
    note('lesson', code);

    // 1. the section appears (the page is on 127.0.0.1) and lists pipelines
    await tp.locator('#local-card').waitFor({ state: 'visible', timeout: 10_000 });
    const list = await lastReply(frames, 'capture_list');
    assert.equal(list.type, 'capture_list');
    const names = list.pipelines.map((p) => p.name);
    for (const n of ['camera', 'mic', 'screen', 'test-audio', 'test-video']) assert.ok(names.includes(n), `pipeline ${n} listed`);
    assert.equal(list.pipelines.find((p) => p.name === 'screen').slot, 'screen');
    assert.equal(list.pipelines.find((p) => p.name === 'test-video').slot, 'camera');
    assert.equal(list.pipelines.find((p) => p.name === 'test-audio').slot, 'mic');
    assert.match(list.pipelines.find((p) => p.name === 'test-video').description, /test picture/i);
    assert.deepEqual(list.devices.cameras, []);
    assert.ok(list.devices.screens.some((s) => s.id === display), `Xvfb ${display} among the screens: ${JSON.stringify(list.devices.screens)}`);
    assert.equal(list.display, display);
    assert.deepEqual(list.running, []);
    assert.equal(await tp.locator('#local-state').getAttribute('data-state'), 'stopped');
    await tp.click('#start');

    // A student in the lesson, by the teacher page's link.
    const student = await newPage(browser, await studentLink(tp), { log, tag: 'student' });
    const sp = student.page;
    await joinAsStudent(sp, 'Học sinh Mai');

    // 2. test camera + test microphone from the page
    await tp.selectOption('#local-screen', '');
    await tp.selectOption('#local-camera', 'test-video');
    await tp.selectOption('#local-mic', 'test-audio');
    await tp.click('#local-start');
    const started = await lastReply(frames, 'capture_start');
    assert.equal(started.type, 'ok', `capture_start: ${JSON.stringify(started)}`);
    const sentStart = frames.filter((f) => f.dir === 'out' && f.msg.type === 'capture_start').pop().msg;
    assert.deepEqual(sentStart.sources, ['test-video', 'test-audio']);
    await mustPoll('page says running', () => local(tp), (l) => l.state === 'running' && l.running.length === 2, 10_000);
    // The page let go of the browser's own camera and microphone.
    const tracks = await tp.evaluate(() => ({ camera: !!window.ccTeacher.tracks.camera, mic: !!window.ccTeacher.tracks.mic }));
    assert.deepEqual(tracks, { camera: false, mic: false });
    let st = await mustPoll('student decodes the camera and gets sound', () => studentStats(sp),
      (s) => s.camera?.framesDecoded > 45 && s.mic?.packetsReceived > 100 && s.media?.camera && s.media?.mic, 30_000);
    note('student (test sources):', JSON.stringify({ camera: st.camera, mic: st.mic, media: st.media }));
    assert.equal(st.camera.frameWidth, 640);
    assert.equal(st.camera.frameHeight, 360);
    assert.match(await tp.locator('#local-state-text').innerText(), /Test picture/);
    await tp.screenshot({ path: artifactPath('capture-teacher-running.png'), fullPage: true });

    // 3. switch: the computer screen too (picking it while running replaces
    // the running capture at once)
    await tp.selectOption('#local-screen', 'screen');
    await mustPoll('page sent the switch', async () => frames.filter((f) => f.dir === 'out' && f.msg.type === 'capture_start').length, (n) => n === 2, 5000);
    const switched = await lastReply(frames, 'capture_start');
    assert.equal(switched.type, 'ok', `switch: ${JSON.stringify(switched)}`);
    assert.deepEqual(frames.filter((f) => f.dir === 'out' && f.msg.type === 'capture_start').pop().msg.sources,
      ['screen', 'test-video', 'test-audio']);
    const camBefore = (await studentStats(sp)).camera?.framesDecoded || 0;
    st = await mustPoll('student decodes the screen and still the camera', () => studentStats(sp),
      (s) => s.screen?.framesDecoded > 45 && s.camera?.framesDecoded > camBefore + 30 && s.media?.screen, 30_000);
    note('student (after the switch):', JSON.stringify({ screen: st.screen, camera: st.camera, media: st.media }));
    assert.equal(st.screen.frameWidth, 640);
    assert.equal(st.screen.frameHeight, 360);
    // The Xvfb picture moves: frames keep coming.
    const scr1 = st.screen.framesDecoded;
    await sleep(2000);
    const st2 = await studentStats(sp);
    assert.ok(st2.screen.framesDecoded > scr1 + 20, `screen still decoding (${scr1} -> ${st2.screen.framesDecoded})`);
    assert.deepEqual((await local(tp)).running, ['screen', 'test-video', 'test-audio']);
    await sp.screenshot({ path: artifactPath('capture-student-screen.png') });

    // 4. stop: the student hears of it within a few seconds
    await tp.click('#local-stop');
    const stopped = await lastReply(frames, 'capture_stop');
    assert.equal(stopped.type, 'ok');
    const t0 = Date.now();
    st = await mustPoll('student media all off', () => studentStats(sp),
      (s) => s.media && !s.media.camera && !s.media.screen && !s.media.mic, 5000);
    note(`student media off ${Date.now() - t0} ms after the stop reply`);
    await mustPoll('page says stopped', () => local(tp), (l) => l.state === 'stopped' && l.running.length === 0, 5000);

    // 5. the camera pipeline: no camera on this machine
    await tp.selectOption('#local-screen', '');
    await tp.selectOption('#local-camera', 'camera');
    await tp.selectOption('#local-mic', '');
    await tp.click('#local-start');
    const failed = await lastReply(frames, 'capture_start');
    note('camera:', JSON.stringify(failed));
    assert.equal(failed.type, 'error');
    assert.equal(failed.code, 'capture_failed');
    assert.equal(failed.ref, 'capture_start');
    assert.equal(failed.source, 'camera');
    assert.match(failed.message, /cameras: none found/);
    const box = tp.locator('#local-error');
    await box.waitFor({ state: 'visible', timeout: 5000 });
    const en = await box.innerText();
    assert.match(en, /Could not open the camera/);
    assert.match(en, /This computer has no camera/);
    assert.match(en, /cameras: none found/);
    await tp.click('.lang-btn[data-lang="vi"]');
    const vi = await box.innerText();
    assert.match(vi, /Không mở được camera/);
    assert.match(vi, /Máy này không có camera nào/);
    assert.equal(await tp.locator('#local-state').getAttribute('data-state'), 'stopped');
    await tp.screenshot({ path: artifactPath('capture-teacher-no-camera.png'), fullPage: true });
    await tp.click('.lang-btn[data-lang="en"]');

    // 6. ending the lesson stops a running capture
    await tp.selectOption('#local-camera', 'test-video');
    await tp.click('#local-start');
    assert.equal((await lastReply(frames, 'capture_start')).type, 'ok');
    await mustPoll('student media camera on again', () => studentStats(sp), (s) => s.media?.camera, 10_000);
    assert.ok((await srv.stats()).sfu.publishers >= 1);

    // A switch that fails keeps the previous sources running.
    const nStarts = frames.filter((f) => f.dir === 'out' && f.msg.type === 'capture_start').length;
    await tp.selectOption('#local-camera', 'camera');
    await mustPoll('page sent the failing switch', async () => frames.filter((f) => f.dir === 'out' && f.msg.type === 'capture_start').length,
      (n) => n === nStarts + 1, 5000);
    const badSwitch = await lastReply(frames, 'capture_start');
    assert.equal(badSwitch.code, 'capture_failed');
    assert.match(badSwitch.message, /still publishing the previous sources: test-video/);
    await mustPoll('page shows the previous sources still running', () => local(tp),
      (l) => l.state === 'running' && l.running.join() === 'test-video' && l.error?.code === 'capture_failed', 10_000);
    assert.match(await tp.locator('#local-error').innerText(), /keeps sending the previous sources/);
    const camNow = (await studentStats(sp)).camera.framesDecoded;
    st = await mustPoll('student keeps decoding the previous camera', () => studentStats(sp),
      (s) => s.media?.camera && s.camera?.framesDecoded > camNow + 30, 15_000);

    await tp.click('#end');
    await tp.click('#end-yes');
    await mustPoll('no publisher left after the end', () => srv.stats(), (s) => s.sfu.publishers === 0, 10_000);
    assert.ok(await tp.locator('#local-card').isHidden());
    assert.match(srv.stderr(), /local capture stopped/);

    await student.context.close();
    await teacher.context.close();
  });

  it('no page threw, no request left 127.0.0.1', () => {
    const bad = log.filter((l) => l.includes('[pageerror]') || (l.includes('[requestfailed]') && !l.includes('127.0.0.1')));
    assert.deepEqual(bad, []);
  });
});
