// End to end: a classroom lesson in headless Chromium.
//
// Part 1 ("lesson pages") needs no classcast binary: web/ is served by Node
// and /ws by a scripted stand-in (lib/mocksignal.mjs) that speaks
// docs/protocol.md without media. It checks the pages' flows and both
// languages: create -> code, members, start/end, student waiting / live /
// reconnecting / ended, error texts, teacher resume after reload, no request
// leaving 127.0.0.1, touch target sizes.
//
// Part 2 ("lesson") runs the real server (lib/server.mjs): a teacher page
// publishes Chromium's fake camera, microphone and screen; three students
// decode both videos and receive audio; a fourth, late student shows a frame
// within 1 s of its subscribe answer; the teacher reloads and publishes again
// while the students recover by themselves; a student's publish is refused;
// hostile signalling frames get error replies while everyone keeps decoding.
//
// The screen track: with --use-fake-device-for-media-stream and
// --use-fake-ui-for-media-stream (lib/chromium.mjs), headless Chromium 156
// answers getDisplayMedia() with a fake 1280x720 "monitor" source (label
// "screen:-3:0", displaySurface "monitor"), picked without a dialog. No
// --auto-select-desktop-capture-source and no test-only page flag are needed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

import { startServer, artifactPath } from './lib/server.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';
import { launch, newPage, studentStats, teacherStats } from './lib/lesson.mjs';
import { startMock } from './lib/mocksignal.mjs';

const note = (...a) => console.log(...a);
const fmt = (v) => JSON.stringify(v);

// Visible text of an element, trimmed.
const text = (page, sel) => page.locator(sel).innerText({ timeout: 5000 }).then((s) => s.trim());

// ---------------------------------------------------------------------------
// Part 1: pages against the scripted stand-in

describe('lesson pages (scripted signalling, no media)', { timeout: 120_000 }, () => {
  let mock;
  let browser;
  const log = [];
  const outside = []; // requests to anything but 127.0.0.1

  before(async () => {
    mock = await startMock({ code: '482913' });
    browser = await launch();
  });

  after(async () => {
    try { writeFileSync(artifactPath('lesson-pages.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    if (browser) await browser.close().catch(() => {});
    if (mock) await mock.close();
  });

  function watchRequests(page) {
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['data:', 'blob:'].includes(u.protocol) && u.hostname !== '127.0.0.1') outside.push(r.url());
    });
  }

  it('landing page: Vietnamese first for a vi browser, checks the code, goes to the student page, remembers the name', { timeout: 30_000 }, async () => {
    const { page, context } = await newPage(browser, null, { log, locale: 'vi-VN', viewport: { width: 800, height: 1280 }, tag: 'index' });
    watchRequests(page);
    await page.goto(`${mock.url}/index.html`);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'vi');
    assert.equal(await text(page, 'h1'), 'Vào lớp học');
    assert.equal(await page.getAttribute('#code', 'inputmode'), 'numeric');
    assert.equal(await text(page, '#teacher-link'), 'Tôi là giáo viên: bắt đầu buổi học');
    assert.equal(await page.getAttribute('#teacher-link', 'href'), 'teacher.html');

    await page.fill('#code', '4829');
    await page.fill('#name', 'Lò Thị Mai');
    await page.click('#join');
    assert.equal(await text(page, '#form-error'), 'Mã buổi học gồm đúng 6 chữ số.');
    // English on request, and the error follows the switch.
    await page.click('button[data-lang="en"]');
    assert.equal(await text(page, 'h1'), 'Join a lesson');
    assert.equal(await text(page, '#form-error'), 'The lesson code is exactly 6 digits.');

    await page.fill('#code', '482 913');
    assert.equal(await page.inputValue('#code'), '482913');
    await Promise.all([page.waitForURL(/student\.html/, { timeout: 5000 }), page.click('#join')]);
    const u = new URL(page.url());
    assert.equal(u.searchParams.get('code'), '482913');
    assert.equal(u.searchParams.get('name'), 'Lò Thị Mai');
    // The language choice stuck (localStorage) and the name is remembered.
    await page.goto(`${mock.url}/index.html`);
    assert.equal(await text(page, 'h1'), 'Join a lesson');
    assert.equal(await page.inputValue('#name'), 'Lò Thị Mai');
    await context.close();
  });

  let teacher;
  it('teacher: create shows the code and the student link, turns on camera and microphone, starts the lesson', { timeout: 30_000 }, async () => {
    teacher = await newPage(browser, null, { log, locale: 'vi-VN', viewport: { width: 1280, height: 800 }, tag: 'teacher' });
    const { page } = teacher;
    watchRequests(page);
    await page.goto(`${mock.url}/teacher.html`);
    assert.equal(await text(page, '#create h1'), 'Tạo buổi học mới');
    await page.fill('#lesson-title', 'Toán lớp 5 – Phân số');
    await page.fill('#teacher-name', 'Cô Hoa');
    await page.click('#create-btn');
    await page.waitForFunction(() => window.ccTeacher.code === '482913', null, { timeout: 5000 });
    assert.equal(await text(page, '#code'), '482913');
    assert.match(await page.inputValue('#student-link'), /\/student\.html\?code=482913$/);
    assert.equal(await text(page, '#lesson-title-view'), 'Toán lớp 5 – Phân số');
    assert.match(await text(page, '#lesson-state-text'), /^Chưa bắt đầu/);
    assert.equal(await text(page, '#conn-text'), 'Đã kết nối với máy chủ');
    // Camera and microphone come on by default and are published.
    await page.waitForFunction(() => window.ccTeacher.tracks.camera && window.ccTeacher.tracks.mic, null, { timeout: 5000 });
    await pollUntil(() => Promise.resolve(mock.received.find((m) => m.type === 'publish')), Boolean, { timeoutMs: 6000, intervalMs: 100 });
    const pub = mock.received.find((m) => m.type === 'publish');
    assert.ok(pub, 'the teacher page sent no publish');
    assert.deepEqual(Object.values(pub.tracks).sort(), ['camera', 'mic']);
    assert.match(pub.sdp, /a=sendonly/);
    assert.match(pub.sdp, /a=candidate:/, 'non-trickle: the offer carries its candidates');
    assert.equal(await page.getAttribute('#cam-toggle', 'aria-pressed'), 'true');
    assert.equal(await text(page, '#cam-label'), 'Tắt camera');
    assert.ok(await page.locator('#cam-select option').count() >= 1, 'camera list filled');
    assert.equal(await page.evaluate(() => document.getElementById('cam-preview').muted), true);
    assert.ok(await page.evaluate(() => document.getElementById('cam-preview').playsInline));

    await page.click('#start');
    await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 5000 });
    assert.equal(await text(page, '#lesson-state-text'), 'Đang dạy: học sinh đang xem và nghe thầy cô.');
    assert.ok(await page.isVisible('#end'));
    assert.ok(!(await page.isVisible('#start')));
  });

  it('teacher: sharing the screen renegotiates the publish with a screen slot', { timeout: 20_000 }, async () => {
    const { page } = teacher;
    const n0 = mock.received.length;
    await page.click('#screen-toggle');
    await page.waitForFunction(() => !!window.ccTeacher.tracks.screen, null, { timeout: 5000 });
    const r = await pollUntil(() => Promise.resolve(mock.received.slice(n0).find((m) => m.type === 'renegotiate')), Boolean, { timeoutMs: 6000, intervalMs: 100 });
    assert.ok(r.ok, `no renegotiate after sharing the screen: ${fmt(mock.received.slice(n0).map((m) => m.type))}`);
    assert.equal(r.value.for, 'publish');
    assert.deepEqual(Object.values(r.value.tracks).sort(), ['camera', 'mic', 'screen']);
    const label = await page.evaluate(() => window.ccTeacher.tracks.screen.label);
    note(`screen track in headless Chromium: label ${fmt(label)}, settings ${fmt(await page.evaluate(() => window.ccTeacher.tracks.screen.getSettings()))}`);
    assert.equal(await text(page, '#screen-label'), 'Dừng chia sẻ màn hình');
  });

  let student;
  it('student: waiting, then live with screen large and camera small, tap for sound, members on the teacher page', { timeout: 30_000 }, async () => {
    // The lesson is live already; take it back to waiting to see that screen.
    mock.lesson.state = 'waiting';
    student = await newPage(browser, null, { log, locale: 'vi-VN', viewport: { width: 1280, height: 800 }, tag: 'student' });
    const { page } = student;
    watchRequests(page);
    await page.goto(`${mock.url}/student.html?code=482913&name=${encodeURIComponent('Lò Văn An')}`);
    await page.waitForFunction(() => window.ccStudent.state === 'joined', null, { timeout: 5000 });
    assert.equal(await text(page, '#overlay-title'), 'Đang chờ giáo viên…');
    assert.equal(await text(page, '#teacher-name'), 'Giáo viên: Cô Hoa');
    // Subscribe: recvonly, three transceivers, tracks mid -> slot.
    // The subscribe follows `joined` once ICE gathering is done.
    const subR = await pollUntil(() => Promise.resolve(mock.received.find((m) => m.type === 'subscribe')), Boolean,
      { timeoutMs: 5000, intervalMs: 100 });
    const sub = subR.value;
    assert.ok(sub, 'no subscribe');
    assert.deepEqual(Object.values(sub.tracks), ['camera', 'screen', 'mic']);
    assert.equal((sub.sdp.match(/^m=video/mg) || []).length, 2);
    assert.equal((sub.sdp.match(/^m=audio/mg) || []).length, 1);
    assert.equal((sub.sdp.match(/^a=recvonly/mg) || []).length, 3);
    for (const id of ['screen', 'camera']) {
      const v = await page.evaluate((i) => { const e = document.getElementById(i); return { pi: e.playsInline, ap: e.autoplay, m: e.muted }; }, id);
      assert.deepEqual(v, { pi: true, ap: true, m: true }, `#${id} playsinline autoplay muted`);
    }

    // The teacher page lists the student, watching.
    await teacher.page.waitForFunction(() => window.ccTeacher.members.some((m) => m.name === 'Lò Văn An'), null, { timeout: 5000 });
    assert.match(await text(teacher.page, '#members'), /Lò Văn An\s+Đang xem/);
    assert.equal(await text(teacher.page, '#members-count'), '1 học sinh, 1 đang xem');

    mock.setState('live');
    mock.broadcast({ type: 'media', camera: true, screen: true, mic: true });
    await page.waitForFunction(() => document.getElementById('stage').dataset.layout === 'screen-camera', null, { timeout: 5000 });
    assert.ok(!(await page.isVisible('#overlay')), 'no overlay while live');
    const box = async (sel) => page.locator(sel).boundingBox();
    const scr = await box('#screen');
    const cam = await box('#camera');
    assert.ok(scr.width > 3 * cam.width, `screen large (${scr.width}) and camera small (${cam.width})`);
    assert.ok(cam.x > scr.x + scr.width / 2 && cam.y > scr.y + scr.height / 2, 'camera in the bottom-right corner');
    // No screen: the camera is large.
    mock.broadcast({ type: 'media', camera: true, screen: false, mic: true });
    await page.waitForFunction(() => document.getElementById('stage').dataset.layout === 'camera', null, { timeout: 5000 });
    const cam2 = await box('#camera');
    assert.ok(cam2.width > 3 * cam.width, 'camera large without a screen');
    mock.broadcast({ type: 'media', camera: true, screen: true, mic: true });

    // Tap for sound (audio starts muted).
    await page.waitForSelector('#sound:not([hidden])', { timeout: 5000 });
    assert.equal(await text(page, '#sound-label'), 'Chạm để bật tiếng');
    assert.equal(await page.evaluate(() => document.getElementById('audio').muted), true);
    await page.click('#sound');
    assert.equal(await page.evaluate(() => document.getElementById('audio').muted), false);
    assert.ok(await page.isVisible('#mute'));
  });

  it('student: a dropped connection shows "reconnecting" and comes back by itself; the end shows "lesson ended"', { timeout: 40_000 }, async () => {
    const { page } = student;
    const joins0 = await page.evaluate(() => window.ccStudent.timing.joins);
    mock.dropStudents();
    await page.waitForFunction(() => window.ccStudent.state === 'reconnecting', null, { timeout: 5000 });
    assert.equal(await text(page, '#overlay-title'), 'Đang kết nối lại…');
    await page.screenshot({ path: artifactPath('student-reconnecting.png') });
    await page.waitForFunction((j) => window.ccStudent.state === 'joined' && window.ccStudent.timing.joins > j, joins0, { timeout: 15_000 });
    const subs = await pollUntil(() => Promise.resolve(mock.received.filter((m) => m.type === 'subscribe').length),
      (n) => n >= 2, { timeoutMs: 6000, intervalMs: 100 });
    assert.ok(subs.ok, 're-subscribed after re-joining');

    // English, then the end of the lesson.
    await page.click('button[data-lang="en"]');
    await teacher.page.click('#end');
    assert.ok(await teacher.page.isVisible('#end-dialog'), 'a confirm dialog before ending');
    assert.equal(await text(teacher.page, '#end-dialog-h'), 'Kết thúc buổi học?');
    await teacher.page.click('#end-yes');
    await page.waitForFunction(() => window.ccStudent.state === 'ended', null, { timeout: 5000 });
    assert.equal(await text(page, '#overlay-title'), 'The lesson has ended');
    await teacher.page.waitForFunction(() => window.ccTeacher.lessonState === 'ended', null, { timeout: 5000 });
    assert.ok(await teacher.page.isVisible('#new-lesson'));
    assert.equal(await teacher.page.evaluate(() => sessionStorage.getItem('classcast.teacher.session')), null);
  });

  it('student: a wrong code says so in plain words, in both languages', { timeout: 20_000 }, async () => {
    const { page, context } = await newPage(browser, null, { log, locale: 'vi-VN', viewport: { width: 390, height: 844 }, tag: 'wrong' });
    watchRequests(page);
    await page.goto(`${mock.url}/student.html?code=111111&name=Bình`);
    await page.waitForFunction(() => window.ccStudent.state === 'failed', null, { timeout: 5000 });
    assert.equal(await text(page, '#overlay-title'), 'Không vào được lớp');
    assert.equal(await text(page, '#overlay-error'), 'Không có buổi học nào với mã này. Hãy hỏi lại mã với thầy cô.');
    await page.click('button[data-lang="en"]');
    assert.equal(await text(page, '#overlay-error'), 'There is no lesson with this code. Check the code with your teacher.');
    // Phone-sized: every visible control is a comfortable touch target.
    const small = await page.evaluate(() => [...document.querySelectorAll('button, a.btn, input, select')]
      .filter((e) => e.offsetParent !== null)
      .map((e) => ({ id: e.id || e.textContent.trim(), h: e.getBoundingClientRect().height }))
      .filter((x) => x.h < 44));
    assert.deepEqual(small, [], 'controls under 44 px high');
    await context.close();
  });

  it('teacher: a reload resumes the lesson with the stored token and publishes again', { timeout: 30_000 }, async () => {
    mock.lesson.state = 'live';
    const { page, context } = await newPage(browser, null, { log, locale: 'en-US', tag: 'teacher2' });
    watchRequests(page);
    await page.goto(`${mock.url}/teacher.html`);
    await page.fill('#teacher-name', 'Thầy Minh');
    await page.click('#create-btn');
    await page.waitForFunction(() => window.ccTeacher.sendState !== 'idle' && window.ccTeacher.pc, null, { timeout: 8000 });
    const token = await page.evaluate(() => window.ccTeacher.token);
    const n0 = mock.received.length;
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.pc, null, { timeout: 8000 });
    const after = mock.received.slice(n0);
    const resume = after.find((m) => m.type === 'resume');
    assert.ok(resume, 'no resume after reload');
    assert.equal(resume.token, token);
    assert.equal(resume.code, '482913');
    const r = await pollUntil(() => Promise.resolve(mock.received.slice(n0).find((m) => m.type === 'publish')), Boolean, { timeoutMs: 6000, intervalMs: 100 });
    assert.ok(r.ok, 'no publish after the resume');
    assert.equal(await text(page, '#code'), '482913');
    assert.match(await text(page, '#notice'), /Back in lesson 482913/);
    await context.close();
  });

  it('nothing was fetched from outside 127.0.0.1 and no page threw', () => {
    assert.deepEqual(outside, []);
    const errors = log.filter((l) => l.includes('[pageerror]'));
    assert.deepEqual(errors, []);
  });
});

// ---------------------------------------------------------------------------
// Part 2: the real server

// Next frame from a Node `ws` socket, bounded.
function nextMessage(ws, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no reply within ${timeoutMs} ms`)); }, timeoutMs);
    const onMsg = (data) => { cleanup(); try { resolve(JSON.parse(data.toString())); } catch (e) { reject(e); } };
    const onClose = () => { cleanup(); reject(new Error('socket closed')); };
    function cleanup() { clearTimeout(timer); ws.off('message', onMsg); ws.off('close', onClose); }
    ws.on('message', onMsg);
    ws.on('close', onClose);
  });
}

describe('lesson (real server)', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let teacher;
  const students = [];
  const log = [];
  let code;
  let firstJoinAt;

  before(async () => {
    server = await startServer('lesson');
    note(`server ${server.url} udp ${server.udpPort}`);
    browser = await launch();
  });

  after(async () => {
    try { writeFileSync(artifactPath('lesson.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop().catch((e) => note(`stop after failure: ${e.message.split('\n')[0]}`));
  });

  const ctx = (extra) => `${extra ? `\n${extra}` : ''}\npage log:\n${log.slice(-40).join('\n')}`;

  async function openStudent(name) {
    const s = await newPage(browser, `${server.url}/student.html?code=${code}&name=${encodeURIComponent(name)}`,
      { log, tag: name, viewport: { width: 1024, height: 768 } });
    await s.page.evaluate(() => { window.__noReload = true; });
    students.push(s);
    return s;
  }

  // Both videos decode and audio flows on every given student page.
  async function allDecoding(pages, { frames = 60, timeoutMs = 40_000 } = {}) {
    const first = await Promise.all(pages.map((s) => studentStats(s.page)));
    const r = await pollUntil(() => Promise.all(pages.map((s) => studentStats(s.page))),
      (all) => all.every((st, i) => st.camera?.framesDecoded > frames && st.screen?.framesDecoded > frames
        && st.mic?.packetsReceived > (first[i].mic?.packetsReceived || 0) + 25),
      { timeoutMs, intervalMs: 500 });
    return r;
  }

  it('the teacher page creates and starts a lesson and publishes camera, microphone and screen', { timeout: 45_000 }, async () => {
    teacher = await newPage(browser, `${server.url}/teacher.html`, { log, tag: 'teacher', viewport: { width: 1280, height: 900 } });
    const { page } = teacher;
    await page.fill('#lesson-title', 'Khoa học lớp 4 – Vòng tuần hoàn của nước');
    await page.fill('#teacher-name', 'Cô Hoa');
    await page.click('#create-btn');
    await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });
    code = await page.evaluate(() => window.ccTeacher.code);
    assert.match(code, /^[0-9]{6}$/, 'a 6-digit code');
    await page.click('#start');
    await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 10_000 });
    await page.click('#screen-toggle');
    const r = await pollUntil(() => teacherStats(page),
      (s) => s.sendState === 'connected' && s.out.camera?.framesEncoded > 20 && s.out.screen?.framesEncoded > 10
        && s.out.mic?.packetsSent > 50, { timeoutMs: 25_000, intervalMs: 500 });
    note(`teacher: ${fmt(r.value)}`);
    assert.ok(r.ok, `teacher not publishing camera, screen and mic${ctx(fmt(r.value))}`);
  });

  it('three students decode the camera and the screen and receive audio; the teacher lists them', { timeout: 60_000 }, async () => {
    firstJoinAt = Date.now();
    await Promise.all(['An', 'Bình', 'Chi'].map((n) => openStudent(n)));
    const r = await allDecoding(students.slice(0, 3));
    note(`students: ${fmt(r.value.map((s) => ({ cam: s.camera, scr: s.screen, mic: s.mic?.packetsReceived })))}`);
    assert.ok(r.ok, `not all three students decode both videos and get audio${ctx(fmt(r.value))}`);
    for (const st of r.value) {
      assert.equal(st.lessonState, 'live');
      assert.ok(st.camera.frameWidth > 0 && st.screen.frameWidth > 0);
    }
    const layout = await students[0].page.evaluate(() => document.getElementById('stage').dataset.layout);
    assert.equal(layout, 'screen-camera', 'screen large, camera small');

    const m = await pollUntil(() => teacher.page.evaluate(() => window.ccTeacher.members),
      (ms) => ['An', 'Bình', 'Chi'].every((n) => ms.some((x) => x.name === n && x.role === 'student' && x.watching)),
      { timeoutMs: 10_000, intervalMs: 250 });
    assert.ok(m.ok, `members on the teacher page: ${fmt(m.value)}`);
    assert.match(await text(teacher.page, '#members'), /An[\s\S]*Bình[\s\S]*Chi|An|Bình|Chi/);
  });

  it('a student joining 10 s late shows a decoded frame within 1 s of its subscribe answer', { timeout: 40_000 }, async () => {
    const wait = firstJoinAt + 10_000 - Date.now();
    if (wait > 0) await sleep(wait);
    const late = await openStudent('Dũng');
    const r = await pollUntil(() => studentStats(late.page),
      (s) => s.timing?.firstFrame?.camera !== null && s.timing?.firstFrame?.screen !== null && s.timing?.answerAt !== null,
      { timeoutMs: 15_000, intervalMs: 200 });
    const ff = r.value.timing?.firstFrame;
    note(`late student: first frame after the subscribe answer: camera ${ff?.camera} ms, screen ${ff?.screen} ms`);
    assert.ok(r.ok, `late student shows no frame${ctx(fmt(r.value))}`);
    assert.ok(ff.camera <= 1000, `camera first frame ${ff.camera} ms after the answer (want <= 1000)`);
    assert.ok(ff.screen <= 1000, `screen first frame ${ff.screen} ms after the answer (want <= 1000)`);
    await teacher.page.waitForFunction(() => window.ccTeacher.members.some((x) => x.name === 'Dũng'), null, { timeout: 5000 });
  });

  it('the teacher reloads mid-lesson and publishes again; students recover without reloading', { timeout: 60_000 }, async () => {
    const before = await Promise.all(students.map((s) => studentStats(s.page)));
    const t0 = Date.now();
    await teacher.page.reload({ waitUntil: 'load', timeout: 15_000 });
    // resume + publish (camera, mic) happen by themselves; the screen needs a click.
    await teacher.page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.sendState === 'connected',
      null, { timeout: 15_000 });
    const tBack = Date.now();
    note(`teacher back and publishing ${tBack - t0} ms after the reload`);
    assert.equal(await teacher.page.evaluate(() => window.ccTeacher.code), code);
    assert.equal(await teacher.page.evaluate(() => window.ccTeacher.lessonState), 'live');
    await teacher.page.click('#screen-toggle');

    // Progress on a page's current subscription: a re-subscribe resets the
    // counters, so compare within the same subscription only.
    const progressed = (b, a, slot) => (a.timing.subscribes !== b.timing.subscribes
      ? a[slot]?.framesDecoded > 20 : a[slot]?.framesDecoded > (b[slot]?.framesDecoded || 0) + 20);
    const base = await Promise.all(students.map((s) => studentStats(s.page)));
    const r = await pollUntil(() => Promise.all(students.map((s) => studentStats(s.page))),
      (all) => all.every((a, i) => progressed(base[i], a, 'camera')), { timeoutMs: 8000, intervalMs: 250 });
    const tCam = Date.now();
    note(`students' camera decoding again ${tCam - tBack} ms after the teacher republished: ${fmt(r.value.map((s) => ({ cam: s.camera?.framesDecoded, subs: s.timing.subscribes, joins: s.timing.joins })))}`);
    assert.ok(r.ok, `students did not recover the camera within 8 s${ctx(fmt(r.value))}`);
    assert.ok(tCam - tBack <= 6000, `recovery took ${tCam - tBack} ms (want about 5 s)`);
    const r2 = await pollUntil(() => Promise.all(students.map((s) => studentStats(s.page))),
      (all) => all.every((a, i) => progressed(base[i], a, 'screen')), { timeoutMs: 10_000, intervalMs: 250 });
    assert.ok(r2.ok, `students did not get the re-shared screen${ctx(fmt(r2.value))}`);
    for (const s of students) assert.equal(await s.page.evaluate(() => window.__noReload), true, 'student page was not reloaded');
    note(`before the reload: ${fmt(before.map((s) => s.camera?.framesDecoded))}`);
  });

  it('a student publishing over its own WebSocket gets "forbidden" and nothing is forwarded', { timeout: 30_000 }, async () => {
    const page = students[0].page;
    const statsBefore = await server.stats();
    const reply = await page.evaluate(async () => {
      // A real sendonly offer from the fake camera, sent raw on the page's socket.
      const ws = window.ccStudent.ws;
      const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      const pc = new RTCPeerConnection();
      for (const tr of media.getTracks()) pc.addTransceiver(tr, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 3000); } });
      const tracks = {};
      pc.getTransceivers().forEach((tx) => { tracks[tx.mid] = tx.sender.track.kind === 'video' ? 'camera' : 'mic'; });
      const out = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ timeout: true }), 5000);
        const h = (ev) => {
          const m = JSON.parse(ev.data);
          if (m.id === 'evil-1') { clearTimeout(timer); ws.removeEventListener('message', h); resolve(m); }
        };
        ws.addEventListener('message', h);
        ws.send(JSON.stringify({ type: 'publish', id: 'evil-1', sdp: pc.localDescription.sdp, tracks }));
      });
      await new Promise((r) => setTimeout(r, 2000));
      pc.close();
      media.getTracks().forEach((t) => t.stop());
      return out;
    });
    note(`student publish reply: ${fmt(reply)}`);
    assert.equal(reply.type, 'error');
    assert.equal(reply.code, 'forbidden');
    const statsAfter = await server.stats();
    note(`/stats before ${fmt(statsBefore)}\n/stats after ${fmt(statsAfter)}`);
    // No new transport was made for it; the student is still watching.
    if (typeof statsBefore.peers === 'number') assert.ok(statsAfter.peers <= statsBefore.peers, 'no peer added for a refused publish');
    const st = await studentStats(page);
    assert.equal(st.state, 'joined');
    assert.equal(st.error, null);
  });

  it('malformed JSON, an unknown type, a frame over 64 KiB, a request before joining and a wrong code get error replies; the lesson keeps going', { timeout: 40_000 }, async () => {
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
    const ws = new WebSocket(wsUrl, { handshakeTimeout: 5000, maxPayload: 1 << 20 });
    await Promise.race([once(ws, 'open'), sleep(5000).then(() => { throw new Error('ws open timed out'); })]);
    const before = await Promise.all(students.map((s) => studentStats(s.page)));
    const cases = [
      ['malformed JSON', '{"type": "join", ', 'bad_json'],
      ['not an object', '[1,2,3]', 'bad_json'],
      ['unknown type', JSON.stringify({ type: 'frobnicate', id: 'u1' }), 'unknown_type'],
      ['over 64 KiB', JSON.stringify({ type: 'ping', id: 'big', pad: 'x'.repeat(70 * 1024) }), 'too_big'],
      ['subscribe before joining', JSON.stringify({ type: 'subscribe', id: 'nj', sdp: 'v=0\r\n' }), 'not_joined'],
      ['start before joining', JSON.stringify({ type: 'start', id: 'nj2' }), 'not_joined'],
      ['wrong lesson code', JSON.stringify({ type: 'join', id: 'wc', code: String((Number(code) + 1) % 1e6).padStart(6, '0'), name: 'Eve' }), 'no_such_lesson'],
    ];
    try {
      for (const [what, frame, want] of cases) {
        const p = nextMessage(ws, 5000);
        ws.send(frame);
        const m = await p;
        note(`${what}: ${fmt(m)}`);
        assert.equal(m.type, 'error', `${what}: ${fmt(m)}`);
        assert.equal(m.code, want, `${what}: ${fmt(m)}`);
        assert.equal(typeof m.message, 'string');
      }
      // The socket is still usable.
      const p = nextMessage(ws, 5000);
      ws.send(JSON.stringify({ type: 'ping', id: 'alive' }));
      const pong = await p;
      assert.equal(pong.type, 'pong');
      assert.equal(pong.id, 'alive');
    } finally {
      ws.close();
    }
    await sleep(2000);
    const afterSt = await Promise.all(students.map((s) => studentStats(s.page)));
    afterSt.forEach((a, i) => {
      const b = before[i];
      const same = a.timing.subscribes === b.timing.subscribes;
      assert.ok(!same || a.camera.framesDecoded > b.camera.framesDecoded + 10, `student ${i} camera kept decoding`);
      assert.ok(!same || a.screen.framesDecoded > b.screen.framesDecoded + 5, `student ${i} screen kept decoding`);
    });
    assert.ok(server.alive());
  });

  it('screenshots of the teacher page and a student page', { timeout: 30_000 }, async () => {
    await students[0].page.click('#sound');
    await teacher.page.screenshot({ path: artifactPath('teacher.png'), fullPage: true, timeout: 15_000 });
    await students[0].page.screenshot({ path: artifactPath('student.png'), timeout: 15_000 });
    note(`screenshots: ${artifactPath('teacher.png')} ${artifactPath('student.png')}`);
  });

  it('ending the lesson shows "lesson ended" to every student', { timeout: 20_000 }, async () => {
    await teacher.page.click('#end');
    await teacher.page.click('#end-yes');
    for (const s of students) {
      await s.page.waitForFunction(() => window.ccStudent.state === 'ended', null, { timeout: 5000 });
      assert.equal(await text(s.page, '#overlay-title'), 'The lesson has ended');
    }
  });

  it('server stops cleanly (no crash, no sanitizer report)', { timeout: 30_000 }, async () => {
    await browser.close();
    browser = null;
    const srv = server;
    server = null;
    await srv.stop();
  });
});
