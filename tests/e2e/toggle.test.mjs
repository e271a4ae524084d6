// The teacher's camera, microphone and screen buttons pressed quickly, end
// to end (real server, headless Chromium): a click during a negotiation is
// never lost and never overtakes the one before it. Each case ends with the
// buttons showing what the teacher last asked for, no error on the page,
// no error from the server, and a student (who joined by the teacher's
// link) decoding what is on.
//
// The clicks are real mouse clicks at the buttons' places, a few
// milliseconds apart (faster than one offer/answer with the server).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';

import { startServer, artifactPath } from './lib/server.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';
import {
  launch, newPage, studentStats, recordSignal, studentLink, joinAsStudent, signInTeacher,
} from './lib/lesson.mjs';

const fmt = (v) => JSON.stringify(v);
const LABEL = {
  camera: { on: 'Turn camera off', off: 'Turn camera on' },
  mic: { on: 'Turn microphone off', off: 'Turn microphone on' },
  screen: { on: 'Stop sharing screen', off: 'Share screen' },
};
const BUTTON = { camera: '#cam-toggle', mic: '#mic-toggle', screen: '#screen-toggle' };

describe('teacher: quick clicks on camera, microphone and screen', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let teacher;
  let student;
  let frames; // the teacher page's signalling
  const log = [];

  before(async () => {
    server = await startServer('toggle');
    browser = await launch();
  });
  after(async () => {
    try { writeFileSync(artifactPath('toggle.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  // What the teacher page shows and holds for one slot.
  const slotState = (page, slot) => page.evaluate(([sel, s]) => {
    const b = document.querySelector(sel);
    return {
      pressed: b.getAttribute('aria-pressed'),
      busy: b.getAttribute('aria-busy'),
      label: b.innerText.trim(),
      track: !!(window.ccTeacher.tracks[s] && window.ccTeacher.tracks[s].readyState === 'live'),
    };
  }, [BUTTON[slot], slot]);

  // The page has settled on `want` ({camera: true, ...}): buttons pressed
  // (or not) and not busy, tracks live (or none), what the server says
  // the students get matches, and the page is sending (or idle).
  async function settled(page, want) {
    const r = await pollUntil(async () => {
      const out = { slots: {} };
      for (const s of Object.keys(want)) out.slots[s] = await slotState(page, s);
      Object.assign(out, await page.evaluate(() => ({
        media: window.ccTeacher.media,
        sendState: window.ccTeacher.sendState,
        error: window.ccTeacher.error,
        errorShown: !document.getElementById('error').hidden,
        errorText: document.getElementById('error').innerText,
      })));
      return out;
    }, (v) => Object.entries(want).every(([s, on]) => v.slots[s].pressed === String(on) && v.slots[s].busy !== 'true'
        && v.slots[s].track === on && v.media[s] === on && v.slots[s].label === LABEL[s][on ? 'on' : 'off'])
      && v.sendState === (Object.values(want).some(Boolean) ? 'connected' : 'idle'),
    { timeoutMs: 15_000, intervalMs: 200 });
    return r;
  }

  // Real mouse clicks on the buttons, `gapMs` apart.
  async function clickQuickly(page, slots, gapMs = 5) {
    const at = {};
    for (const s of new Set(slots)) {
      const b = await page.locator(BUTTON[s]).boundingBox();
      at[s] = { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    }
    for (let i = 0; i < slots.length; i++) {
      if (i) await sleep(gapMs);
      await page.mouse.click(at[slots[i]].x, at[slots[i]].y);
    }
  }

  // Errors the server sent the teacher page since frame n0.
  const serverErrors = (n0) => frames.slice(n0).filter((f) => f.dir === 'in' && f.msg.type === 'error').map((f) => f.msg);

  // The student decodes more camera frames / audio samples / screen frames
  // than in `before` (same subscription: the page never re-subscribes
  // because of the teacher).
  async function studentGets(before, { camera, mic, screen }) {
    const decoded = (s) => (s.mic ? s.mic.totalSamplesReceived - s.mic.concealedSamples : 0);
    return pollUntil(() => studentStats(student.page), (s) => (!camera || s.camera?.framesDecoded > (before.camera?.framesDecoded || 0) + 20)
      && (!mic || decoded(s) > decoded(before) + 48_000)
      && (!screen || s.screen?.framesDecoded > (before.screen?.framesDecoded || 0) + 10)
      && s.media?.camera === !!camera && s.media?.mic === !!mic && s.media?.screen === !!screen,
    { timeoutMs: 15_000, intervalMs: 250 });
  }

  it('setup: a teacher starts a lesson with camera and microphone; a student joins by the link', { timeout: 40_000 }, async () => {
    teacher = await newPage(browser, `${server.url}/teacher.html`, { log, tag: 'teacher', viewport: { width: 1280, height: 900 } });
    frames = recordSignal(teacher.page);
    const tp = teacher.page;
    await signInTeacher(tp, server);
    await tp.fill('#lesson-title', 'Toán lớp 3');
    await tp.fill('#teacher-name', 'Cô Hoa');
    await tp.click('#create-btn');
    const r = await settled(tp, { camera: true, mic: true });
    assert.ok(r.ok, `camera and microphone on after creating: ${fmt(r.value)}`);
    await tp.click('#start');
    await tp.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 5000 });
    student = await newPage(browser, await studentLink(tp), { log, tag: 'student' });
    await joinAsStudent(student.page, 'Phạm Minh');
    const s = await studentGets({}, { camera: true, mic: true });
    assert.ok(s.ok, `the student receives camera and microphone: ${fmt(s.value)}`);
  });

  for (const [what, clicks] of [
    ['camera and microphone on, 5 ms apart', ['camera', 'mic']],
    ['camera on, off, on and microphone on, 5 ms apart', ['camera', 'camera', 'camera', 'mic']],
    ['microphone on and camera on and off and on again, 2 ms apart', ['mic', 'camera', 'camera', 'camera']],
  ]) {
    it(`both off, then ${what}: both end up on, for the teacher and the student, with no error`, { timeout: 45_000 }, async () => {
      const tp = teacher.page;
      await tp.click(BUTTON.camera);
      await tp.click(BUTTON.mic);
      const off = await settled(tp, { camera: false, mic: false });
      assert.ok(off.ok, `both off first: ${fmt(off.value)}`);
      assert.deepEqual(serverErrors(0), [], 'no error from the server so far');
      const before = await studentStats(student.page);
      const n0 = frames.length;
      await clickQuickly(tp, clicks, what.includes('2 ms') ? 2 : 5);
      const on = await settled(tp, { camera: true, mic: true });
      assert.ok(on.ok, `camera and microphone on after the clicks: ${fmt(on.value)}`);
      assert.equal(on.value.errorShown, false, `no error on the page: ${on.value.errorText}`);
      assert.equal(on.value.error, null);
      const s = await studentGets(before, { camera: true, mic: true });
      assert.ok(s.ok, `the student receives camera and microphone again: ${fmt(s.value)}`);
      assert.deepEqual(serverErrors(n0), [], 'the server refused nothing');
      // One offer/answer at a time: every publish or renegotiate was
      // answered before the next one went out.
      let open = null;
      for (const f of frames.slice(n0)) {
        if (f.dir === 'out' && ['publish', 'renegotiate'].includes(f.msg.type)) {
          assert.equal(open, null, `${f.msg.type} sent while ${open} was unanswered`);
          open = f.msg.id;
        } else if (f.dir === 'in' && open !== null && f.msg.id === open) {
          open = null;
        }
      }
    });
  }

  it('share screen, stop, share again quickly: sharing, the student decodes the screen, no error', { timeout: 45_000 }, async () => {
    const tp = teacher.page;
    const before = await studentStats(student.page);
    const n0 = frames.length;
    await clickQuickly(tp, ['screen', 'screen', 'screen'], 5);
    const r = await settled(tp, { camera: true, mic: true, screen: true });
    assert.ok(r.ok, `sharing after on, off, on: ${fmt(r.value)}`);
    assert.equal(r.value.errorShown, false, `no error on the page: ${r.value.errorText}`);
    const s = await studentGets(before, { camera: true, mic: true, screen: true });
    assert.ok(s.ok, `the student decodes the shared screen: ${fmt(s.value)}`);
    // A fast double click stops again; nothing is left half on.
    await clickQuickly(tp, ['screen', 'screen', 'screen', 'screen'], 5);
    const r2 = await settled(tp, { camera: true, mic: true, screen: true });
    assert.ok(r2.ok, `sharing after four more clicks (off, on, off, on): ${fmt(r2.value)}`);
    await clickQuickly(tp, ['screen'], 0);
    const r3 = await settled(tp, { camera: true, mic: true, screen: false });
    assert.ok(r3.ok, `not sharing after one more click: ${fmt(r3.value)}`);
    assert.deepEqual(serverErrors(n0), [], 'the server refused nothing');
  });

  it('a reload in the middle of a negotiation: the page comes back with what was asked for, and the buttons still work', { timeout: 60_000 }, async () => {
    const tp = teacher.page;
    await tp.click(BUTTON.camera);
    const off = await settled(tp, { camera: false, mic: true });
    assert.ok(off.ok, `camera off first: ${fmt(off.value)}`);
    const n0 = frames.length;
    // Camera on, and reload at once: the camera is opening or its offer is
    // on the way (opening the camera alone takes longer than this).
    await clickQuickly(tp, ['camera']);
    await tp.reload({ waitUntil: 'load', timeout: 15_000 });
    const sent = frames.slice(n0).filter((f) => f.dir === 'out').map((f) => f.msg.type);
    console.log(`before the reload the page had sent: ${fmt(sent)}`);
    const back = await settled(tp, { camera: true, mic: true });
    assert.ok(back.ok, `after the reload: camera and microphone on: ${fmt(back.value)}`);
    assert.equal(back.value.errorShown, false, `no error on the page: ${back.value.errorText}`);
    // And the person can still turn things off and on.
    await clickQuickly(tp, ['mic', 'camera'], 5);
    const both = await settled(tp, { camera: false, mic: false });
    assert.ok(both.ok, `both off after the reload: ${fmt(both.value)}`);
    await clickQuickly(tp, ['camera', 'mic'], 5);
    const again = await settled(tp, { camera: true, mic: true });
    assert.ok(again.ok, `both on again: ${fmt(again.value)}`);
    const before = await studentStats(student.page);
    const s = await studentGets(before, { camera: true, mic: true });
    assert.ok(s.ok, `the student receives camera and microphone: ${fmt(s.value)}`);
    assert.deepEqual(serverErrors(n0), [], 'the server refused nothing');
  });

  it('no page threw', () => {
    assert.deepEqual(log.filter((l) => l.includes('[pageerror]')), []);
  });
});
