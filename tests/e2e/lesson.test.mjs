// End to end: a classroom lesson in headless Chromium against the real
// classcast server (lib/server.mjs). One server and one browser serve the
// whole file.
//
// Part 1 ("pages") checks the pages' flows and both languages: the landing
// page's code check, the teacher creating a lesson (code, link, camera and
// microphone published while the lesson waits), a student waiting and then
// live, the layout following the teacher's screen sharing (screen large and
// camera small; camera large once the teacher stops sharing), tap for sound,
// a dropped WebSocket coming back by itself, the end of the lesson, a wrong
// code in both languages, touch target sizes, the teacher resuming after a
// reload, and no request leaving 127.0.0.1. What the pages send and receive
// is read from Chromium's own WebSocket frames (lib/lesson.mjs recordSignal).
//
// Part 2 ("media") measures media: a teacher page publishes Chromium's fake
// camera, microphone and screen; three students decode both videos and
// receive audio; a fourth, late student shows a frame within 1 s of its
// subscribe answer; the teacher reloads and publishes again while the
// students recover by themselves; a student's publish is refused; hostile
// signalling frames get error replies while everyone keeps decoding.
//
// The screen track: with --use-fake-device-for-media-stream and
// --use-fake-ui-for-media-stream (lib/chromium.mjs), headless Chromium 156
// answers getDisplayMedia() with a fake 1280x720 "monitor" source (label
// "screen:-3:0", displaySurface "monitor"), picked without a dialog. No
// --auto-select-desktop-capture-source and no test-only page flag are needed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import WebSocket from 'ws';

import { startServer, artifactPath } from './lib/server.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';
import {
  launch, newPage, studentStats, teacherStats, recordSignal, replyTo, iceUfrag, icePwd,
  studentLink, joinAsStudent, signInTeacher,
} from './lib/lesson.mjs';
import { assertLayout } from './lib/layout.mjs';

const note = (...a) => console.log(...a);
const fmt = (v) => JSON.stringify(v);

// Visible text of an element, trimmed.
const text = (page, sel) => page.locator(sel).innerText({ timeout: 5000 }).then((s) => s.trim());

// The first frame in `frames` (from index `from`) matching `pred`, waited for.
async function frameWhere(frames, pred, { from = 0, timeoutMs = 6000 } = {}) {
  const r = await pollUntil(() => Promise.resolve(frames.slice(from).find(pred)), Boolean,
    { timeoutMs, intervalMs: 100 });
  return r.value;
}
const sent = (type, extra = () => true) => (f) => f.dir === 'out' && f.msg.type === type && extra(f.msg);

// The error codes of docs/protocol.md.
const ERROR_CODES = ['bad_json', 'too_big', 'unknown_type', 'bad_request', 'not_joined', 'not_signed_in',
  'must_change_password', 'too_many_lessons', 'too_many_tries', 'already_joined',
  'no_such_lesson', 'bad_token', 'lesson_ended', 'forbidden', 'bad_sdp', 'capture_failed', 'server_busy', 'server_error'];

// Lesson codes the pages created in this file, and a 6-digit code that is
// none of them (for "wrong code" checks).
const knownCodes = new Set();
function unusedCode() {
  for (;;) {
    const c = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
    if (!knownCodes.has(c)) return c;
  }
}

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


describe('lesson (real server)', { timeout: 420_000 }, () => {
  let server;
  let browser;
  const log = [];
  const outside = []; // requests to anything but 127.0.0.1

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

  function watchRequests(page) {
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['data:', 'blob:'].includes(u.protocol) && u.hostname !== '127.0.0.1') outside.push(r.url());
    });
  }

  // A page (its own context: another tablet) with its requests watched and
  // its signalling frames recorded; loads `url` (a link, or a path on the
  // server).
  async function open(url, opts) {
    const p = await newPage(browser, null, { log, ...opts });
    watchRequests(p.page);
    p.frames = recordSignal(p.page);
    if (url) await p.page.goto(/^https?:/.test(url) ? url : `${server.url}${url}`, { waitUntil: 'load', timeout: 15_000 });
    return p;
  }

  // -------------------------------------------------------------------------
  describe('pages', () => {
    it('landing page: Vietnamese first for a vi browser, checks the code, goes to the student page, remembers the name', { timeout: 30_000 }, async () => {
      const { page, context } = await open('/index.html', { locale: 'vi-VN', viewport: { width: 800, height: 1280 }, tag: 'index' });
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'vi');
      assert.equal(await text(page, 'h1'), 'Vào lớp học');
      assert.equal(await page.getAttribute('#code', 'inputmode'), 'numeric', 'a number pad for the 6 digits on a tablet');
      assert.equal(await text(page, '#teacher-link'), 'Tôi là giáo viên: bắt đầu buổi học');
      assert.equal(await page.getAttribute('#teacher-link', 'href'), 'teacher.html');

      await page.locator('#code').pressSequentially('4829');
      await page.locator('#name').pressSequentially('Lò Thị Mai');
      await page.click('#join');
      assert.equal(await text(page, '#form-error'), 'Mã buổi học gồm 6 chữ số, ví dụ 482913 (lớp học mẫu có mã demo).');
      // English on request, and the error follows the switch.
      await page.click('button[data-lang="en"]');
      assert.equal(await text(page, 'h1'), 'Join a lesson');
      assert.equal(await text(page, '#form-error'), 'The lesson code has 6 digits, like 482913 (the demo lesson\'s code is demo).');
      // The demo lesson's code is a word: typed, it stays (letters keyboard
      // from then on), and the error goes away.
      await page.fill('#code', '');
      await page.locator('#code').pressSequentially('demo');
      assert.equal(await page.inputValue('#code'), 'demo');
      assert.equal(await page.getAttribute('#code', 'inputmode'), 'text');
      assert.ok(!(await page.isVisible('#form-error')), 'the error goes once the code is typed again');

      await page.fill('#code', '');
      await page.locator('#code').pressSequentially('482 913');
      assert.equal(await page.inputValue('#code'), '482913');
      assert.equal(await page.getAttribute('#code', 'inputmode'), 'numeric');
      await Promise.all([page.waitForURL(/student\.html/, { timeout: 5000 }), page.click('#join')]);
      const u = new URL(page.url());
      assert.equal(u.searchParams.get('code'), '482913');
      assert.equal(u.searchParams.get('name'), 'Lò Thị Mai');
      // The language choice stuck (localStorage) and the name is remembered.
      await page.goto(`${server.url}/index.html`);
      assert.equal(await text(page, 'h1'), 'Join a lesson');
      assert.equal(await page.inputValue('#name'), 'Lò Thị Mai');
      await context.close();
    });

    let teacher;
    let code;
    let pubAnswer; // the server's answer to the first publish
    it('teacher: create shows the code and the student link, turns on camera and microphone and publishes them while the lesson waits', { timeout: 30_000 }, async () => {
      teacher = await open('/teacher.html', { locale: 'vi-VN', viewport: { width: 1280, height: 800 }, tag: 'teacher' });
      const { page, frames } = teacher;
      // Only a signed-in teacher creates lessons (docs/accounts.md).
      await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(await text(page, '#signin h1'), 'Đăng nhập');
      await signInTeacher(page, server);
      assert.equal(await text(page, '#create h1'), 'Tạo buổi học mới');
      await page.fill('#lesson-title', 'Toán lớp 5 – Phân số');
      await page.fill('#teacher-name', 'Cô Hoa');
      await page.click('#create-btn');
      await page.waitForFunction(() => /^[0-9]{6}$/.test(window.ccTeacher.code || ''), null, { timeout: 5000 });
      code = await page.evaluate(() => window.ccTeacher.code);
      knownCodes.add(code);
      assert.equal(await text(page, '#code'), code);
      assert.ok((await page.inputValue('#student-link')).endsWith(`/student.html?code=${code}`));
      assert.equal(await text(page, '#lesson-title-view'), 'Toán lớp 5 – Phân số');
      assert.match(await text(page, '#lesson-state-text'), /^Chưa bắt đầu/);
      assert.equal(await text(page, '#conn-text'), 'Đã kết nối với máy chủ');
      const created = frames.find((f) => f.dir === 'in' && f.msg.type === 'created')?.msg;
      assert.ok(created?.token && created?.viewer_token, `created: ${fmt(created)}`);
      // Camera and microphone come on by default and are published, while
      // the lesson is still waiting (the server allows it).
      await page.waitForFunction(() => window.ccTeacher.tracks.camera && window.ccTeacher.tracks.mic, null, { timeout: 5000 });
      const pub = (await frameWhere(frames, sent('publish')))?.msg;
      assert.ok(pub, 'the teacher page sent no publish');
      assert.deepEqual(Object.values(pub.tracks).sort(), ['camera', 'mic']);
      assert.match(pub.sdp, /a=sendonly/);
      // The page does not wait for ICE gathering (the server is ICE-lite and
      // never reads the browser's candidates); the answer carries the
      // server's candidates, complete.
      await page.waitForFunction(() => window.ccTeacher.sendState === 'connected', null, { timeout: 10_000 });
      pubAnswer = replyTo(frames, pub);
      assert.equal(pubAnswer?.type, 'answer', `publish reply: ${fmt(pubAnswer)}`);
      assert.match(pubAnswer.sdp, /a=candidate:/, 'the answer names the server\'s candidates');
      assert.match(pubAnswer.sdp, /a=end-of-candidates/, 'and says they are complete');
      assert.equal(pubAnswer.for, 'publish');
      assert.equal(await page.evaluate(() => window.ccTeacher.lessonState), 'waiting');
      assert.equal(await page.getAttribute('#cam-toggle', 'aria-pressed'), 'true');
      assert.equal(await text(page, '#cam-label'), 'Tắt camera');
      assert.ok(await page.locator('#cam-select option').count() >= 1, 'camera list filled');
      assert.equal(await page.evaluate(() => document.getElementById('cam-preview').muted), true);
      assert.ok(await page.evaluate(() => document.getElementById('cam-preview').playsInline));
      assert.ok(await page.isVisible('#start'));
    });

    let student;
    it('student: joining a waiting lesson shows "waiting for the teacher", subscribes, and the teacher lists the student watching', { timeout: 30_000 }, async () => {
      // The link the teacher page shows, opened on a tablet: the code is
      // filled in, the student types a name and presses the button.
      const link = await studentLink(teacher.page);
      student = await open(link, { locale: 'vi-VN', viewport: { width: 1280, height: 800 }, tag: 'student' });
      const { page, frames } = student;
      assert.equal(await page.inputValue('#code'), code, 'the link fills in the code');
      assert.equal(await text(page, '#join-form button[type=submit]'), 'Vào lớp');
      await joinAsStudent(page, 'Lò Văn An');
      await page.waitForFunction(() => window.ccStudent.state === 'joined', null, { timeout: 5000 });
      // A reload rejoins by itself: the page put code and name in its address.
      const here = new URL(page.url());
      assert.deepEqual([here.searchParams.get('code'), here.searchParams.get('name')], [code, 'Lò Văn An']);
      assert.equal(await text(page, '#overlay-title'), 'Đang chờ giáo viên…');
      assert.equal(await text(page, '#teacher-name'), 'Giáo viên: Cô Hoa');
      assert.equal(await text(page, '#lesson-title'), 'Toán lớp 5 – Phân số');
      // Subscribe: recvonly, three transceivers, tracks mid -> slot. The
      // subscribe follows `joined` at once.
      const sub = (await frameWhere(frames, sent('subscribe')))?.msg;
      assert.ok(sub, `no subscribe: ${fmt(frames.map((f) => `${f.dir} ${f.msg.type}`))}`);
      assert.deepEqual(Object.values(sub.tracks), ['camera', 'screen', 'mic']);
      assert.equal((sub.sdp.match(/^m=video/mg) || []).length, 2);
      assert.equal((sub.sdp.match(/^m=audio/mg) || []).length, 1);
      assert.equal((sub.sdp.match(/^a=recvonly/mg) || []).length, 3);
      for (const id of ['screen', 'camera']) {
        const v = await page.evaluate((i) => { const e = document.getElementById(i); return { pi: e.playsInline, ap: e.autoplay, m: e.muted }; }, id);
        assert.deepEqual(v, { pi: true, ap: true, m: true }, `#${id} playsinline autoplay muted`);
      }
      // What the teacher publishes reached the student with `joined`.
      const media = frames.find((f) => f.dir === 'in' && f.msg.type === 'media')?.msg;
      assert.deepEqual(media && { c: media.camera, s: media.screen, m: media.mic }, { c: true, s: false, m: true });

      // The teacher page lists the student, watching (its subscribe transport
      // is connected on the server).
      await teacher.page.waitForFunction(() => window.ccTeacher.members.some((m) => m.name === 'Lò Văn An' && m.watching), null, { timeout: 10_000 });
      assert.match(await text(teacher.page, '#members'), /Lò Văn An\s+Đang xem/);
      assert.equal(await text(teacher.page, '#members-count'), '1 học sinh, 1 đang xem');
    });

    it('teacher: start; sharing the screen renegotiates on the same transport; students see screen large and camera small, and camera large again when sharing stops', { timeout: 60_000 }, async () => {
      const { page, frames } = teacher;
      const sp = student.page;
      await page.click('#start');
      await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 5000 });
      assert.equal(await text(page, '#lesson-state-text'), 'Đang dạy: học sinh đang xem và nghe thầy cô.');
      assert.ok(await page.isVisible('#end'));
      assert.ok(!(await page.isVisible('#start')));
      // Live without a screen: the camera is large.
      await sp.waitForFunction(() => window.ccStudent.lessonState === 'live' && document.getElementById('stage').dataset.layout === 'camera', null, { timeout: 5000 });
      assert.ok(!(await sp.isVisible('#overlay')), 'no overlay while live');
      const box = async (sel) => sp.locator(sel).boundingBox();
      const camLarge = await box('#camera');

      // Share the screen: a renegotiate for publish with a third slot, on the
      // same RTCPeerConnection, answered with the same ICE credentials.
      let n0 = frames.length;
      await page.click('#screen-toggle');
      await page.waitForFunction(() => !!window.ccTeacher.tracks.screen, null, { timeout: 5000 });
      const reneg = (await frameWhere(frames, sent('renegotiate'), { from: n0 }))?.msg;
      assert.ok(reneg, `no renegotiate after sharing the screen: ${fmt(frames.slice(n0).map((f) => `${f.dir} ${f.msg.type}`))}`);
      assert.equal(reneg.for, 'publish');
      assert.deepEqual(Object.values(reneg.tracks).sort(), ['camera', 'mic', 'screen']);
      const label = await page.evaluate(() => window.ccTeacher.tracks.screen.label);
      note(`screen track in headless Chromium: label ${fmt(label)}, settings ${fmt(await page.evaluate(() => window.ccTeacher.tracks.screen.getSettings()))}`);
      assert.equal(await text(page, '#screen-label'), 'Dừng chia sẻ màn hình');
      const ans = (await frameWhere(frames, (f) => f.dir === 'in' && f.msg.id === reneg.id, { from: n0 }))?.msg;
      assert.equal(ans?.type, 'answer', `renegotiate reply: ${fmt(ans)}`);
      assert.equal(iceUfrag(ans.sdp), iceUfrag(pubAnswer.sdp), 'same transport: same ICE ufrag in the answer');
      assert.equal(icePwd(ans.sdp), icePwd(pubAnswer.sdp), 'same transport: same ICE password in the answer');

      await sp.waitForFunction(() => document.getElementById('stage').dataset.layout === 'screen-camera', null, { timeout: 5000 });
      const scr = await box('#screen');
      const cam = await box('#camera');
      assert.ok(scr.width > 3 * cam.width, `screen large (${scr.width}) and camera small (${cam.width})`);
      assert.ok(cam.x > scr.x + scr.width / 2 && cam.y > scr.y + scr.height / 2, 'camera in the bottom-right corner');
      assert.ok(camLarge.width > 3 * cam.width, `camera large without a screen (${camLarge.width} vs ${cam.width})`);
      const r = await pollUntil(() => studentStats(sp), (s) => s.screen?.framesDecoded > 5 && s.camera?.framesDecoded > 5,
        { timeoutMs: 10_000, intervalMs: 250 });
      assert.ok(r.ok, `the student decodes the shared screen${ctx(fmt(r.value))}`);

      // Stop sharing: the screen's mid leaves `tracks`, the slot stops, the
      // students get media screen:false and show the camera large.
      n0 = frames.length;
      const tStop = Date.now();
      await page.click('#screen-toggle');
      const stop = (await frameWhere(frames, sent('renegotiate'), { from: n0 }))?.msg;
      assert.ok(stop, 'no renegotiate after stopping the screen');
      assert.deepEqual(Object.values(stop.tracks).sort(), ['camera', 'mic']);
      await sp.waitForFunction(() => document.getElementById('stage').dataset.layout === 'camera', null, { timeout: 5000 });
      note(`student layout back to camera-large ${Date.now() - tStop} ms after the teacher stopped sharing`);
      assert.equal(await page.evaluate(() => window.ccTeacher.media.screen), false);
      assert.equal(await text(page, '#screen-label'), 'Chia sẻ màn hình');
      assert.ok((await box('#camera')).width > 3 * cam.width, 'camera large again');

      // Share again: the stopped m-line cannot come back, so the page adds a
      // new one; the students decode it on the subscription they have.
      let before = await studentStats(sp);
      await page.click('#screen-toggle');
      await sp.waitForFunction(() => document.getElementById('stage').dataset.layout === 'screen-camera', null, { timeout: 8000 });
      const r2 = await pollUntil(() => studentStats(sp),
        (s) => s.screen?.framesDecoded > (before.screen?.framesDecoded || 0) + 5, { timeoutMs: 10_000, intervalMs: 250 });
      assert.ok(r2.ok, `the re-shared screen decodes${ctx(fmt(r2.value))}`);
      assert.equal(r2.value.timing.subscribes, before.timing.subscribes, 'no new subscribe for a re-shared screen');

      // The camera off and on again works the same way.
      n0 = frames.length;
      await page.click('#cam-toggle');
      const camOff = (await frameWhere(frames, sent('renegotiate'), { from: n0 }))?.msg;
      assert.deepEqual(camOff && Object.values(camOff.tracks).sort(), ['mic', 'screen']);
      await sp.waitForFunction(() => document.getElementById('stage').dataset.layout === 'screen', null, { timeout: 5000 });
      assert.equal(await text(page, '#cam-label'), 'Bật camera');
      before = await studentStats(sp);
      n0 = frames.length;
      await page.click('#cam-toggle');
      const camOn = (await frameWhere(frames, sent('renegotiate'), { from: n0 }))?.msg;
      assert.deepEqual(camOn && Object.values(camOn.tracks).sort(), ['camera', 'mic', 'screen']);
      await sp.waitForFunction(() => document.getElementById('stage').dataset.layout === 'screen-camera', null, { timeout: 5000 });
      const r3 = await pollUntil(() => studentStats(sp),
        (s) => s.camera?.framesDecoded > (before.camera?.framesDecoded || 0) + 5, { timeoutMs: 10_000, intervalMs: 250 });
      assert.ok(r3.ok, `the camera decodes again${ctx(fmt(r3.value))}`);
      assert.equal(r3.value.timing.subscribes, before.timing.subscribes, 'no new subscribe for a camera turned back on');
    });

    it('student: tap for sound (audio starts muted)', { timeout: 15_000 }, async () => {
      const { page } = student;
      await page.waitForSelector('#sound:not([hidden])', { timeout: 5000 });
      assert.equal(await text(page, '#sound-label'), 'Chạm để bật tiếng');
      assert.equal(await page.evaluate(() => document.getElementById('audio').muted), true);
      await page.click('#sound');
      assert.equal(await page.evaluate(() => document.getElementById('audio').muted), false);
      assert.ok(await page.isVisible('#mute'));
    });

    it('student: a dropped connection shows "reconnecting" and comes back by itself; the end shows "lesson ended"', { timeout: 40_000 }, async () => {
      // The drop: the page's WebSocket closes under it (what a Wi-Fi blip
      // looks like to the page). Restarting the server instead would forget
      // the lesson, and the student would rightly show "no such lesson".
      const { page, frames } = student;
      const joins0 = await page.evaluate(() => window.ccStudent.timing.joins);
      const n0 = frames.length;
      await page.evaluate(() => window.ccStudent.ws.close());
      await page.waitForFunction(() => window.ccStudent.state === 'reconnecting', null, { timeout: 5000 });
      assert.equal(await text(page, '#overlay-title'), 'Đang kết nối lại…');
      await page.screenshot({ path: artifactPath('student-reconnecting.png') });
      await page.waitForFunction((j) => window.ccStudent.state === 'joined' && window.ccStudent.timing.joins > j, joins0, { timeout: 15_000 });
      const sub = await frameWhere(frames, sent('subscribe'), { from: n0 });
      assert.ok(sub, 're-subscribed after re-joining');
      const r = await pollUntil(() => studentStats(page), (s) => s.camera?.framesDecoded > 5 && s.screen?.framesDecoded > 5,
        { timeoutMs: 10_000, intervalMs: 250 });
      assert.ok(r.ok, `video again after the reconnect${ctx(fmt(r.value))}`);
      // The teacher sees the student once (the old member left with its socket).
      const m = await pollUntil(() => teacher.page.evaluate(() => window.ccTeacher.members.filter((x) => x.role === 'student')),
        (ms) => ms.length === 1 && ms[0].name === 'Lò Văn An' && ms[0].watching, { timeoutMs: 8000, intervalMs: 250 });
      assert.ok(m.ok, `members after the reconnect: ${fmt(m.value)}`);

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
      await student.context.close();
      await teacher.context.close();
    });

    it('student: a wrong code says so in plain words, in both languages', { timeout: 20_000 }, async () => {
      const wrong = unusedCode();
      // Typed on the join page (the code misheard), then Join.
      const { page, context } = await open('/', { locale: 'vi-VN', viewport: { width: 390, height: 844 }, tag: 'wrong' });
      await joinAsStudent(page, 'Bình', { code: wrong });
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
      const { page, context, frames } = await open('/teacher.html', { locale: 'en-US', tag: 'teacher2' });
      await signInTeacher(page, server);
      await page.fill('#teacher-name', 'Thầy Minh');
      await page.click('#create-btn');
      await page.waitForFunction(() => window.ccTeacher.sendState === 'connected' && window.ccTeacher.pc, null, { timeout: 10_000 });
      const token = await page.evaluate(() => window.ccTeacher.token);
      const code2 = await page.evaluate(() => window.ccTeacher.code);
      knownCodes.add(code2);
      const n0 = frames.length;
      await page.reload({ waitUntil: 'load' });
      await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.sendState === 'connected', null, { timeout: 10_000 });
      const resume = (await frameWhere(frames, sent('resume'), { from: n0 }))?.msg;
      assert.ok(resume, 'no resume after reload');
      assert.equal(resume.token, token);
      assert.equal(resume.code, code2);
      assert.equal(replyTo(frames, resume)?.type, 'joined');
      assert.equal(replyTo(frames, resume)?.role, 'teacher');
      const pub = await frameWhere(frames, sent('publish'), { from: n0 });
      assert.ok(pub, 'no publish after the resume');
      assert.equal(await text(page, '#code'), code2);
      assert.match(await text(page, '#notice'), new RegExp(`Back in lesson ${code2}`));
      await context.close();
    });
  });

  // -------------------------------------------------------------------------
  describe('media', () => {
    let teacher;
    const students = [];
    let code;
    let firstJoinAt;

    async function openStudent(name) {
      const s = await open(await studentLink(teacher.page), { tag: name, viewport: { width: 1024, height: 768 } });
      await joinAsStudent(s.page, name);
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
      teacher = await open('/teacher.html', { tag: 'teacher3', viewport: { width: 1280, height: 900 } });
      const { page } = teacher;
      await signInTeacher(page, server);
      await page.fill('#lesson-title', 'Khoa học lớp 4 – Vòng tuần hoàn của nước');
      await page.fill('#teacher-name', 'Cô Hoa');
      await page.click('#create-btn');
      await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });
      code = await page.evaluate(() => window.ccTeacher.code);
      assert.match(code, /^[0-9]{6}$/, 'a 6-digit code');
      knownCodes.add(code);
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
      // The teacher's camera goes out in temporal layers (L1T3), which is
      // what lets the server thin it for a student on a weak link.
      const sfu = (await server.stats()).sfu;
      assert.ok(sfu.rtp_in_layered > 0, `the teacher's video carries temporal layer ids (${fmt(sfu)})`);
      // The teacher's browser gets transport-cc feedback instead of a fixed
      // REMB, so its own estimator measures the uplink (and reports it).
      assert.ok(sfu.twcc_publishers >= 1 && sfu.twcc_feedback_sent > 0, `transport-cc feedback sent (${fmt(sfu)})`);
      // No fixed REMB: one goes out only as the cap of the SFU's own
      // estimate of the teacher's uplink, once that saw an over-use
      // (docs/bwe.md, "The publisher's uplink"). On a busy 2-core
      // machine a stall can read as one even on loopback (5 REMBs in one
      // CI run); each is then counted as such a cap.
      assert.ok(sfu.remb_sent === 0 || sfu.remb_uplink > 0,
        `no REMB to a browser that takes transport-cc but the uplink's cap (${sfu.remb_sent} sent, ${sfu.remb_uplink} caps)`);
      const est = await teacher.page.evaluate(async () => {
        let v = 0;
        (await window.ccTeacher.pc.getStats()).forEach((r) => {
          if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate) v = r.availableOutgoingBitrate;
        });
        return v;
      });
      note(`teacher uplink estimate from transport-cc: ${Math.round(est / 1000)} kbit/s`);
      assert.ok(est > 0, 'the teacher browser has an outgoing bandwidth estimate');

      const m = await pollUntil(() => teacher.page.evaluate(() => window.ccTeacher.members),
        (ms) => ['An', 'Bình', 'Chi'].every((n) => ms.some((x) => x.name === n && x.role === 'student' && x.watching)),
        { timeoutMs: 10_000, intervalMs: 250 });
      assert.ok(m.ok, `members on the teacher page: ${fmt(m.value)}`);
      const shown = await text(teacher.page, '#members');
      for (const n of ['An', 'Bình', 'Chi']) assert.match(shown, new RegExp(`^${n}\\s+Watching$`, 'm'), `#members: ${fmt(shown)}`);
    });

    it('a student joining 10 s late shows a decoded frame within 1 s of its subscribe answer', { timeout: 40_000 }, async () => {
      const wait = firstJoinAt + 10_000 - Date.now();
      if (wait > 0) await sleep(wait);
      const late = await openStudent('Dũng');
      const r = await pollUntil(() => studentStats(late.page),
        (s) => s.timing?.firstFrame?.camera !== null && s.timing?.firstFrame?.screen !== null && s.timing?.answerAt !== null,
        { timeoutMs: 15_000, intervalMs: 200 });
      const ff = r.value.timing?.firstFrame;
      const fr = r.value.timing?.firstFrameReceived;
      note(`late student: first frame after the subscribe answer: camera ${ff?.camera} ms, screen ${ff?.screen} ms (its last packet in at ${fr?.camera} / ${fr?.screen} ms); camera ${fmt(r.value.camera)}, screen ${fmt(r.value.screen)}`);
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
      // The server keeps each subscriber's transport and SSRCs when the
      // teacher publishes again: no student had to subscribe again.
      const after = await Promise.all(students.map((s) => studentStats(s.page)));
      note(`subscribes before/after: ${fmt(before.map((b, i) => [b.timing.subscribes, after[i].timing.subscribes]))}, camera ssrc before/after: ${fmt(before.map((b, i) => [b.camera?.ssrc, after[i].camera?.ssrc]))}`);
      after.forEach((a, i) => {
        assert.equal(a.timing.subscribes, before[i].timing.subscribes, `student ${i} subscribed again`);
        assert.equal(a.camera?.ssrc, before[i].camera?.ssrc, `student ${i} camera SSRC kept`);
        assert.equal(a.screen?.ssrc, before[i].screen?.ssrc, `student ${i} screen SSRC kept`);
        assert.equal(a.mic?.ssrc, before[i].mic?.ssrc, `student ${i} mic SSRC kept`);
      });
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
      assert.equal(reply.id, 'evil-1');
      assert.equal(reply.ref, 'publish');
      const statsAfter = await server.stats();
      note(`/stats before ${fmt(statsBefore)}\n/stats after ${fmt(statsAfter)}`);
      // No transport was made for it, nothing of the student's reached the
      // SFU, and the teacher is still the only publisher.
      assert.equal(statsAfter.peers, statsBefore.peers, 'no peer added for a refused publish');
      assert.equal(statsAfter.sfu.publishers, statsBefore.sfu.publishers, 'no publisher added');
      assert.equal(statsAfter.sfu.subscribers, statsBefore.sfu.subscribers, 'subscribers unchanged');
      assert.equal(statsAfter.sfu.drop_from_subscriber, statsBefore.sfu.drop_from_subscriber, 'no RTP from a subscriber');
      assert.ok(statsAfter.sfu.rtp_out > statsBefore.sfu.rtp_out, 'the teacher\'s media kept flowing');
      const st = await studentStats(page);
      assert.equal(st.state, 'joined');
      assert.equal(st.error, null);
    });

    it('malformed JSON, an unknown type, a frame over 64 KiB, a request before joining and a wrong code get error replies; the lesson keeps going', { timeout: 40_000 }, async () => {
      const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
      const ws = new WebSocket(wsUrl, { handshakeTimeout: 5000, maxPayload: 1 << 20 });
      await Promise.race([once(ws, 'open'), sleep(5000).then(() => { throw new Error('ws open timed out'); })]);
      const before = await Promise.all(students.map((s) => studentStats(s.page)));
      // [what, frame, error code, id the reply must carry (undefined: none,
      // the frame was not parsed far enough to read one), ref]
      const cases = [
        ['malformed JSON', '{"type": "join", "id": "mj", ', 'bad_json', undefined, null],
        ['not an object', '[1,2,3]', 'bad_json', undefined, null],
        ['unknown type', JSON.stringify({ type: 'frobnicate', id: 'u1' }), 'unknown_type', 'u1'],
        ['unknown type, integer id', JSON.stringify({ type: 'frobnicate', id: 42 }), 'unknown_type', 42],
        ['over 64 KiB', JSON.stringify({ type: 'ping', id: 'big', pad: 'x'.repeat(70 * 1024) }), 'too_big', undefined, null],
        ['id over 64 characters', JSON.stringify({ type: 'ping', id: 'i'.repeat(65) }), 'bad_request', undefined],
        ['join without a name', JSON.stringify({ type: 'join', id: 'br', code: '123456' }), 'bad_request', 'br', 'join'],
        ['subscribe before joining', JSON.stringify({ type: 'subscribe', id: 'nj', sdp: 'v=0\r\n' }), 'not_joined', 'nj', 'subscribe'],
        ['start before joining', JSON.stringify({ type: 'start', id: 'nj2' }), 'not_joined', 'nj2', 'start'],
        ['wrong lesson code', JSON.stringify({ type: 'join', id: 'wc', code: unusedCode(), name: 'Eve' }), 'no_such_lesson', 'wc', 'join'],
      ];
      try {
        for (const [what, frame, want, id, ref] of cases) {
          const p = nextMessage(ws, 5000);
          ws.send(frame);
          const m = await p;
          note(`${what}: ${fmt(m).slice(0, 300)}`);
          assert.equal(m.type, 'error', `${what}: ${fmt(m)}`);
          assert.ok(ERROR_CODES.includes(m.code), `${what}: ${m.code} is not a code from docs/protocol.md`);
          assert.equal(m.code, want, `${what}: ${fmt(m)}`);
          assert.equal(typeof m.message, 'string');
          assert.ok(m.message.length > 0);
          if (id === undefined) assert.ok(m.id === undefined || m.id === null, `${what}: no id to echo, got ${fmt(m.id)}`);
          else assert.equal(m.id, id, `${what}: the request's id echoed`);
          if (ref !== undefined) assert.equal(m.ref ?? null, ref, `${what}: ref`);
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
        assert.equal(a.timing.subscribes, b.timing.subscribes, `student ${i} kept its subscription`);
        assert.ok(a.camera.framesDecoded > b.camera.framesDecoded + 10, `student ${i} camera kept decoding`);
        assert.ok(a.screen.framesDecoded > b.screen.framesDecoded + 5, `student ${i} screen kept decoding`);
      });
      assert.ok(server.alive());
    });

    it('mid-lesson layout: the teacher page shows code, link, controls, previews and the class; a student sees the screen with the camera in its corner and the controls below, all in English', { timeout: 30_000 }, async () => {
      const tp = teacher.page;
      const tl = await assertLayout(tp, {
        lang: 'en',
        shown: ['#code', '#student-link', '#copy', '#end', '#lesson-state', '#cam-toggle', '#mic-toggle', '#screen-toggle',
          '#send-state', '#cam-tile', '#screen-tile', '#members', '#members-count', '#conn'],
        hidden: ['#start', '#new-lesson', '#create', '#error', '#preview-none'],
        apart: ['#code', '#student-link', '#copy', '#end', '#cam-toggle', '#mic-toggle', '#screen-toggle',
          '#send-state', '#cam-tile', '#screen-tile', '#members'],
        within: [['#cam-preview', '#cam-tile'], ['#screen-preview', '#screen-tile']],
        texts: {
          '#code': code, '#end': 'End lesson', '#copy': 'Copy',
          '#lesson-state-text': 'Live: students can see and hear you.',
          '#cam-label': 'Turn camera off', '#mic-label': 'Turn microphone off', '#screen-label': 'Stop sharing screen',
          '#send-state-text': 'Sending picture and sound to the class.',
          '#members-count': `${students.length} students, ${students.length} watching`,
        },
      });
      assert.ok(tl.items['#student-link'].text.endsWith(`/student.html?code=${code}`));
      const previews = await tp.evaluate(() => ['cam-preview', 'screen-preview'].map((id) => {
        const v = document.getElementById(id);
        return { id, w: v.videoWidth, paused: v.paused };
      }));
      for (const p of previews) assert.ok(p.w > 0 && !p.paused, `teacher preview shows a picture: ${fmt(p)}`);

      // The student taps for sound first, as the page asks.
      const sp = students[0].page;
      await sp.click('#sound');
      await assertLayout(sp, {
        lang: 'en',
        inViewport: true, // a tablet shows the lesson without scrolling
        shown: ['#screen', '#camera', '#state', '#mute', '#leave', '#lesson-title', '#teacher-name', '#lang-switch'],
        hidden: ['#overlay', '#sound', '#join', '#link-notice'],
        apart: ['#screen', '#state', '#mute', '#leave', '#lesson-title', '#lang-switch'],
        within: [['#camera', '#screen']],
        texts: {
          '#state-text': 'Live', '#mute': 'Mute', '#leave': 'Leave',
          '#teacher-name': 'Teacher: Cô Hoa', '#lesson-title': 'Khoa học lớp 4 – Vòng tuần hoàn của nước',
        },
      });
      const vids = await sp.evaluate(() => ['screen', 'camera'].map((id) => {
        const v = document.getElementById(id);
        return { id, w: v.videoWidth, h: v.videoHeight, paused: v.paused };
      }));
      for (const v of vids) assert.ok(v.w > 0 && v.h > 0 && !v.paused, `the student's ${v.id} shows a picture: ${fmt(v)}`);
      assert.equal(await sp.evaluate(() => document.getElementById('audio').muted), false, 'sound on after the tap');
      // Pictures for people to look at (not checked further).
      await tp.screenshot({ path: artifactPath('teacher.png'), fullPage: true, timeout: 15_000 });
      await sp.screenshot({ path: artifactPath('student.png'), timeout: 15_000 });
    });

    it('ending the lesson shows "lesson ended" to every student', { timeout: 20_000 }, async () => {
      await teacher.page.click('#end');
      await teacher.page.click('#end-yes');
      for (const s of students) {
        await s.page.waitForFunction(() => window.ccStudent.state === 'ended', null, { timeout: 5000 });
        assert.equal(await text(s.page, '#overlay-title'), 'The lesson has ended');
      }
    });

  });

  it('nothing was fetched from outside 127.0.0.1 and no page threw', () => {
    assert.deepEqual(outside, []);
    const errors = log.filter((l) => l.includes('[pageerror]'));
    assert.deepEqual(errors, []);
  });

  it('server stops cleanly (no crash, no sanitizer report)', { timeout: 30_000 }, async () => {
    await browser.close();
    browser = null;
    const srv = server;
    server = null;
    await srv.stop();
  });
});
