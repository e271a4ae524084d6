// Seminars through the real pages, in headless Chromium against the real
// server (docs/protocol.md, "Seminars: schools, the floor, chat"). Everyone
// gets in the way people do: the teacher page on the classroom computer
// (`serve --local-teacher`, 127.0.0.1: no password) creates a seminar and
// makes invite links; each school opens its invite link (read from the
// teacher page), types its name and presses Join; students open the
// student link the teacher page shows and type their names; the teacher
// lets them in from the waiting room. Nothing is put into an address that
// a person would not have.
//
// Chromium's fake microphone plays a voice-like sound (--use-file-for-
// fake-audio-capture), so a school "speaks" when its page's microphone switch
// is on; the schools turn theirs off after joining and on when they speak.
// Its fake camera plays a small generated picture (320x240, 15 fps:
// --use-file-for-fake-video-capture), whatever size the pages ask for, so
// the six browser pages of the 4-school part fit a 2-core machine.
//
// Measurements go through the pages' own recvStats() (school, student) or
// getStats of the teacher page's guest connection; the numbers are
// printed, and the bits per tablet written to artifacts/seminar-bits.json.
//
// What it shows, in order (one server, one browser, one seminar):
//  1. two schools publish camera and microphone; the teacher, both schools
//     and two students decode every school's video and audio (getStats);
//     with last-N 2 both school cameras flow to the students (the teacher
//     page shows both tiles; a student page plays both and shows the
//     current speaker's beside the teacher's picture);
//  2. the teacher's Mute button stops a speaking school's audio at every
//     other page within 500 ms (time from the click to the last packet);
//  3. Remove (with a reason) stops the student's media and its page shows
//     the reason in its language (Vietnamese);
//  4. a third school joining and leaving does not freeze what a student
//     page already plays (requestVideoFrameCallback gaps < 300 ms); school
//     A leaves before (fewer browsers on the machine while measuring) and
//     comes back in 7;
//  5. chat: 60 messages, then a late joiner sees all 60; a message with
//     HTML is only text, nothing runs;
//  6. the waiting room: the late joiner waits until Admit; a refused
//     joiner (vi-VN) reads why in Vietnamese;
//  7. a 4-school seminar: screenshots of the teacher and school pages in
//     Vietnamese and the student page in English at 1024x768
//     (tests/e2e/artifacts/), the other language checked by its words;
//  8. bits per tablet: what one student page receives with 4 schools at
//     last-N 2 and 4 (artifacts/seminar-bits.json).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

import { startServer, artifactPath } from './lib/server.mjs';
import { voiceWav, cameraY4m } from './lib/fakemedia.mjs';
import { launch, newPage, studentLink, joinAsStudent } from './lib/lesson.mjs';
import { framesProbe } from './lib/frames.mjs';

const note = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


// Polls get() until ok(value); returns the value, or throws after ms with
// the last value seen.
async function until(what, get, ok, ms = 10_000, every = 100) {
  const t0 = Date.now();
  let v;
  for (;;) {
    v = await get();
    if (ok(v)) return v;
    if (Date.now() - t0 >= ms) break;
    await sleep(every);
  }
  throw new Error(`${what}: not within ${ms} ms; last ${JSON.stringify(v)?.slice(0, 1500)}`);
}

// Installed in every page of every context (test instrumentation only: the
// pages are not changed). window.__recv() -> inbound stats per stream id
// ("camera", "screen", "mic" of the teacher; "m7.camera", "m7.mic"), from
// the page's own recvStats() (school, student) or, on the teacher page,
// from its guest subscribe connection by mid. __sampler: packets of one
// stream (or of all, id '*') every 20 ms with the time, for stop timings.
// __frames: requestVideoFrameCallback gaps of <video> elements.
function probe() {
  window.__recv = async () => {
    if (window.ccSchool) return window.ccSchool.recvStats();
    if (window.ccStudent) return window.ccStudent.recvStats();
    const cc = window.ccTeacher;
    const pc = cc && cc.sub && cc.sub.pc;
    if (!pc) return {};
    const byMid = {};
    for (const g of cc.guests) if (g.mid !== null && g.mid !== undefined) byMid[g.mid] = g.stream;
    const out = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || !byMid[s.mid]) return;
      out[byMid[s.mid]] = {
        kind: s.kind, packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0,
        framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
        lastPacketAt: s.lastPacketReceivedTimestamp || null,
      };
    });
    return out;
  };
  // Video receive details of a school or student page, by stream id:
  // key frames, PLIs, freezes as Chromium counts them (webrtc-stats).
  window.__videoDetail = async () => {
    const cc = window.ccSchool || window.ccStudent;
    const pc = cc && cc.pc;
    if (!pc) return {};
    const byMid = cc.sub.tracks();
    const out = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !byMid[s.mid]) return;
      out[byMid[s.mid]] = {
        keyFramesDecoded: s.keyFramesDecoded || 0, pliCount: s.pliCount || 0, firCount: s.firCount || 0,
        freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0,
        framesDropped: s.framesDropped || 0, framesReceived: s.framesReceived || 0, framesDecoded: s.framesDecoded || 0,
        ssrc: s.ssrc, packetsLost: s.packetsLost || 0, nackCount: s.nackCount || 0,
      };
    });
    return out;
  };
  // Samples packetsReceived of `id` ('*': the sum over every inbound
  // stream of `pc`, a connection held here so that it can be read after
  // the page let go of it) until __sampler.stop.
  window.__sample = (id, pc) => {
    const s = { samples: [], stop: false };
    window.__sampler = s;
    const tick = async () => {
      if (s.stop) return;
      let v = null;
      let at = null; // when the newest of them arrived (ms since 1970)
      try {
        if (pc) {
          v = 0;
          (await pc.getStats()).forEach((x) => {
            if (x.type !== 'inbound-rtp') return;
            v += x.packetsReceived || 0;
            at = Math.max(at || 0, x.lastPacketReceivedTimestamp || 0) || null;
          });
        } else {
          const st = await window.__recv();
          v = st[id] ? st[id].packetsReceived : null;
          at = st[id] ? st[id].lastPacketAt : null;
        }
      } catch (e) { v = `error: ${e && e.name}`; }
      s.samples.push([Date.now(), v, at]);
      setTimeout(tick, 20);
    };
    tick();
  };
  // Frame gaps (ms) of the given <video> elements, by label, until
  // __frames.stop(); a freeze still going on at the stop counts too.
  window.__watchFrames = (videos) => {
    const st = { res: {}, stopped: false };
    for (const [label, v] of videos) {
      const r = { frames: 0, maxGap: 0, maxCallbackGap: 0, last: null, width: v.videoWidth, height: v.videoHeight, gaps: [] };
      st.res[label] = r;
      let prev = null;
      const onFrame = (now, meta) => {
        if (st.stopped) return;
        if (r.last !== null) {
          const gap = now - r.last;
          // The picture's stand-still (lib/frames.mjs).
          r.maxGap = Math.max(r.maxGap, window.__standStill(gap, prev, meta));
          r.maxCallbackGap = Math.max(r.maxCallbackGap, gap);
          // Long ones, with what the video did meanwhile: media time
          // advanced (ms), frames presented, time between the two frames'
          // arrival (ms). Many frames presented during a long gap means
          // the page was busy, not the picture frozen; a media time gap
          // as long means the sender sent nothing meanwhile.
          if (gap > 150) {
            r.gaps.push({ at: Date.now(), gap: Math.round(gap), media: Math.round((meta.mediaTime - prev.mediaTime) * 1000),
              presented: meta.presentedFrames - prev.presentedFrames,
              received: meta.receiveTime && prev.receiveTime ? Math.round(meta.receiveTime - prev.receiveTime) : null });
          }
        }
        prev = meta;
        r.last = now;
        r.frames++;
        v.requestVideoFrameCallback(onFrame);
      };
      v.requestVideoFrameCallback(onFrame);
    }
    st.stop = () => {
      st.stopped = true;
      const now = performance.now();
      for (const r of Object.values(st.res)) {
        if (r.last !== null) r.maxGap = Math.max(r.maxGap, now - r.last);
        else r.maxGap = Infinity;
        delete r.last;
      }
      return st.res;
    };
    window.__frames = st;
  };
}

const recv = (p) => p.page.evaluate(() => window.__recv());

// In the sampled series [[t, v, arrived], ...]: when the last packet came,
// in ms after t0 (an increase seen only before t0 gives a negative number),
// and whether v grew before t0. "When" is the browser's own arrival time of
// the newest packet (lastPacketReceivedTimestamp) where it reports one, so
// a page too busy to sample every 20 ms does not move the stop later (but
// never later than the sample where v last changed); else that sample's
// time (`sampled` is that time always).
function lastIncrease(samples, t0) {
  const nums = samples.filter(([, v]) => typeof v === 'number');
  if (!nums.length) return { ms: null, grewBefore: false, final: null };
  let at = nums[0][0];
  for (let i = 1; i < nums.length; i++) if (nums[i][1] !== nums[i - 1][1]) at = nums[i][0];
  // The arrival time from the newest sample that has one with the final
  // count (a connection closed meanwhile reports none).
  const final = nums[nums.length - 1][1];
  const withArrival = nums.filter(([, v, a]) => v === final && typeof a === 'number');
  const arrived = withArrival.length ? withArrival[withArrival.length - 1][2] : null;
  const before = nums.filter(([t]) => t <= t0);
  // Packets grew while sampled before t0 (so the stop is a change).
  const grewBefore = before.length >= 2 && before[before.length - 1][1] > before[0][1];
  return {
    // (The arrival is never later than the sample that first saw the
    // final count: a connection closed meanwhile can report a later one.)
    ms: typeof arrived === 'number' ? Math.round(Math.min(arrived, at) - t0) : at - t0,
    sampled: at - t0, grewBefore, final: nums[nums.length - 1][1], n: samples.length,
  };
}

describe('seminar pages: teacher, schools and students in headless Chromium', { timeout: 200_000 }, () => {
  let server;
  let browser;
  const log = [];
  const dialogs = []; // alert() / confirm() / prompt() seen on any page
  const contexts = [];
  let failed = false;
  const results = {}; // the numbers, for the report

  before(async () => {
    server = await startServer('seminar', { extraArgs: ['--local-teacher'] });
    const wav = voiceWav(artifactPath('seminar-page-voice.wav'));
    const y4m = cameraY4m(artifactPath('seminar-page-camera.y4m'));
    browser = await launch({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`, `--use-file-for-fake-video-capture=${y4m}`] });
  });

  after(async () => {
    try { writeFileSync(artifactPath('seminar.page.log'), `${log.join('\n')}\n`); } catch (_) { /* ignore */ }
    for (const c of contexts) await c.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  // One step of the story; after a failure the later ones are skipped, and
  // the failure prints what the pages said.
  const step = (name, fn, timeout = 60_000) => it(name, { timeout }, async (t) => {
    if (failed) { t.skip('an earlier step failed'); return; }
    try {
      await fn();
    } catch (e) {
      failed = true;
      note(`--- page console (last 150 lines; all in ${artifactPath('seminar.page.log')}) ---\n${log.slice(-150).join('\n')}`);
      note(`--- server log: ${server.logFile}`);
      throw e;
    }
  });

  // A page in its own browser context (another computer or tablet).
  async function open(url, { locale = 'en-US', tag, viewport } = {}) {
    const p = await newPage(browser, null, { log, locale, tag, viewport });
    contexts.push(p.context);
    await p.context.addInitScript(framesProbe);
    await p.context.addInitScript(probe);
    p.page.on('dialog', (d) => { dialogs.push(`${tag}: ${d.type()} ${d.message()}`); d.dismiss().catch(() => {}); });
    p.tag = tag;
    if (url) await p.page.goto(url, { waitUntil: 'load', timeout: 15_000 });
    return p;
  }
  async function close(p) {
    const i = contexts.indexOf(p.context);
    if (i >= 0) contexts.splice(i, 1);
    // Bounded: once in 11 local runs Chromium never finished closing a
    // context whose page had just left, and the step hung for its whole
    // 60 s. The page has left the seminar by then; the test goes on.
    let timer;
    const closed = await Promise.race([
      p.context.close().then(() => true, () => true),
      new Promise((r) => { timer = setTimeout(() => r(false), 10_000); }),
    ]);
    clearTimeout(timer);
    if (!closed) note(`${p.tag}: Chromium did not close the page's context within 10 s`);
  }
  const text = (page, sel) => page.locator(sel).innerText({ timeout: 5000 }).then((s) => s.trim());

  let teacher; // {page, context}
  let invite = null; // invite links made so far, by label
  const schools = []; // {page, member, name}
  let s1, s2; // students
  let teacherMember;

  // The teacher makes an invite link for a school (label = its name) and
  // copies it with the page's Copy button: what it would send the school.
  async function makeInvite(label) {
    const { page } = teacher;
    const before = await page.evaluate(() => window.ccTeacher.invites.map((x) => x.id));
    await page.locator('#invite-label').fill('');
    await page.locator('#invite-label').pressSequentially(label);
    await page.locator('#invite-create').click();
    const id = await until(`invite for ${label}`, () => page.evaluate(() => window.ccTeacher.invites.map((x) => x.id)),
      (ids) => ids.some((x) => !before.includes(x)), 5000).then((ids) => ids.find((x) => !before.includes(x)));
    const row = page.locator(`#invites li[data-id="${id}"]`);
    await row.locator('.invite-name').filter({ hasText: label }).waitFor({ timeout: 5000 });
    const shown = await row.locator('.invite-link').inputValue();
    await row.locator('button[data-action="copy"]').click();
    const copied = await until('copied', () => page.evaluate(() => window.ccTeacher.copied), (c) => c === shown, 3000);
    assert.match(copied, /\/school\.html\?code=\d{6}&invite=[A-Za-z0-9_-]+$/, copied);
    invite[label] = copied;
    return copied;
  }

  // A school opens its invite link, types its name and presses Join; it
  // waits in the waiting room until the teacher clicks Admit (unless
  // admit is false). Then it turns its microphone off (silent until it
  // speaks).
  async function joinSchool(name, { link = invite[name], admit = true, locale = 'en-US' } = {}) {
    const p = await openSchool(name, { link, locale });
    await pressJoin(p);
    if (admit) await admitSchool(p);
    return p;
  }
  // The invite link opened, the name typed (not joined yet).
  async function openSchool(name, { link = invite[name], locale = 'en-US' } = {}) {
    const p = await open(link, { locale, tag: name });
    const { page } = p;
    await page.locator('#join-form').waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('#name').fill('');
    await page.locator('#name').pressSequentially(name);
    p.name = name;
    return p;
  }
  async function pressJoin(p) {
    const { page } = p;
    await page.locator('#join-btn').click();
    await page.waitForFunction(() => window.ccSchool.state === 'waiting' && window.ccSchool.member, null, { timeout: 10_000 });
    p.member = await page.evaluate(() => window.ccSchool.member);
  }
  async function admitSchool(p) {
    await teacher.page.locator(`#waiting li[data-id="${p.member}"] button[data-action="admit"]`).click({ timeout: 10_000 });
    await schoolReady(p);
  }
  async function schoolReady(p) {
    const { page } = p;
    await page.waitForFunction(() => window.ccSchool.state === 'joined' && window.ccSchool.pubState === 'connected',
      null, { timeout: 15_000 });
    await page.locator('#mic[data-state="on"]').waitFor({ timeout: 5000 });
    await page.locator('#mic').click();
    await page.locator('#mic[data-state="off"]').waitFor({ timeout: 5000 });
  }

  // -------------------------------------------------------------------------
  step('setup: the teacher creates a seminar on the classroom computer, invites two schools; they and two students are let in', async () => {
    invite = {};
    teacher = await open(null, { locale: 'vi-VN', tag: 'teacher' });
    const { page } = teacher;
    await page.goto(`${server.url}/teacher.html`, { waitUntil: 'load', timeout: 15_000 });
    // The classroom computer: no sign-in form, "Create" at once.
    await page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('#lesson-title').fill('Hội thảo: Nước sạch cho bản em');
    await page.locator('#teacher-name').fill('');
    await page.locator('#teacher-name').pressSequentially('Cô Lan');
    await page.locator('#kind-seminar').check();
    await page.locator('#create-btn').click();
    await page.waitForFunction(() => /^\d{6}$/.test(window.ccTeacher.code || '') && window.ccTeacher.state === 'joined',
      null, { timeout: 10_000 });
    teacherMember = await page.evaluate(() => window.ccTeacher.member);
    // A seminar has the waiting room on from the start.
    await page.waitForFunction(() => window.ccTeacher.kind === 'seminar' && window.ccTeacher.settings.waitingRoom, null, { timeout: 5000 });
    assert.equal(await page.isChecked('#waiting-toggle'), true, 'the waiting room switch shows on');
    assert.equal(await page.inputValue('#last-n'), '2');
    // Camera and microphone published, the QR code of the student link shown.
    await page.waitForFunction(() => window.ccTeacher.sendState === 'connected', null, { timeout: 10_000 });
    await page.locator('#student-qr[data-state="ok"]').waitFor({ state: 'attached', timeout: 5000 });
    await page.locator('#start').click();
    await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 5000 });

    await makeInvite('THCS Chiềng Sinh');
    await makeInvite('TH Mường Thanh');
    // The invite's QR code loads too.
    await page.locator('#invites li[data-id="i1"] button[data-action="qr"]').click();
    await page.locator('#invites li[data-id="i1"] img.qr[data-state="ok"]').waitFor({ state: 'attached', timeout: 5000 });
    await page.locator('#invites li[data-id="i1"] button[data-action="qr"]').click();

    const a = await joinSchool('THCS Chiềng Sinh', { admit: false });
    // Waiting room: the school page says it waits, until Admit.
    assert.equal(await text(a.page, '#overlay-title'), 'Waiting for the teacher to let you in');
    await teacher.page.locator(`#waiting li[data-id="${a.member}"]`).waitFor({ timeout: 5000 });
    assert.equal(await teacher.page.getAttribute(`#waiting li[data-id="${a.member}"]`, 'data-role'), 'school');
    await admitSchool(a);
    schools.push(a);
    const b = await joinSchool('TH Mường Thanh');
    schools.push(b);

    // The students open the link the teacher page shows and type a name.
    const link = await studentLink(page);
    assert.match(link, /\/student\.html\?code=\d{6}$/);
    s1 = await open(link, { tag: 'student An' });
    s2 = await open(link, { tag: 'student Hoa', locale: 'vi-VN' });
    await joinAsStudent(s1.page, 'Nguyễn Văn An');
    await joinAsStudent(s2.page, 'Lò Thị Hoa');
    for (const s of [s1, s2]) {
      await s.page.waitForFunction(() => window.ccStudent.state === 'waiting' && window.ccStudent.member, null, { timeout: 10_000 });
      s.member = await s.page.evaluate(() => window.ccStudent.member);
    }
    // Two waiting: "Admit all".
    await teacher.page.waitForFunction((ids) => ids.every((id) => window.ccTeacher.waiting.some((m) => m.id === id)),
      [s1.member, s2.member], { timeout: 5000 });
    await teacher.page.locator('#admit-all').click({ timeout: 5000 });
    for (const s of [s1, s2]) {
      await s.page.waitForFunction(() => window.ccStudent.state === 'joined' && window.ccStudent.lessonState === 'live',
        null, { timeout: 10_000 });
    }
    note(`seminar ${await page.evaluate(() => window.ccTeacher.code)}: teacher ${teacherMember}, schools ${a.member} ${b.member}, students ${s1.member} ${s2.member}`);
  }, 90_000);

  // -------------------------------------------------------------------------
  step('1. every page decodes every school\'s camera and microphone; with last-N 2 both school cameras flow', async () => {
    const [a, b] = schools;
    const pages = [
      { p: teacher, sees: [a, b] }, { p: a, sees: [b] }, { p: b, sees: [a] },
      { p: s1, sees: [a, b] }, { p: s2, sees: [a, b] },
    ];
    const first = await Promise.all(pages.map(({ p }) => recv(p)));
    const grown = (before, now, sees) => sees.every((s) => {
      const c0 = before[`${s.member}.camera`]?.framesDecoded || 0;
      const m0 = before[`${s.member}.mic`]?.packetsReceived || 0;
      return (now[`${s.member}.camera`]?.framesDecoded || 0) > c0 + 10 && (now[`${s.member}.mic`]?.packetsReceived || 0) > m0 + 25;
    });
    await until('every page decodes every school', async () => Promise.all(pages.map(({ p }) => recv(p))),
      (all) => all.every((now, i) => grown(first[i], now, pages[i].sees)), 20_000, 250);
    // The schools and students also get the teacher's camera and microphone.
    for (const p of [a, b, s1, s2]) {
      await until(`${p.tag} decodes the teacher`, () => recv(p),
        (r) => r.camera?.framesDecoded > 10 && r.mic?.packetsReceived > 25, 10_000, 200);
    }
    const sizes = {};
    for (const { p, sees } of pages) {
      const r = await recv(p);
      for (const s of sees) sizes[`${p.tag} <- ${s.name}`] = `${r[`${s.member}.camera`].frameWidth}x${r[`${s.member}.camera`].frameHeight}`;
    }
    note('school cameras decoded:', JSON.stringify(sizes));
    // last-N 2, two schools: both are among the speakers everyone gets.
    for (const s of [s1, s2]) {
      const sp = await s.page.evaluate(() => window.ccStudent.speakers);
      assert.ok(sp.includes(a.member) && sp.includes(b.member), `${s.tag} speakers ${JSON.stringify(sp)}`);
    }
    // The teacher page shows both cameras as tiles, labelled with the names.
    for (const s of [a, b]) {
      const tile = teacher.page.locator(`#guest-tiles figure[data-stream="${s.member}.camera"]`);
      await tile.waitFor({ state: 'visible', timeout: 5000 });
      assert.equal(await tile.locator('.guest-name').innerText(), s.name);
    }
    // On a student page both school cameras play in their <video>
    // elements and both are on screen beside the teacher's picture (the
    // last N, here 2).
    for (const s of [s1, s2]) {
      const v = await s.page.evaluate((ids) => {
        const cc = window.ccStudent;
        return {
          playing: ids.filter((id) => { const el = cc.guests[id]; return el && el.srcObject && el.videoWidth > 0; }),
          shown: Object.entries(cc.guests).filter(([id, el]) => id.endsWith('.camera') && !el.hidden && el.videoWidth > 0).map(([id]) => id),
        };
      }, [a, b].map((x) => `${x.member}.camera`));
      assert.equal(v.playing.length, 2, `${s.tag}: both school cameras play: ${JSON.stringify(v)}`);
      assert.equal(v.shown.length, 2, `${s.tag}: both school camera tiles on screen: ${JSON.stringify(v)}`);
    }
    note('student pages: both school cameras decode, play and are on screen');
  });

  // -------------------------------------------------------------------------
  step('2. Mute: a speaking school\'s audio stops at every other page within 500 ms of the click', async () => {
    const [a, b] = schools;
    // School A speaks: its microphone switch on (the voice-like sound).
    await a.page.locator('#mic').click();
    await a.page.locator('#mic[data-state="on"]').waitFor({ timeout: 5000 });
    try {
      await until('school A is the most recent speaker', () => s1.page.evaluate(() => ({
        speakers: window.ccStudent.speakers, recent: window.ccStudent.speakersRecent,
      })), (v) => v.speakers.slice(0, v.recent).includes(a.member), 8000, 100);
    } catch (e) {
      // What school A's page sent (the level its browser measured, packets,
      // the track's switch) and what the server said about speakers: tells
      // a sound that never left the page from one the server did not count.
      const sent = await a.page.evaluate(async () => {
        const pc = window.ccSchool.pubPc, out = {};
        if (!pc) return { pubPc: null };
        (await pc.getStats()).forEach((x) => {
          if (x.kind !== 'audio') return;
          if (x.type === 'media-source') out.sourceLevel = x.audioLevel;
          if (x.type === 'outbound-rtp') { out.packetsSent = x.packetsSent; out.bytesSent = x.bytesSent; }
        });
        const tr = pc.getSenders().map((s) => s.track).find((t) => t && t.kind === 'audio');
        out.track = tr ? { enabled: tr.enabled, muted: tr.muted, state: tr.readyState } : null;
        out.micOn = window.ccSchool.micOn;
        return out;
      }).catch((x) => ({ error: String(x) }));
      const lines = readFileSync(server.logFile, 'utf8').split('\n').filter((l) => /cameras shown|mic of/.test(l));
      e.message += `; school A (${a.member}) sent ${JSON.stringify(sent)}; server: ${lines.slice(-8).join(' | ')}`;
      throw e;
    }

    const observers = [teacher, b, s1, s2];
    const id = `${a.member}.mic`;
    for (const p of observers) await p.page.evaluate((x) => window.__sample(x), id);
    await teacher.page.evaluate(() => {
      document.addEventListener('click', (ev) => {
        if (ev.target.closest('[data-action="mute"]')) window.__muteClickAt = Date.now();
      }, true);
    });
    // Sampling runs; packets still grow before the click.
    await until('samplers running', () => Promise.all(observers.map((p) => p.page.evaluate(() => window.__sampler.samples.length))),
      (ns) => ns.every((n) => n >= 10), 5000, 50);
    const row = teacher.page.locator(`#members li[data-id="${a.member}"]`);
    await row.locator('button[data-action="mute"]').click();
    const clickAt = await until('click recorded', () => teacher.page.evaluate(() => window.__muteClickAt), Boolean, 2000, 20);
    // Wait until every observer has seen no new packet for 1 s.
    const settled = (s) => {
      const nums = s.filter(([, v]) => typeof v === 'number');
      if (!nums.length) return false;
      const last = nums[nums.length - 1];
      const firstSame = nums.find(([, v]) => v === last[1]);
      return last[0] - firstSame[0] >= 1000 && last[0] > clickAt;
    };
    const series = await until('audio stopped everywhere', () => Promise.all(observers.map((p) => p.page.evaluate(() => window.__sampler.samples))),
      (all) => all.every(settled), 8000, 100);
    for (const p of observers) await p.page.evaluate(() => { window.__sampler.stop = true; });
    const stops = {};
    const sampledStops = {}; // when each page's sampler saw the last increase
    for (const [i, p] of observers.entries()) {
      const li = lastIncrease(series[i], clickAt);
      stops[p.tag] = li.ms;
      sampledStops[p.tag] = li.sampled;
      assert.ok(li.grewBefore, `${p.tag}: packets did not grow before the click: ${JSON.stringify(li)}`);
    }
    results.muteStopMs = stops;
    note(`mute: last audio packet of the muted school after the click (ms): ${JSON.stringify(stops)}; seen by the pages' samplers at ${JSON.stringify(sampledStops)}`);
    for (const [tag, ms] of Object.entries(stops)) assert.ok(ms < 500, `${tag} still got the muted school's audio ${ms} ms after the click`);
    // The school page says it is muted; the teacher's row says so too.
    await a.page.locator('#muted-notice').waitFor({ state: 'visible', timeout: 3000 });
    assert.equal(await text(a.page, '#muted-notice'), 'The teacher turned off this school’s microphone. Nobody hears you until the teacher turns it back on.');
    assert.equal(await a.page.getAttribute('#mic', 'data-state'), 'muted');
    await teacher.page.locator(`#members li[data-id="${a.member}"][data-muted="true"]`).waitFor({ timeout: 3000 });
    // Its camera goes on.
    const f0 = (await recv(s1))[`${a.member}.camera`].framesDecoded;
    await until('muted school\'s camera goes on', () => recv(s1), (r) => r[`${a.member}.camera`].framesDecoded > f0 + 10, 5000);
    // Unmute: its audio comes back; the school turns its microphone off again.
    const p0 = (await recv(s1))[id].packetsReceived;
    await row.locator('button[data-action="unmute"]').click();
    await until('audio back after unmute', () => recv(s1), (r) => r[id].packetsReceived > p0 + 25, 5000);
    await a.page.locator('#mic[data-state="on"]').waitFor({ timeout: 3000 });
    await a.page.locator('#mic').click();
    await a.page.locator('#mic[data-state="off"]').waitFor({ timeout: 3000 });
  });

  // -------------------------------------------------------------------------
  step('3. Remove: the student\'s media stops and its page shows the reason in Vietnamese', async () => {
    const reason = 'Em hãy vào lại bằng máy của lớp';
    // Everything the student receives, on the connection it has now.
    await until('student Hoa receives', () => s2.page.evaluate(() => !!window.ccStudent.pc), Boolean, 3000);
    await s2.page.evaluate(() => { window.__heldPc = window.ccStudent.pc; window.__sample('*', window.__heldPc); });
    await until('sampler running', () => s2.page.evaluate(() => window.__sampler.samples.length), (n) => n >= 10, 5000, 50);
    await teacher.page.evaluate(() => {
      document.addEventListener('click', (ev) => { if (ev.target.closest('#remove-yes')) window.__removeClickAt = Date.now(); }, true);
    });
    const row = teacher.page.locator(`#members li[data-id="${s2.member}"]`);
    assert.equal(await row.getAttribute('data-role'), 'student');
    await row.locator('button[data-action="remove"]').click();
    await teacher.page.locator('#remove-dialog').waitFor({ state: 'visible', timeout: 3000 });
    await teacher.page.locator('#remove-reason').pressSequentially(reason);
    await teacher.page.locator('#remove-yes').click();
    const clickAt = await until('click recorded', () => teacher.page.evaluate(() => window.__removeClickAt), Boolean, 2000, 20);
    // The page says so, in its language, with the teacher's words.
    await s2.page.waitForFunction(() => window.ccStudent.state === 'removed', null, { timeout: 5000 });
    assert.equal(await text(s2.page, '#overlay-title'), 'Em đã được mời ra khỏi buổi học');
    assert.equal(await text(s2.page, '#overlay-sub'), `Lý do: ${reason}`);
    // Its media stops: no inbound packet grows for 1 s, its connection and
    // tracks are closed.
    const series = await until('student Hoa\'s packets stop', () => s2.page.evaluate(() => window.__sampler.samples), (s) => {
      const nums = s.filter(([, v]) => typeof v === 'number');
      const last = s[s.length - 1];
      if (typeof last[1] !== 'number') return last[0] > clickAt; // the connection is gone
      const firstSame = nums.find(([, v]) => v === last[1]);
      return last[0] > clickAt && last[0] - firstSame[0] >= 1000;
    }, 6000, 100);
    await s2.page.evaluate(() => { window.__sampler.stop = true; });
    const li = lastIncrease(series, clickAt);
    const held = await s2.page.evaluate(() => ({
      state: window.__heldPc.connectionState,
      tracks: window.__heldPc.getReceivers().map((r) => r.track.readyState),
      pc: !!window.ccStudent.pc,
    }));
    results.removeStopMs = li.ms;
    note(`remove: the student's last inbound packet ${li.ms} ms after the click; its connection ${held.state}, tracks ${[...new Set(held.tracks)]}`);
    assert.ok(li.ms < 1000, `the removed student received packets ${li.ms} ms after the click`);
    assert.equal(held.state, 'closed');
    assert.ok(held.tracks.every((s) => s === 'ended'), JSON.stringify(held.tracks));
    assert.equal(held.pc, false);
    // The server closed its side, and the teacher's list lost the student.
    await teacher.page.locator(`#members li[data-id="${s2.member}"]`).waitFor({ state: 'detached', timeout: 3000 });
    const n = s2.member.replace(/^m/, '');
    await until('server closed the subscriber', () => Promise.resolve(server.stderr()),
      (e) => new RegExp(`subscriber ${n} closed`).test(e), 3000);
    await close(s2);
  });

  // -------------------------------------------------------------------------
  step('4. a third school joins and leaves: what a student page plays does not freeze (> 300 ms)', async () => {
    // Fewer browsers on the test machine while measuring: school A leaves
    // (its Leave button) and comes back in step 7.
    const a = schools.shift();
    await a.page.locator('#leave').click();
    await until('the student drops school A', () => s1.page.evaluate((m) => {
      const cc = window.ccStudent;
      return !cc.streams.some((x) => x.member === m) && !Object.keys(cc.guests).some((id) => id.startsWith(`${m}.`)) && !cc.sub.busy;
    }, a.member), Boolean, 10_000);
    await close(a);
    await makeInvite('PTDTBT Na Ư');
    // The school's computer opens the link and types its name first (a
    // new browser page starting up is not what is measured here).
    const c = await openSchool('PTDTBT Na Ư');
    const base = await s1.page.evaluate(() => window.ccStudent.sub.renegotiations);
    // The student page's visible videos: the teacher's camera, and the
    // school camera shown beside it.
    const shownId = await until('a school camera shown on the student page', () => s1.page.evaluate(() => {
      const cc = window.ccStudent;
      const m = cc.shownSpeakers[0];
      const v = m && cc.guests[`${m}.camera`];
      return v && !v.hidden && v.videoWidth > 0 ? `${m}.camera` : null;
    }), Boolean, 5000);
    await s1.page.evaluate((id) => {
      window.__watchFrames([['teacher camera', document.getElementById('camera')], [id, window.ccStudent.guests[id]]]);
    }, shownId);
    // Let a few frames through before anything changes.
    await until('frames counted', () => s1.page.evaluate(() => Object.values(window.__frames.res).map((r) => r.frames)),
      (f) => f.every((n) => n >= 5), 5000, 50);
    const detail0 = await s1.page.evaluate(() => window.__videoDetail());
    const events = [['start', Date.now()]];
    await pressJoin(c);
    events.push(['school waiting', Date.now()]);
    await teacher.page.locator(`#waiting li[data-id="${c.member}"] button[data-action="admit"]`).click({ timeout: 10_000 });
    events.push(['admitted', Date.now()]);
    await schoolReady(c);
    events.push(['school publishing', Date.now()]);
    // The student page adds its streams on the same connection ...
    await until('student adds the third school', () => recv(s1), (r) => r[`${c.member}.mic`]?.packetsReceived > 20, 10_000, 100);
    events.push(['student receives it', Date.now()]);
    const added = await s1.page.evaluate(() => window.ccStudent.sub.renegotiations);
    assert.ok(added > base, 'the student page renegotiated');
    // ... and the school leaves again (its Leave button).
    await c.page.locator('#leave').click();
    events.push(['left', Date.now()]);
    await until('student drops the third school', () => s1.page.evaluate((m) => {
      const cc = window.ccStudent;
      return { streams: cc.streams.some((s) => s.member === m), guests: Object.keys(cc.guests).some((id) => id.startsWith(`${m}.`)), busy: cc.sub.busy };
    }, c.member), (v) => !v.streams && !v.guests && !v.busy, 10_000, 100);
    // A few more frames after the last renegotiation.
    const framesNow = await s1.page.evaluate(() => Object.values(window.__frames.res).map((r) => r.frames));
    await until('frames after', () => s1.page.evaluate(() => Object.values(window.__frames.res).map((r) => r.frames)),
      (f) => f.every((n, i) => n >= framesNow[i] + 10), 5000, 50);
    events.push(['student dropped it', Date.now()]);
    const res = await s1.page.evaluate(() => window.__frames.stop());
    // What the receiver saw meanwhile: same SSRCs (the tracks were never
    // replaced), key frames, PLIs, Chromium's own freeze count.
    const detail1 = await s1.page.evaluate(() => window.__videoDetail());
    const change = {};
    for (const id of ['camera', shownId]) {
      const [d0, d1] = [detail0[id], detail1[id]];
      change[id] = Object.fromEntries(Object.keys(d1).map((k) => [k, k === 'ssrc' ? (d0.ssrc === d1.ssrc ? 'same' : 'changed')
        : Number((d1[k] - d0[k]).toFixed(3))]));
      assert.equal(change[id].ssrc, 'same', `${id}: the SSRC changed`);
    }
    note(`receive counters meanwhile: ${JSON.stringify(change)}`);
    const t0 = events[0][1];
    const rel = (t) => t - t0;
    note(`timeline (ms): ${events.map(([k, t]) => `${k} ${rel(t)}`).join(', ')}`);
    for (const [label, r] of Object.entries(res)) {
      note(`  ${label}: gaps > 150 ms ${JSON.stringify(r.gaps.map((g) => ({ ...g, at: rel(g.at) })))}`);
      delete r.gaps;
    }
    const renegotiations = (await s1.page.evaluate(() => window.ccStudent.sub.renegotiations)) - base;
    results.freeze = { ...res, renegotiations };
    note(`third school joined and left (${renegotiations} renegotiations on the student page): ${JSON.stringify(res)}`);
    for (const [label, r] of Object.entries(res)) {
      assert.ok(r.frames > 20, `${label}: ${r.frames} frames`);
      assert.ok(r.maxGap < 300, `${label} froze ${r.maxGap.toFixed(0)} ms while a school joined and left`);
    }
    assert.ok(renegotiations >= 2, `the student page renegotiated to add and to drop (${renegotiations})`);
    await close(c);
  });

  // -------------------------------------------------------------------------
  const XSS = '<img src=x onerror=alert(1)>';
  let s3;
  step('5 & 6. chat: 60 messages reach a late joiner, who waits until Admit; HTML stays text; a refused joiner reads why in Vietnamese', async () => {
    const b = schools.find((x) => x.name === 'TH Mường Thanh');
    // 60 messages: 29 from a school and 29 from a student (the pages' own
    // send), one the teacher types with HTML in it, one a student types.
    await b.page.evaluate(async () => {
      for (let i = 1; i <= 29; i++) if (!(await window.ccSchool.sendChat(`Trường: tin ${i}`))) throw new Error(`school chat ${i}`);
    });
    await s1.page.evaluate(async () => {
      for (let i = 1; i <= 29; i++) if (!(await window.ccStudent.sendChat(`An: câu ${i}`))) throw new Error(`student chat ${i}`);
    });
    await teacher.page.locator('#chat-input').fill('');
    await teacher.page.locator('#chat-input').pressSequentially(XSS);
    await teacher.page.locator('#chat-send').click();
    await until('teacher page has 59 messages', () => teacher.page.evaluate(() => window.ccTeacher.chat.length), (n) => n === 59, 5000);
    await s1.page.locator('#chat-input').pressSequentially('Em chào cả lớp!');
    await s1.page.locator('#chat-send').click();
    await until('60 messages', () => teacher.page.evaluate(() => window.ccTeacher.chat.length), (n) => n === 60, 5000);
    await until('every page has them', () => Promise.all([
      s1.page.evaluate(() => window.ccStudent.chat.length), b.page.evaluate(() => window.ccSchool.chat.length),
    ]), (ns) => ns.every((n) => n === 60), 5000);

    // Two more students come late: both wait in the waiting room.
    const link = await studentLink(teacher.page);
    s3 = await open(link, { tag: 'student Mai' });
    const s4 = await open(link, { tag: 'student Tủa', locale: 'vi-VN' });
    await joinAsStudent(s3.page, 'Trần Thị Mai');
    await joinAsStudent(s4.page, 'Giàng A Tủa');
    for (const s of [s3, s4]) {
      await s.page.waitForFunction(() => window.ccStudent.state === 'waiting' && window.ccStudent.member, null, { timeout: 10_000 });
      s.member = await s.page.evaluate(() => window.ccStudent.member);
    }
    // Their pages say they wait (each in its language), nothing plays.
    assert.equal(await text(s3.page, '#overlay-title'), 'Waiting for the teacher to let you in');
    assert.equal(await text(s4.page, '#overlay-title'), 'Đang chờ thầy cô cho em vào lớp');
    assert.equal(await s3.page.evaluate(() => window.ccStudent.pc), null);
    assert.equal(await s3.page.locator('#chat-list li').count(), 0, 'no chat while waiting');
    // The teacher lets Mai in and refuses Tủa.
    await teacher.page.locator(`#waiting li[data-id="${s3.member}"] button[data-action="admit"]`).click({ timeout: 5000 });
    await teacher.page.locator(`#waiting li[data-id="${s4.member}"] button[data-action="refuse"]`).click({ timeout: 5000 });
    await s4.page.waitForFunction(() => window.ccStudent.state === 'refused', null, { timeout: 5000 });
    assert.equal(await text(s4.page, '#overlay-title'), 'Thầy cô chưa cho em vào lớp');
    assert.equal(await s4.page.isVisible('#overlay-title'), true);
    await s3.page.waitForFunction(() => window.ccStudent.state === 'joined', null, { timeout: 10_000 });

    // The late joiner sees the history: every message, as text.
    await until('history on the late joiner\'s page', () => s3.page.locator('#chat-list li.g-msg').count(), (n) => n === 60, 5000);
    const chat = await s3.page.evaluate((xss) => {
      const items = [...document.querySelectorAll('#chat-list li.g-msg .g-text')].map((e) => e.textContent);
      return { items, imgs: document.querySelectorAll('#chat-list img').length, hasXss: items.includes(xss), visible: document.getElementById('chat-list').getBoundingClientRect().height > 0 };
    }, XSS);
    assert.equal(chat.items.filter((x) => x.startsWith('Trường: tin ')).length, 29);
    assert.equal(chat.items.filter((x) => x.startsWith('An: câu ')).length, 29);
    assert.ok(chat.hasXss, 'the HTML message shows as its text');
    assert.equal(chat.imgs, 0, 'no <img> in the chat list');
    assert.ok(chat.visible, 'the chat list is on screen');
    assert.equal(chat.items[0], 'Trường: tin 1', 'oldest first');
    assert.equal(chat.items[59], 'Em chào cả lớp!', 'newest last');
    // The same message on the pages that had it live: text, no image.
    for (const [p, sel] of [[teacher, '#chat-list'], [s1, '#chat-list'], [b, '#chat-list']]) {
      const v = await p.page.evaluate(([s, xss]) => ({
        imgs: document.querySelectorAll(`${s} img`).length,
        text: [...document.querySelectorAll(`${s} li`)].some((li) => li.textContent.includes(xss)),
      }), [sel, XSS]);
      assert.equal(v.imgs, 0, `${p.tag}: no <img> in the chat`);
      assert.ok(v.text, `${p.tag}: the message is there as text`);
    }
    assert.deepEqual(dialogs, [], 'no alert() ran anywhere');
    note(`chat: late joiner shows ${chat.items.length} messages; HTML message as text, 0 <img>, 0 dialogs`);
    await close(s4);
    await close(s3);
  });

  // -------------------------------------------------------------------------
  step('7. four schools: screenshots of the teacher and school pages at 1024x768 in Vietnamese, the student page in English', async () => {
    const t7 = Date.now();
    await makeInvite('TH Sín Chải');
    // School A comes back, the third school again, and a fourth: their
    // computers open the links at the same time.
    const [a, c, d] = await Promise.all([
      openSchool('THCS Chiềng Sinh'), openSchool('PTDTBT Na Ư'), openSchool('TH Sín Chải', { locale: 'vi-VN' }),
    ]);
    for (const p of [a, c, d]) await pressJoin(p);
    // All three wait; the teacher lets them in with "Admit all".
    await teacher.page.waitForFunction((ids) => ids.every((id) => window.ccTeacher.waiting.some((m) => m.id === id)),
      [a, c, d].map((p) => p.member), { timeout: 5000 });
    await teacher.page.locator('#admit-all').click({ timeout: 5000 });
    await Promise.all([a, c, d].map((p) => schoolReady(p)));
    schools.unshift(a);
    schools.push(c, d);
    // Everyone in place and the pictures flowing.
    await teacher.page.waitForFunction((n) => window.ccTeacher.members.filter((m) => m.role === 'school' && !m.waiting).length === n,
      schools.length, { timeout: 5000 });
    const t0 = await recv(teacher);
    await until('teacher decodes four schools', () => recv(teacher),
      (r) => schools.every((s) => (r[`${s.member}.camera`]?.framesDecoded || 0) > (t0[`${s.member}.camera`]?.framesDecoded || 0) + 5), 15_000, 200);
    await until('student receives four schools\' audio, last-N cameras', () => recv(s1),
      (r) => schools.every((s) => r[`${s.member}.mic`]?.packetsReceived > 20), 15_000, 200);
    await until('school page shows a school camera', () => a.page.evaluate(() => {
      const cc = window.ccSchool;
      return Object.entries(cc.guests).some(([id, v]) => id.endsWith('.camera') && !v.hidden && v.videoWidth > 0);
    }), Boolean, 10_000);

    const t7b = Date.now();
    const pages = [['teacher', teacher.page], ['school', a.page], ['student', s1.page]];
    const shots = [];
    for (const lang of ['vi', 'en']) {
      for (const [name, page] of pages) {
        const tl = Date.now();
        await page.locator(`#lang-switch button[data-lang="${lang}"]`).click({ force: true }); // no wait for two still animation frames: they come seldom on a page full of video
        // Polled from here: waitForFunction polls on animation frames,
        // which come seldom on a page full of video on a busy machine.
        await until(`${name} page in ${lang}`, () => page.evaluate(() => document.documentElement.lang), (l) => l === lang, 3000, 50);
        const tc = Date.now() - tl;
        // The teacher and school pages at a tablet's 1024x768 (the size
        // every page here has) in Vietnamese, the student page in English.
        // A screenshot of a page full of video costs 1-12 s on a busy
        // 2-core machine (the student page at 1920x1080 took 12 s), so the
        // other languages and sizes are checked by their words only.
        if ((name === 'student') !== (lang === 'en')) {
          shots.push(`${name}-${lang} switched in ${tc} ms`);
          continue;
        }
        const t = Date.now();
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        const file = artifactPath(`seminar-${name}-${lang}-1024x768.png`);
        await page.screenshot({ path: file, timeout: 10_000 });
        shots.push(`${name}-${lang}-1024x768 switched in ${tc} ms, shot in ${Date.now() - t} ms`);
      }
    }
    // The language really changed: a few words of each page.
    assert.equal(await text(s1.page, '#chat-h'), 'Chat');
    assert.equal(await text(a.page, '#leave'), 'Leave the lesson');
    assert.equal(await text(teacher.page, '#participants-card h2'), 'People in the lesson');
    note(`four schools in after ${t7b - t7} ms; languages and 3 screenshots in ${Date.now() - t7b} ms: ${shots.join(', ')} (${artifactPath('seminar-*.png')})`);
  }, 90_000);

  // -------------------------------------------------------------------------
  step('8. bits per tablet: one student page with four schools, last-N 2 and then 4', async () => {
    // What the student page received in `ms`, as bits per second: the
    // teacher's camera and screen, the schools' cameras (summed), audio
    // (the teacher's and the schools' microphones, summed).
    const measure = async (ms) => {
      const r0 = await recv(s1);
      const t0 = Date.now();
      await sleep(ms); // the measuring window itself
      const r1 = await recv(s1);
      const dt = (Date.now() - t0) / 1000;
      const bps = (id) => Math.round(((r1[id]?.bytesReceived || 0) - (r0[id]?.bytesReceived || 0)) * 8 / dt);
      const ids = Object.keys(r1);
      const cams = ids.filter((id) => id.endsWith('.camera'));
      const flowing = cams.filter((id) => (r1[id].framesDecoded - (r0[id]?.framesDecoded || 0)) > 5 * dt);
      return {
        seconds: Number(dt.toFixed(2)),
        teacher_video_bps: bps('camera') + bps('screen'),
        school_cameras_bps: cams.reduce((s, id) => s + bps(id), 0),
        audio_bps: ['mic', ...ids.filter((id) => id.endsWith('.mic'))].reduce((s, id) => s + bps(id), 0),
        cameras_flowing: flowing.length,
        per_stream_bps: Object.fromEntries(ids.map((id) => [id, bps(id)])),
      };
    };
    const line = (n, m) => `bits per tablet: last-N ${n}, 4 schools: teacher camera/screen ${(m.teacher_video_bps / 1000).toFixed(0)} kbit/s, `
      + `school cameras ${(m.school_cameras_bps / 1000).toFixed(0)} kbit/s (${m.cameras_flowing} flowing), audio ${(m.audio_bps / 1000).toFixed(0)} kbit/s, `
      + `total ${((m.teacher_video_bps + m.school_cameras_bps + m.audio_bps) / 1000).toFixed(0)} kbit/s`;

    assert.equal(await teacher.page.inputValue('#last-n'), '2');
    // Up to five windows, as below for last-N 4: the screenshots just
    // taken (up to 12 s each for a page full of video on this machine)
    // starve every page's CPU; the students' feedback comes late, their
    // estimates dip and the allocation pauses cameras until it recovers.
    // Once in about 17 local runs the four schools' joins starved the
    // student's page so long that its estimate fell from 1023 to 260
    // kbit/s; it took 11 s to resume every camera (three windows missed
    // it by one).
    let n2;
    for (let k = 0; k < 5; k++) {
      n2 = await measure(5000);
      console.log(line(2, n2));
      if (n2.cameras_flowing === 2) break;
    }
    assert.equal(n2.cameras_flowing, 2, 'last-N 2: two school cameras flowed');

    // The teacher sets last-N to 4 on the page.
    await teacher.page.locator('#last-n').selectOption('4');
    await until('the student gets four speakers', () => s1.page.evaluate(() => window.ccStudent.speakers), (sp) => sp.length === 4, 5000);
    const f0 = await recv(s1);
    await until('four school cameras flow to the student', () => recv(s1),
      (r) => schools.every((s) => r[`${s.member}.camera`]?.framesDecoded > (f0[`${s.member}.camera`]?.framesDecoded || 0) + 5), 10_000, 200);
    // Up to three windows: this machine runs eight pages full of video on
    // two cores, and when a burst of work delays the student's transport
    // feedback, its estimate can dip and pause a camera for a second or
    // two (logged by the server: "camera of N paused"); a window with all
    // four flowing is the measurement.
    let n4;
    for (let k = 0; k < 5; k++) {
      n4 = await measure(5000);
      console.log(line(4, n4));
      if (n4.cameras_flowing === 4) break;
    }
    assert.equal(n4.cameras_flowing, 4, 'last-N 4: four school cameras flowed');
    assert.ok(n4.school_cameras_bps > n2.school_cameras_bps, 'more cameras, more bits');
    results.bits = { last_n_2: n2, last_n_4: n4 };
    writeFileSync(artifactPath('seminar-bits.json'), `${JSON.stringify({
      note: 'bits per second one student page received (getStats inbound-rtp bytesReceived), 4 schools publishing',
      cameras: 'every camera is Chromium\'s fake camera playing a generated 320x240 15 fps picture (the pages ask for 640x480)',
      microphones: 'the teacher\'s carries a voice-like sound, the schools\' are switched off (silence)',
      last_n_2: n2, last_n_4: n4,
    }, null, 2)}\n`);
    assert.deepEqual(dialogs, [], 'no alert() ran anywhere');
    note(`results: ${JSON.stringify({ muteStopMs: results.muteStopMs, removeStopMs: results.removeStopMs, freeze: results.freeze })}`);
  }, 90_000);
});
