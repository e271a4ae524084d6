// Simulcast end to end (`serve --simulcast`, docs/bwe.md): the teacher page
// sends the camera and the shared screen as two encodings each (RFC 8853,
// rid "h"/"f" and "l"/"f"), the SFU binds each encoding by its rid and
// forwards a student one of them as one stream. On a clean loopback link
// the student gets the full size; turning the camera off and on and sharing
// the screen again bring the same encodings back (the browser no longer
// marks its packets with mid and rid by then: the server remembers which
// SSRC was which); a student who joins late starts at once on the last
// keyframe the server kept.
//
// CC_BIN=build/classcast node --test --test-reporter=spec --test-concurrency=1 tests/e2e/simulcast.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';

import { startServer, artifactPath } from './lib/server.mjs';
import { pollUntil } from './lib/webrtc.mjs';
import {
  launch, newPage, studentStats, recordSignal, studentLink, joinAsStudent, signInTeacher,
} from './lib/lesson.mjs';

const fmt = (v) => JSON.stringify(v);

// The teacher page's outbound-rtp entries per slot, one per encoding.
function encodings(page) {
  return page.evaluate(async () => {
    const cc = window.ccTeacher;
    const out = { simulcast: cc.simulcast, camera: [], screen: [] };
    const mids = {};
    for (const tx of cc.pc?.getTransceivers() || []) {
      const tr = tx.sender.track;
      if (!tr || tx.mid === null) continue;
      mids[tx.mid] = tr === cc.tracks.camera ? 'camera' : tr === cc.tracks.screen ? 'screen' : null;
    }
    const report = await cc.pc.getStats();
    report.forEach((s) => {
      if (s.type === 'outbound-rtp' && mids[s.mid]) {
        out[mids[s.mid]].push({ rid: s.rid, packetsSent: s.packetsSent || 0, frameWidth: s.frameWidth || 0, active: s.active });
      }
    });
    return out;
  });
}

describe('simulcast: two encodings of camera and screen, one stream for each student', { timeout: 200_000 }, () => {
  let server;
  let browser;
  let teacher;
  let frames;
  let student;
  const log = [];

  before(async () => {
    server = await startServer('simulcast', { extraArgs: ['--simulcast', '--keyframe-replay'] });
    browser = await launch();
  });
  after(async () => {
    try { writeFileSync(artifactPath('simulcast.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  // The student decodes `slot` past `before` (+ min frames).
  const decodesMore = (page, before, slots, min = 10) => pollUntil(() => studentStats(page),
    (s) => slots.every((sl) => s[sl]?.framesDecoded > (before[sl]?.framesDecoded || 0) + min),
    { timeoutMs: 15_000, intervalMs: 250 });

  it('the teacher page sends two encodings of the camera and of the screen; a student decodes the full size of each', { timeout: 60_000 }, async () => {
    teacher = await newPage(browser, `${server.url}/teacher.html`, { log, tag: 'teacher', viewport: { width: 1280, height: 900 } });
    frames = recordSignal(teacher.page);
    const tp = teacher.page;
    await signInTeacher(tp, server);
    await tp.fill('#lesson-title', 'Địa lí 8');
    await tp.fill('#teacher-name', 'Thầy Sơn');
    await tp.click('#create-btn');
    await tp.waitForFunction(() => window.ccTeacher.sendState === 'connected' && window.ccTeacher.media?.camera, null, { timeout: 15_000 });
    await tp.click('#start');
    await tp.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 5000 });
    await tp.click('#screen-toggle');
    await tp.waitForFunction(() => window.ccTeacher.media?.screen === true, null, { timeout: 10_000 });
    const enc = await pollUntil(() => encodings(tp), (e) => e.camera.filter((x) => x.packetsSent > 0).length === 2
      && e.screen.filter((x) => x.packetsSent > 0).length === 2, { timeoutMs: 15_000, intervalMs: 250 });
    console.log(`teacher encodings: ${fmt(enc.value)}`);
    assert.equal(enc.value.simulcast, true, 'the created reply said simulcast');
    assert.ok(enc.ok, `two encodings of each flow: ${fmt(enc.value)}`);

    student = await newPage(browser, await studentLink(tp), { log, tag: 'student' });
    await joinAsStudent(student.page, 'Lò Văn Minh');
    const r = await pollUntil(() => studentStats(student.page),
      (s) => s.camera?.framesDecoded > 20 && s.screen?.framesDecoded > 5 && s.camera.frameWidth === 640 && s.screen.frameWidth === 1920,
      { timeoutMs: 20_000, intervalMs: 250 });
    console.log(`student: ${fmt(r.value)}`);
    assert.ok(r.ok, `the student decodes the full camera (640 wide) and screen (1920 wide): ${fmt(r.value)}`);
  });

  it('camera off and on, screen stopped and shared again: the student decodes both again on its one subscription', { timeout: 60_000 }, async () => {
    const tp = teacher.page;
    const sp = student.page;
    const subs0 = (await studentStats(sp)).timing.subscribes;
    await tp.click('#cam-toggle');
    await sp.waitForFunction(() => window.ccStudent.media?.camera === false, null, { timeout: 10_000 });
    let before = await studentStats(sp);
    await tp.click('#cam-toggle');
    let r = await decodesMore(sp, before, ['camera']);
    assert.ok(r.ok, `the camera decodes again: ${fmt(r.value)}`);
    await tp.click('#screen-toggle');
    await sp.waitForFunction(() => window.ccStudent.media?.screen === false, null, { timeout: 10_000 });
    before = await studentStats(sp);
    await tp.click('#screen-toggle');
    r = await decodesMore(sp, before, ['screen', 'camera'], 5);
    assert.ok(r.ok, `the shared screen decodes again: ${fmt(r.value)}`);
    assert.equal(r.value.timing.subscribes, subs0, 'no new subscribe');
    const st = await server.stats();
    console.log(`sfu: ${fmt({ drop_unknown_ssrc: st.sfu.drop_unknown_ssrc, sim_switches: st.sfu.sim_switches, replays: st.sfu.replays })}`);
    assert.deepEqual(frames.filter((f) => f.dir === 'in' && f.msg.type === 'error').map((f) => f.msg), [], 'the server refused nothing');
  });

  it('a student who joins late sees camera and screen within 1 s of its answer (the kept keyframe)', { timeout: 40_000 }, async () => {
    const late = await newPage(browser, await studentLink(teacher.page), { log, tag: 'late' });
    const replays0 = (await server.stats()).sfu.replays;
    await joinAsStudent(late.page, 'Cầm Thị Lan');
    const r = await pollUntil(() => studentStats(late.page),
      (s) => s.timing?.firstFrame?.camera != null && s.timing?.firstFrame?.screen != null && s.timing?.answerAt != null,
      { timeoutMs: 10_000, intervalMs: 100 });
    const ff = r.value.timing?.firstFrame;
    console.log(`late student: first frames after the answer: camera ${ff?.camera} ms, screen ${ff?.screen} ms`);
    assert.ok(r.ok, `the late student decodes: ${fmt(r.value)}`);
    assert.ok(ff.camera <= 1000 && ff.screen <= 1000, `first frames within 1 s: ${fmt(ff)}`);
    assert.ok((await server.stats()).sfu.replays > replays0, 'started on kept keyframes');
    await late.context.close();
  });

  it('no page threw; the server stops cleanly', async () => {
    assert.deepEqual(log.filter((l) => l.includes('[pageerror]')), []);
    await student?.context.close();
    await teacher?.context.close();
  });
});
