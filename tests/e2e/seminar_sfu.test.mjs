// Seminars on the wire: hand-made WebSocket + RTCPeerConnection clients in
// Chromium (no page UI), so each rule is checked where the server enforces
// it. A teacher, two schools publishing fake camera and microphone, and a
// student: the student receives every school's video and audio by
// renegotiating its one subscribe connection; adding a school does not
// disturb what already plays; a student without the floor is refused,
// publishes after the grant and stops reaching the others at the revoke;
// a muted school's audio stops. The page-level seminar test
// (seminar.test.mjs) drives the same through the teacher, school and
// student pages.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launch } from './lib/chromium.mjs';
import { artifactPath } from './lib/server.mjs';
import { voiceWav, cameraY4m } from './lib/fakemedia.mjs';
import { framesProbe } from './lib/frames.mjs';


// In-page client: window.cc = {send, wait, msgs, pc (subscribe), pub
// (publish), subscribe(), publish()}. Runs in the page (serialized).
function clientLib() {
  const cc = {
    msgs: [], waiters: [], streams: [], speakers: [], tracks: {}, seq: 0,
  };
  cc.ws = new WebSocket(`ws://${location.host}/ws`);
  cc.open = new Promise((r) => { cc.ws.onopen = r; });
  cc.ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    cc.msgs.push(m);
    if (m.type === 'streams') cc.streams = m.streams;
    if (m.type === 'speakers') cc.speakers = m.members;
    for (const w of [...cc.waiters]) if (w.f(m)) { cc.waiters.splice(cc.waiters.indexOf(w), 1); w.r(m); }
  };
  cc.send = (o) => cc.ws.send(JSON.stringify(o));
  // A message that came already counts (past = true), else the next one.
  cc.wait = (f, ms = 10000, past = true) => new Promise((resolve, reject) => {
    const hit = past && cc.msgs.find(f);
    if (hit) { resolve(hit); return; }
    cc.waiters.push({ f, r: resolve });
    setTimeout(() => reject(new Error(`timeout waiting in ${document.title}`)), ms);
  });
  // One request, its reply (answer / ok / error / created / joined ...).
  cc.request = async (o, types) => {
    const id = `r${++cc.seq}`;
    const p = cc.wait((m) => m.id === id, 10000, false);
    cc.send({ ...o, id });
    const m = await p;
    if (types && !types.includes(m.type)) throw new Error(`${o.type}: ${JSON.stringify(m)}`);
    return m;
  };
  // Subscribe (or renegotiate) to the teacher's three tracks plus the given
  // guest stream ids, on one RTCPeerConnection; mids map to stream ids.
  cc.subscribe = async (ids) => {
    if (!cc.pc) {
      cc.pc = new RTCPeerConnection();
      cc.pc.ontrack = () => {};
      for (const kind of ['video', 'video', 'audio']) cc.pc.addTransceiver(kind, { direction: 'recvonly' });
      cc.mids = ['camera', 'screen', 'mic'];
    }
    for (const id of ids) {
      if (cc.mids.includes(id)) continue;
      cc.pc.addTransceiver(id.endsWith('.mic') ? 'audio' : 'video', { direction: 'recvonly' });
      cc.mids.push(id);
    }
    const offer = await cc.pc.createOffer();
    await cc.pc.setLocalDescription(offer);
    const tracks = {};
    cc.pc.getTransceivers().forEach((t, i) => { if (t.mid !== null && cc.mids[i]) tracks[t.mid] = cc.mids[i]; });
    const first = !cc.subscribed;
    const ans = await cc.request({ type: first ? 'subscribe' : 'renegotiate', for: 'subscribe',
      sdp: cc.pc.localDescription.sdp, tracks }, ['answer']);
    await cc.pc.setRemoteDescription({ type: 'answer', sdp: ans.sdp });
    cc.subscribed = true;
    cc.pc.getTransceivers().forEach((t, i) => { if (cc.mids[i]) cc.tracks[cc.mids[i]] = t.receiver; });
  };
  cc.publish = async () => {
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
    cc.media = media;
    // Silent until it "speaks" (a disabled track sends silence: RFC 6464
    // level 127); the fake microphone plays a voice-like sound.
    media.getAudioTracks()[0].enabled = false;
    cc.pub = new RTCPeerConnection();
    const v = cc.pub.addTransceiver(media.getVideoTracks()[0], { direction: 'sendonly' });
    const a = cc.pub.addTransceiver(media.getAudioTracks()[0], { direction: 'sendonly' });
    const offer = await cc.pub.createOffer();
    await cc.pub.setLocalDescription(offer);
    const reply = await cc.request({ type: 'publish', sdp: cc.pub.localDescription.sdp,
      tracks: { [v.mid]: 'camera', [a.mid]: 'mic' } });
    if (reply.type !== 'answer') return reply;
    await cc.pub.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    return reply;
  };
  cc.setMic = (on) => { cc.media.getAudioTracks()[0].enabled = on; };
  // Per stream id: frames decoded / packets received (inbound-rtp by mid).
  cc.recv = async () => {
    const out = {};
    if (!cc.pc) return out;
    const byMid = {};
    cc.pc.getTransceivers().forEach((t, i) => { if (t.mid !== null) byMid[t.mid] = cc.mids[i]; });
    const rep = await cc.pc.getStats();
    rep.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const id = byMid[s.mid];
      if (id) out[id] = { frames: s.framesDecoded || 0, packets: s.packetsReceived || 0, kind: s.kind, ssrc: s.ssrc, freezes: s.freezeCount || 0 };
    });
    return out;
  };
  window.cc = cc;
}

async function participant(browser, url, title) {
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  await context.addInitScript(framesProbe);
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`${title} [${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`${title} [pageerror] ${e.message}`));
  await page.goto(`${url}/index.html`, { waitUntil: 'load' });
  await page.evaluate((t) => { document.title = t; }, title);
  await page.evaluate(`(${clientLib.toString()})()`);
  await page.evaluate(() => window.cc.open);
  return { page, context, log, title };
}

const recv = (p) => p.page.evaluate(() => window.cc.recv());

// Polls until fn(value) holds; returns the value (throws after ms).
async function until(what, get, fn, ms = 10000) {
  const t0 = Date.now();
  let v;
  while (Date.now() - t0 < ms) {
    v = await get();
    if (fn(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms; last ${JSON.stringify(v)}`);
}

// Time from now until packets of `id` stop growing on p (stalled for 300
// ms), in ms.
async function stopsWithin(p, id) {
  const t0 = Date.now();
  let last = (await recv(p))[id]?.packets || 0;
  let lastChange = Date.now();
  while (Date.now() - t0 < 5000) {
    await new Promise((r) => setTimeout(r, 25));
    const now = (await recv(p))[id]?.packets || 0;
    if (now !== last) { last = now; lastChange = Date.now(); }
    if (Date.now() - lastChange >= 300) return lastChange - t0;
  }
  return Infinity;
}

describe('seminar: many senders through the SFU', { timeout: 120_000 }, () => {
  let server, browser;
  const people = [];
  before(async () => {
    server = await startServer('seminar_sfu', { extraArgs: ['--local-teacher'] });
    const wav = voiceWav(artifactPath('seminar-voice.wav'));
    const y4m = cameraY4m(artifactPath('seminar-camera.y4m'));
    browser = await launch({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`,
      `--use-file-for-fake-video-capture=${y4m}`] });
  });
  after(async () => {
    for (const p of people) await p.context.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  it('schools and a student with the floor reach everyone; renegotiation keeps what plays; revoke and mute stop packets at once', async () => {
    const url = server.url;
    const teacher = await participant(browser, url, 'teacher');
    const schoolA = await participant(browser, url, 'school A');
    const schoolB = await participant(browser, url, 'school B');
    const student = await participant(browser, url, 'student');
    people.push(teacher, schoolA, schoolB, student);

    const created = await teacher.page.evaluate(() => window.cc.request({ type: 'create', name: 'Cô Lan', title: 'Hội thảo' }, ['created']));
    const code = created.code;
    const invite = await teacher.page.evaluate(() => window.cc.request({ type: 'invite_create', label: 'THCS A' }, ['invite']));
    const token = invite.invite.token;

    // A wrong invite is refused with its own code.
    const bad = await schoolA.page.evaluate((c) => window.cc.request({ type: 'join', code: c, name: 'X', invite: 'wrongwrongwrong' }), code);
    assert.equal(bad.code, 'bad_invite');

    const joinA = await schoolA.page.evaluate(([c, t]) => window.cc.request({ type: 'join', code: c, name: 'THCS A', invite: t }, ['joined']), [code, token]);
    assert.equal(joinA.role, 'school');
    const mA = joinA.member;
    const pubA = await schoolA.page.evaluate(() => window.cc.publish());
    assert.equal(pubA.type, 'answer');

    const joinS = await student.page.evaluate((c) => window.cc.request({ type: 'join', code: c, name: 'Em Hoa' }, ['joined']), code);
    const mS = joinS.member;
    // The student learns of school A's tracks and subscribes to them.
    await until('student sees school A in streams', () => student.page.evaluate(() => window.cc.streams.map((s) => s.id)),
      (ids) => ids.includes(`${mA}.camera`) && ids.includes(`${mA}.mic`));
    await student.page.evaluate((m) => window.cc.subscribe([`${m}.camera`, `${m}.mic`]), mA);
    await until('student decodes school A', () => recv(student),
      (r) => r[`${mA}.camera`]?.frames > 10 && r[`${mA}.mic`]?.packets > 20);

    // School B arrives; the student adds it on the same connection while
    // school A keeps playing: sample A's frames every 50 ms, no gap > 300 ms.
    const joinB = await schoolB.page.evaluate(([c, t]) => window.cc.request({ type: 'join', code: c, name: 'THCS B', invite: t }, ['joined']), [code, token]);
    const mB = joinB.member;
    await schoolB.page.evaluate(() => window.cc.publish());
    await until('student sees school B in streams', () => student.page.evaluate(() => window.cc.streams.map((s) => s.id)),
      (ids) => ids.includes(`${mB}.camera`));
    const ssrcBefore = (await recv(student))[`${mA}.camera`].ssrc;
    // The frames a <video> of school A's camera presents (rVFC), and
    // Chromium's own freeze count, around the renegotiation.
    const freeze = student.page.evaluate(async (id) => {
      const v = document.createElement('video');
      v.muted = true; v.autoplay = true; v.playsInline = true;
      v.srcObject = new MediaStream([window.cc.tracks[id].track]);
      document.body.append(v);
      await v.play().catch(() => {});
      const before = (await window.cc.recv())[id];
      let last = null, prev = null, maxGap = 0, maxCallbackGap = 0;
      const t0 = performance.now();
      await new Promise((done) => {
        const onFrame = (now, meta) => {
          // The picture's stand-still (lib/frames.mjs), not the page's
          // callback gap: a busy page presents frames it does not call back for.
          if (last !== null) {
            maxGap = Math.max(maxGap, window.__standStill(now - last, prev, meta));
            maxCallbackGap = Math.max(maxCallbackGap, now - last);
          }
          last = now; prev = meta;
          if (now - t0 < 4000) v.requestVideoFrameCallback(onFrame); else done();
        };
        v.requestVideoFrameCallback(onFrame);
        setTimeout(done, 6000);
      });
      const after = (await window.cc.recv())[id];
      return { maxGap, maxCallbackGap, freezes: after.freezes - before.freezes, frames: after.frames - before.frames };
    }, `${mA}.camera`);
    await new Promise((r) => setTimeout(r, 500));
    await student.page.evaluate((m) => window.cc.subscribe([`${m}.camera`, `${m}.mic`]), mB);
    const { maxGap, maxCallbackGap, freezes, frames } = await freeze;
    console.log(`school A while school B was added: ${frames} frames, longest stand-still ${maxGap.toFixed(0)} ms (callback gap ${maxCallbackGap.toFixed(0)} ms), ${freezes} freezes`);
    assert.ok(frames > 30, `school A's video went on (${frames} frames)`);
    assert.ok(maxGap < 300, `school A's video froze ${maxGap.toFixed(0)} ms while school B was added`);
    // (Chromium's freezeCount counts any gap over ~180 ms at 30 fps; the
    // measure asked for here is a gap over 300 ms.)
    await until('student decodes school B', () => recv(student),
      (r) => r[`${mB}.camera`]?.frames > 10 && r[`${mB}.mic`]?.packets > 20);
    assert.equal((await recv(student))[`${mA}.camera`].ssrc, ssrcBefore, 'school A kept its SSRC');

    // A student without the floor may not publish.
    const refused = await student.page.evaluate(() => window.cc.publish());
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'forbidden');
    // The teacher gives the floor: the same student publishes, school A sees it.
    await teacher.page.evaluate((m) => window.cc.request({ type: 'floor', member: m, grant: true }, ['ok']), mS);
    await student.page.evaluate(() => window.cc.wait((m) => m.type === 'floor' && m.granted));
    await student.page.evaluate(() => { window.cc.pub?.close(); window.cc.pub = null; });
    const pubS = await student.page.evaluate(() => window.cc.publish());
    assert.equal(pubS.type, 'answer');
    await until('school A sees the student', () => schoolA.page.evaluate(() => window.cc.streams.map((s) => s.id)),
      (ids) => ids.includes(`${mS}.camera`));
    // It speaks (the schools are silent): it becomes the most recent
    // speaker, so its camera now reaches the other schools too.
    await student.page.evaluate(() => window.cc.setMic(true));
    await until('the student is a speaker', () => schoolA.page.evaluate(() => window.cc.speakers),
      (sp) => sp[0] === mS, 5000);
    await schoolA.page.evaluate((m) => window.cc.subscribe([`${m}.camera`, `${m}.mic`]), mS);
    await until('school A decodes the student', () => recv(schoolA),
      (r) => r[`${mS}.camera`]?.frames > 5 && r[`${mS}.mic`]?.packets > 20);
    // Revoke: its packets stop reaching school A within 500 ms.
    const tRevoke = Date.now();
    await teacher.page.evaluate((m) => window.cc.request({ type: 'floor', member: m, grant: false }, ['ok']), mS);
    const stopAudio = await stopsWithin(schoolA, `${mS}.mic`);
    assert.ok(Date.now() - tRevoke < 10_000);
    assert.ok(stopAudio < 500, `the student's audio reached school A ${stopAudio} ms after the revoke`);

    // Mute school A (speaking now): the student stops receiving its audio
    // within 500 ms; its video goes on.
    await schoolA.page.evaluate(() => window.cc.setMic(true));
    await teacher.page.evaluate((m) => window.cc.request({ type: 'mute', member: m, muted: true }, ['ok']), mA);
    const stopMute = await stopsWithin(student, `${mA}.mic`);
    assert.ok(stopMute < 500, `school A's audio reached the student ${stopMute} ms after the mute`);
    await schoolA.page.evaluate(() => window.cc.wait((m) => m.type === 'muted' && m.muted));
    const v0 = (await recv(student))[`${mA}.camera`].frames;
    await until('school A video goes on while muted', () => recv(student), (r) => r[`${mA}.camera`].frames > v0 + 10);
    // Unmute: audio flows again.
    const a0 = (await recv(student))[`${mA}.mic`].packets;
    await teacher.page.evaluate((m) => window.cc.request({ type: 'mute', member: m, muted: false }, ['ok']), mA);
    await until('school A audio back', () => recv(student), (r) => r[`${mA}.mic`].packets > a0 + 20);

    const stats = await server.stats();
    assert.ok(stats.sfu.drop_muted > 0, 'muted packets were counted');
  });

  it('last-N: with four schools speaking in turn, a student gets at most N cameras and switches to the speaker within 1 s', async () => {
    const url = server.url;
    const teacher = await participant(browser, url, 'teacher 2');
    people.push(teacher);
    const created = await teacher.page.evaluate(() => window.cc.request({ type: 'create', name: 'Thầy Nam', title: 'Last-N' }, ['created']));
    const code = created.code;
    const invite = await teacher.page.evaluate(() => window.cc.request({ type: 'invite_create' }, ['invite']));
    const schools = [];
    for (let i = 0; i < 4; i++) {
      const p = await participant(browser, url, `school ${i}`);
      people.push(p);
      const j = await p.page.evaluate(([c, t, n]) => window.cc.request({ type: 'join', code: c, name: n, invite: t }, ['joined']),
        [code, invite.invite.token, `THCS ${i}`]);
      p.member = j.member;
      assert.equal((await p.page.evaluate(() => window.cc.publish())).type, 'answer');
      schools.push(p);
    }
    const student = await participant(browser, url, 'student 2');
    people.push(student);
    await student.page.evaluate((c) => window.cc.request({ type: 'join', code: c, name: 'Em Lan' }, ['joined']), code);
    const ids = schools.flatMap((p) => [`${p.member}.camera`, `${p.member}.mic`]);
    await until('student sees the four schools', () => student.page.evaluate(() => window.cc.streams.length), (n) => n === 8);
    await student.page.evaluate((list) => window.cc.subscribe(list), ids);
    const N = 2;
    // Each school speaks 2.5 s, the others silent; record which cameras
    // grew in each 400 ms window, and when the speaker's camera and the
    // speakers list first show it.
    const report = [];
    let prev = null;
    // Warm-up (not measured): a fake microphone's first second after it
    // is first enabled is not representative; all four talk, then all
    // are silent.
    for (const p of schools) await p.page.evaluate(() => window.cc.setMic(true));
    await new Promise((r) => setTimeout(r, 1500));
    for (const p of schools) await p.page.evaluate(() => window.cc.setMic(false));
    await new Promise((r) => setTimeout(r, 1000));
    for (const [i, sp] of [0, 1, 2, 3, 0].entries()) {
      for (const p of schools) await p.page.evaluate((on) => window.cc.setMic(on), p === schools[sp]);
      const t0 = Date.now();
      let listedAt = null, flowingAt = null, maxFlowing = 0;
      const base = await recv(student);
      let win = base, winAt = Date.now();
      while (Date.now() - t0 < 2500) {
        await new Promise((r) => setTimeout(r, 50));
        const now = await recv(student);
        const at = Date.now() - t0;
        // The speaker's camera: its first frame decoded since the turn began
        // (it was not shown in the turn before: N is 2 and it spoke at
        // least two turns ago).
        if (flowingAt === null && (now[`${schools[sp].member}.camera`]?.frames || 0) >
            (base[`${schools[sp].member}.camera`]?.frames || 0)) flowingAt = at;
        const speakers = await student.page.evaluate(() => window.cc.speakers);
        if (listedAt === null && speakers[0] === schools[sp].member) listedAt = at;
        // Cameras flowing, per 400 ms window, in the steady state: windows
        // that begin 1200 ms into the turn and after the speaker's camera
        // came (a window that straddles the switch holds the old camera's
        // last frames and the new one's first; how late the switch comes
        // is checked on its own below).
        if (Date.now() - winAt >= 400) {
          const flowing = schools.filter((p) => (now[`${p.member}.camera`]?.frames || 0) > (win[`${p.member}.camera`]?.frames || 0) + 1);
          const winStart = winAt - t0;
          if (at > 1200 && (flowingAt === null || winStart >= flowingAt)) maxFlowing = Math.max(maxFlowing, flowing.length);
          win = now;
          winAt = Date.now();
        }
      }
      prev = win;
      report.push({ turn: i, speaker: sp, listedAt, flowingAt, maxFlowing });
    }
    console.log('last-N turns:', JSON.stringify(report));
    // The 1 s is the product's promise, measured on the build people run;
    // on the sanitizer build (CC_E2E_SANITIZED, scripts/test.sh), which is
    // here for memory errors and runs the server 2-3x slower, the switch
    // only has to come within the turn.
    const switchMs = process.env.CC_E2E_SANITIZED ? 2500 : 1000;
    for (const r of report) {
      assert.ok(r.maxFlowing <= N, `turn ${r.turn}: ${r.maxFlowing} cameras flowed (N = ${N})`);
      assert.ok(r.listedAt !== null && r.listedAt <= switchMs, `turn ${r.turn}: speaker listed after ${r.listedAt} ms (want <= ${switchMs})`);
      assert.ok(r.flowingAt !== null && r.flowingAt <= switchMs, `turn ${r.turn}: speaker's camera after ${r.flowingAt} ms (want <= ${switchMs})`);
    }
    const stats = await server.stats();
    assert.ok(stats.sfu.held_last_n > 0, 'cameras beyond N were held back');
  });
});
