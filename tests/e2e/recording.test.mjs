// Lesson recording end to end (docs/recording.md): a signed-in teacher's
// page in headless Chromium teaches with a camera whose frames carry their
// number (lib/fakemedia.mjs counterY4m) and a voice-like sound; a student
// watches. The teacher presses Record, turns the camera off and on once
// (the recorder's source goes away, black filler, then the new source from
// its key frame), presses Stop. Then, as a teacher would:
//  - the recording is in the page's list, done; it is downloaded with the
//    teacher's session cookie (and not without it);
//  - gst-discoverer-1.0 says VP8 + Opus, seekable, and a duration within
//    1 s of the time between Record and Stop;
//  - it plays in the teacher page's own player (frames decoded, audio
//    decoded);
//  - the picture matches what the student saw: at several moments the test
//    read the frame number on the student's screen; the recording, at the
//    same moment, shows the same frame (give or take the student's delay);
//  - the student saw the "Recording" badge while it recorded.
// Second case: the teacher's uplink loses 5 % of its RTP (a user-space
// relay, lib/relay.mjs), and the lesson records from its start because the
// teacher ticked "record all my lessons": the file still plays
// (discoverer, Chromium).
// Third case: the server is killed (SIGKILL) while it records; the file on
// disk plays up to about the kill, and after a restart it is in the
// teacher's list, done, and downloads.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startServer, restartServer, artifactPath } from './lib/server.mjs';
import { voiceWav, counterY4m, readFrameCounter } from './lib/fakemedia.mjs';
import { launch, newPage, studentLink, joinAsStudent, signInTeacher, studentStats } from './lib/lesson.mjs';
import { lossyRelay, viaRelay } from './lib/relay.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';

const note = (...a) => console.log(...a);
const LOOP = 240; // frames in the camera file: 16 s at 15 fps

function discover(file) {
  return new Promise((resolve) => {
    execFile('gst-discoverer-1.0', ['-v', file], { timeout: 30_000 }, (err, stdout) => {
      const out = String(stdout || '');
      const m = /Duration: (\d+):(\d+):([\d.]+)/.exec(out);
      resolve({
        ok: !err,
        duration: m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : -1,
        vp8: /video codec: VP8/.test(out),
        opus: /audio codec: Opus/.test(out),
        seekable: /Seekable: yes/.test(out),
        text: out,
      });
    });
  });
}

async function cookieOf(ctx, url) {
  return (await ctx.cookies(url)).map((c) => `${c.name}=${c.value}`).join('; ');
}

// A teacher page: signed in, a lesson created and started, camera and mic
// sending.
async function teach(browser, server, account, log, { relayPort, tag, beforeStart }) {
  const p = await newPage(browser, null, { log, tag });
  if (relayPort) await viaRelay(p.page, server.udpPort, relayPort);
  await p.page.goto(`${server.url}/teacher.html`, { waitUntil: 'load', timeout: 15_000 });
  await signInTeacher(p.page, server, account);
  await p.page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
  await p.page.locator('#lesson-title').fill(`Ghi hình ${tag}`);
  await p.page.locator('#teacher-name').fill('Cô Lan');
  await p.page.locator('#create-btn').click();
  if (beforeStart) await beforeStart(p.page);
  await p.page.locator('#start').click({ timeout: 10_000 });
  await p.page.waitForFunction(() => window.ccTeacher?.lessonState === 'live' &&
    window.ccTeacher?.sendState === 'connected', null, { timeout: 15_000 });
  return p;
}

async function record(page) {
  await page.locator('#rec-toggle').click();
  await page.waitForFunction(() => window.ccTeacher.recording.on, null, { timeout: 10_000 });
  return page.evaluate(() => ({ at: Date.now(), startedAt: window.ccTeacher.recording.startedAt }));
}

// Stop, then wait until the list says the file is done; returns the row.
async function stop(page) {
  await page.locator('#rec-toggle').click();
  const at = Date.now();
  await page.waitForFunction(() => !window.ccTeacher.recording.on, null, { timeout: 10_000 });
  const row = await pollUntil(() => page.evaluate(() => window.ccTeacher.recording.list[0] || null),
    (r) => r && r.state === 'done', { timeoutMs: 15_000, intervalMs: 200 });
  assert.ok(row.ok, `the recording is done in the list: ${JSON.stringify(row.value)}`);
  return { at, row: row.value };
}

async function download(server, ctx, row, dir) {
  const noCookie = await fetch(`${server.url}${row.url}`);
  assert.equal(noCookie.status, 401, 'no download without the teacher\'s session');
  await noCookie.arrayBuffer();
  const res = await fetch(`${server.url}${row.url}?download=1`, { headers: { cookie: await cookieOf(ctx, server.url) } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') || '', /video\/webm/);
  assert.match(res.headers.get('content-disposition') || '', /attachment; filename="classcast-/);
  const buf = Buffer.from(await res.arrayBuffer());
  assert.equal(buf.length, row.bytes, 'the whole file');
  const file = path.join(dir, `rec-${row.id}.webm`);
  writeFileSync(file, buf);
  return file;
}

// In the teacher page: play the recording in the page's own player, then
// read frame numbers at given times (seeking: Range requests).
async function playAndRead(page, row, times) {
  await page.locator(`#rec-list li[data-id="${row.id}"] button[data-act="play"]`).click();
  const played = await pollUntil(() => page.evaluate(() => {
    const v = document.getElementById('rec-player');
    return { frames: v.getVideoPlaybackQuality().totalVideoFrames, audio: v.webkitAudioDecodedByteCount || 0,
      t: v.currentTime, error: v.error ? v.error.message : null, w: v.videoWidth };
  }), (x) => x.error || (x.frames > 15 && x.audio > 0), { timeoutMs: 15_000, intervalMs: 250 });
  // Seeking asks the server for ranges of the file (206).
  const v = await page.evaluateHandle(async (url) => {
    const el = document.createElement('video');
    el.muted = true;
    el.preload = 'auto';
    el.src = url;
    await new Promise((ok, bad) => { el.onloadeddata = ok; el.onerror = () => bad(new Error(el.error?.message)); });
    return el;
  }, row.url);
  const out = [];
  for (const t of times) {
    await page.evaluate(([el, at]) => new Promise((ok) => {
      el.onseeked = () => ok();
      el.currentTime = at;
    }), [v, t]);
    out.push({ t, n: await page.evaluate(readFrameCounter, v) });
  }
  const reads = { duration: await page.evaluate((el) => el.duration, v), out };
  await v.dispose();
  return { played: played.value, playedOk: played.ok && !played.value.error, reads };
}

const circ = (a, b) => { const d = Math.abs(a - b) % LOOP; return Math.min(d, LOOP - d); };

describe('lesson recording', { timeout: 150_000 }, () => {
  let server, browser, dir, account;
  const log = [];
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cc-e2e-rec-'));
    const y4m = counterY4m(path.join(dir, 'counter.y4m'), { frames: LOOP });
    const wav = voiceWav(path.join(dir, 'voice.wav'));
    // One media worker: the lossy relay stands in front of its one port.
    server = await startServer('recording', { extraArgs: ['--workers', '1'] });
    account = await server.addTeacher({ name: 'lan', displayName: 'Cô Lan' });
    browser = await launch({ extraArgs: [`--use-file-for-fake-video-capture=${y4m}`,
      `--use-file-for-fake-audio-capture=${wav}`] });
  });
  after(async () => {
    writeFileSync(artifactPath('recording.page.log'), log.join('\n') + '\n');
    await browser?.close().catch(() => {});
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records what the student sees; the teacher downloads and plays it', { timeout: 90_000 }, async () => {
    const teacher = await teach(browser, server, account, log, { tag: 'T' });
    const link = await studentLink(teacher.page);
    const student = await newPage(browser, link, { log, tag: 'S' });
    await joinAsStudent(student.page, 'Lò Thị Hương');
    const decoding = await pollUntil(() => studentStats(student.page), (s) => s.camera?.framesDecoded > 20 && s.mic?.packetsReceived > 20,
      { timeoutMs: 20_000, intervalMs: 250 });
    assert.ok(decoding.ok, 'the student watches and listens');
    assert.equal(await student.page.evaluate(() => window.ccStudent.recording?.on), false);

    const rec = await record(teacher.page);
    const badge = await pollUntil(() => student.page.evaluate(() => ({
      on: window.ccStudent.recording?.on, shown: !document.getElementById('rec-badge')?.hidden,
      text: document.getElementById('rec-badge')?.textContent })), (b) => b.on && b.shown, { timeoutMs: 5000, intervalMs: 100 });
    assert.ok(badge.ok, `the student sees the recording badge: ${JSON.stringify(badge.value)}`);
    note('student badge:', badge.value.text);
    await student.page.screenshot({ path: artifactPath('recording-student.png') });

    // What the student sees, now and then: the frame number on its screen
    // and the moment (ms after the recording started, on the server's
    // clock: this machine's).
    const seen = [];
    const look = async () => {
      const n = await student.page.$eval('#camera', readFrameCounter);
      if (n >= 0) seen.push({ t: (Date.now() - rec.startedAt) / 1000, n });
    };
    for (let i = 0; i < 7; i++) { await sleep(1000); await look(); }
    // The camera goes off and comes back (a new source for the recorder).
    await teacher.page.click('#cam-toggle');
    await sleep(2500);
    await teacher.page.click('#cam-toggle');
    await teacher.page.waitForFunction(() => window.ccTeacher.media.camera, null, { timeout: 10_000 });
    const back = Date.now();
    for (let i = 0; i < 7; i++) { await sleep(1000); if (Date.now() - back > 2500) await look(); }
    const { at: stoppedAt, row } = await stop(teacher.page);
    const recorded = (stoppedAt - rec.at) / 1000;
    await pollUntil(() => student.page.evaluate(() => window.ccStudent.recording?.on), (on) => on === false,
      { timeoutMs: 5000, intervalMs: 100 });
    note('recorded', recorded.toFixed(2), 's; row:', JSON.stringify(row));

    const file = await download(server, teacher.context, row, dir);
    const d = await discover(file);
    note('discoverer:', JSON.stringify({ duration: d.duration, vp8: d.vp8, opus: d.opus, seekable: d.seekable }));
    writeFileSync(artifactPath('recording.discoverer.txt'), d.text);
    assert.ok(d.ok && d.vp8 && d.opus, 'VP8 and Opus');
    assert.ok(d.seekable, 'seekable (cues written)');
    assert.ok(Math.abs(d.duration - recorded) < 1.0, `duration ${d.duration} s vs recorded ${recorded} s`);
    assert.ok(Math.abs(row.duration_ms / 1000 - d.duration) < 0.5, 'the list says the same duration');

    // Frames the student saw, looked up in the recording a little earlier
    // (the student's picture is ~0.1-0.3 s behind what reached the server).
    const sample = seen.filter((s) => s.t > 0.5 && s.t < recorded - 0.5);
    const { played, playedOk, reads } = await playAndRead(teacher.page, row, sample.map((s) => Math.max(0, s.t - 0.2)));
    note('played in the page:', JSON.stringify(played), 'seekable copy', reads.duration.toFixed(2), 's');
    assert.ok(playedOk, 'the teacher page plays it: frames and audio decoded');
    const pairs = sample.map((s, i) => ({ t: s.t, student: s.n, recording: reads.out[i].n, d: reads.out[i].n >= 0 ? circ(s.n, reads.out[i].n) : null }));
    note('student vs recording:', JSON.stringify(pairs));
    const matched = pairs.filter((p) => p.d !== null && p.d <= 8).length;
    assert.ok(sample.length >= 8, `enough looks at the student's screen (${sample.length})`);
    assert.ok(matched >= Math.ceil(sample.length * 0.75), `the recording shows what the student saw (${matched} of ${sample.length})`);
    await teacher.page.screenshot({ path: artifactPath('recording-teacher.png'), fullPage: true });
    await student.context.close();
    await teacher.context.close();
    const st = (await server.stats());
    note('sfu:', JSON.stringify({ rec_pkts: st.sfu.rec_pkts, rec_drop: st.sfu.rec_drop, recordings: st.sfu.recordings }));
    assert.equal(st.sfu.rec_drop, 0, 'no packet dropped on the way to the recorder');
  });

  it('a teacher on a lossy uplink (5 %) still gives a playable file; "record all my lessons" starts it', { timeout: 45_000 }, async () => {
    const relay = await lossyRelay(server.udpPort, 0.05, 11, { upstream: true });
    try {
      // This time the teacher ticks "record all my lessons" (saved in the
      // account) before starting: the lesson records from its start.
      const teacher = await teach(browser, server, account, log, {
        relayPort: relay.port, tag: 'L',
        beforeStart: async (page) => {
          await page.locator('#rec-default').check();
          await page.waitForFunction(() => window.ccTeacher.recording.recordDefault, null, { timeout: 5000 });
        },
      });
      await teacher.page.waitForFunction(() => window.ccTeacher.recording.on, null, { timeout: 10_000 });
      const rec = await teacher.page.evaluate(() => ({ at: Date.now() }));
      await sleep(4000);
      const { at, row } = await stop(teacher.page);
      const recorded = (at - rec.at) / 1000;
      note('lossy uplink: relay', JSON.stringify(relay.counts), 'recorded', recorded.toFixed(2), 's');
      assert.ok(relay.counts.dropped > 10, 'the relay lost packets');
      const file = await download(server, teacher.context, row, dir);
      const d = await discover(file);
      note('discoverer:', JSON.stringify({ duration: d.duration, vp8: d.vp8, opus: d.opus, seekable: d.seekable }));
      assert.ok(d.ok && d.vp8 && d.opus, 'VP8 and Opus');
      assert.ok(Math.abs(d.duration - recorded) < 1.0, `duration ${d.duration} s vs recorded ${recorded} s`);
      const { played, playedOk } = await playAndRead(teacher.page, row, []);
      note('played:', JSON.stringify(played));
      assert.ok(playedOk, 'it plays in Chromium');
      await teacher.context.close();
    } finally {
      relay.close();
    }
  });

  it('kill -9 of the server while recording: the file plays up to the kill and is listed after a restart', { timeout: 60_000 }, async () => {
    const teacher = await teach(browser, server, account, log, { tag: 'K' });
    // "record all my lessons" is still ticked from the case before.
    await teacher.page.waitForFunction(() => window.ccTeacher.recording.on &&
      window.ccTeacher.recording.list.some((r) => r.state === 'recording'), null, { timeout: 10_000 });
    const t0 = Date.now();
    const id = await teacher.page.evaluate(() => window.ccTeacher.recording.list.find((r) => r.state === 'recording').id);
    await sleep(4000);
    const killedAt = Date.now();
    await server.kill('SIGKILL');
    const recorded = (killedAt - t0) / 1000;
    server = await restartServer(server, 'recording-restarted', { extraArgs: ['--workers', '1'] });
    const cookie = await cookieOf(teacher.context, server.url);
    const listed = await pollUntil(async () => {
      const r = await fetch(`${server.url}/api/recordings`, { headers: { cookie } });
      if (r.status !== 200) return null;
      const j = await r.json();
      return (j.recordings || []).find((x) => x.id === id) || null;
    }, (row) => row && row.state === 'done', { timeoutMs: 20_000, intervalMs: 300 });
    assert.ok(listed.ok, `after the restart the recording is listed, done: ${JSON.stringify(listed.value)}`);
    const res = await fetch(`${server.url}${listed.value.url}?download=1`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const file = path.join(dir, `rec-killed-${id}.webm`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const d = await discover(file);
    note('killed while recording:', JSON.stringify({ recorded, duration: d.duration, vp8: d.vp8, opus: d.opus, seekable: d.seekable }));
    assert.ok(d.ok && d.vp8 && d.opus, 'VP8 and Opus');
    assert.ok(d.duration >= recorded - 2.5 && d.duration <= recorded + 1,
      `plays up to about the kill: ${d.duration} s of ${recorded.toFixed(2)} s`);
    await teacher.context.close();
  });
});
