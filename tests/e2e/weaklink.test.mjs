// Per-viewer adaptation to a weak link, end to end: classcast publishes its
// own test camera (libvpx, three temporal layers) into the demo lesson; two
// students watch in headless Chromium. One has a clean link. The other's
// media goes through a lossy UDP relay on 127.0.0.1 made by this test (it
// drops a quarter of the RTP the server sends that student, seeded; STUN,
// DTLS and RTCP pass): the page's copy of the server's answer names the
// relay's port instead of the server's (an init script in that page only;
// the pages themselves are unchanged). The student's receiver reports and
// NACKs then tell the SFU its link is weak, and the SFU must send it fewer
// temporal layers (sfu.layer_down in /stats; fewer frames a second than
// the clean student) while both keep decoding, and that student's page
// says its Wi-Fi is weak. When the loss stops, the SFU
// climbs back (sfu.layer_up, 4 s of clean reports a layer) to full rate.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, artifactPath } from './lib/server.mjs';
import { launch, newPage, studentStats, studentLink, joinAsStudent, signInTeacher } from './lib/lesson.mjs';
import { lossyRelay, viaRelay } from './lib/relay.mjs';
import { sleep, pollUntil } from './lib/webrtc.mjs';

// A student opens `url` (the demo link, or the link a teacher page shows),
// types a name and presses Join; with relayPort, its media goes through
// the relay.
async function watch(browser, url, srv, tag, log, relayPort) {
  const r = await newPage(browser, null, { log, tag });
  if (relayPort) await viaRelay(r.page, srv.udpPort, relayPort);
  await r.page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  await joinAsStudent(r.page, `Học sinh ${tag}`);
  return r;
}

describe('weak link: fewer temporal layers for the student who loses packets', { timeout: 220_000 }, () => {
  let browser;
  const log = [];
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  it('the lossy student gets fewer layers than the clean one; both decode; full rate once the loss stops', { timeout: 100_000 }, async () => {
    // One encoding: this is about temporal layers (with simulcast the
    // lossy student would get a smaller encoding instead: the next test).
    const srv = await startServer('weaklink', { extraArgs: ['--source', 'test-video,test-audio', '--video-size', '640x360', '--no-simulcast'] });
    const relay = await lossyRelay(srv.udpPort, 0.25, 7);
    try {
      const demo = `${srv.url}/student.html?code=demo`;
      const a = await watch(browser, demo, srv, 'good', log);
      const b = await watch(browser, demo, srv, 'weak', log, relay.port);
      const both = async () => ({ good: await studentStats(a.page), weak: await studentStats(b.page) });
      const { ok: decoding } = await pollUntil(both,
        (s) => s.good.camera?.framesDecoded > 30 && s.weak.camera?.framesDecoded > 5, { timeoutMs: 30_000 });
      assert.ok(decoding, 'both students decode');
      const { ok: adapted, value: sfu } = await pollUntil(async () => (await srv.stats()).sfu,
        (x) => x.layer_down >= 2, { timeoutMs: 20_000 });
      console.log('sfu:', JSON.stringify({ layer_down: sfu.layer_down, layer_up: sfu.layer_up }),
        'relay:', JSON.stringify(relay.counts));
      assert.ok(adapted, 'the SFU stepped the weak student down two layers');
      // The weak student is told, in plain words; the clean one is not.
      const notice = await pollUntil(() => b.page.evaluate(() => {
        const el = document.getElementById('link-notice');
        return { shown: !el.hidden, text: el.textContent };
      }), (x) => x.shown, { timeoutMs: 5000, intervalMs: 200 });
      assert.ok(notice.ok, 'the weak student sees the weak Wi-Fi notice');
      assert.match(notice.value.text, /Wi-Fi is weak/);
      assert.equal(await a.page.evaluate(() => document.getElementById('link-notice').hidden), true);
      // Frame rates over 4 s, after the adaptation.
      const s0 = await both();
      await sleep(4000);
      const s1 = await both();
      const fps = (k) => (s1[k].camera.framesDecoded - s0[k].camera.framesDecoded) / 4;
      console.log('frames/s decoded: good', fps('good').toFixed(1), 'weak', fps('weak').toFixed(1));
      assert.ok(fps('good') > 20, `the clean student decodes at full rate (${fps('good')})`);
      assert.ok(fps('weak') > 2, `the weak student still decodes (${fps('weak')})`);
      assert.ok(fps('weak') < fps('good') * 0.6, 'the weak student gets fewer layers');
      await b.page.screenshot({ path: artifactPath('student-weak-link.png') });
      // The Wi-Fi clears up: back to all three layers.
      relay.ctl.loss = 0;
      const { ok: climbed, value: sfu2 } = await pollUntil(async () => (await srv.stats()).sfu,
        (x) => x.layer_up >= 2, { timeoutMs: 25_000 });
      assert.ok(climbed, `the SFU climbed back two layers (${JSON.stringify(sfu2)})`);
      const s2 = await both();
      await sleep(3000);
      const s3 = await both();
      const fpsWeak = (s3.weak.camera.framesDecoded - s2.weak.camera.framesDecoded) / 3;
      console.log('frames/s decoded by the formerly weak student, link clean again:', fpsWeak.toFixed(1));
      assert.ok(fpsWeak > 20, `full rate again (${fpsWeak})`);
      assert.equal(await b.page.evaluate(() => document.getElementById('link-notice').hidden), true,
        'the notice goes away once the link is good again');
      await a.context.close();
      await b.context.close();
    } catch (e) {
      console.log(log.slice(-30).join('\n'));
      throw e;
    } finally {
      relay.close();
      await srv.stop();
    }
  });

  // Simulcast (on by default): the media core sends the camera at full, half and
  // quarter size (libvpx multi-resolution). The clean student gets the
  // full size; the one behind the lossy relay, whose estimate the loss
  // pulls down, a smaller encoding as one stream its decoder follows.
  it('simulcast from the media core: the lossy student gets a smaller camera encoding, the clean one the full size', { timeout: 80_000 }, async () => {
    const srv = await startServer('weaklink-simulcast', { extraArgs: ['--source', 'test-video,test-audio', '--video-size', '640x360'] });
    const relay = await lossyRelay(srv.udpPort, 0.25, 13);
    try {
      const demo = `${srv.url}/student.html?code=demo`;
      const a = await watch(browser, demo, srv, 'good', log);
      const b = await watch(browser, demo, srv, 'weak', log, relay.port);
      const both = async () => ({ good: await studentStats(a.page), weak: await studentStats(b.page) });
      const { ok: sizes, value: s } = await pollUntil(both,
        (x) => x.good.camera?.frameWidth === 640 && x.weak.camera?.frameWidth > 0 && x.weak.camera.frameWidth < 640,
        { timeoutMs: 30_000 });
      console.log('camera sizes: good', s.good.camera?.frameWidth, 'x', s.good.camera?.frameHeight,
        ', weak', s.weak.camera?.frameWidth, 'x', s.weak.camera?.frameHeight, 'relay:', JSON.stringify(relay.counts));
      assert.ok(sizes, `the clean student decodes 640x360 and the lossy one a smaller encoding: ${JSON.stringify({ good: s.good.camera, weak: s.weak.camera })}`);
      assert.equal(s.good.camera.frameHeight, 360);
      assert.equal(s.weak.camera.frameHeight * 640, s.weak.camera.frameWidth * 360, 'the same picture, smaller');
      // The smaller encoding keeps playing: frames decoded over 3 s.
      const w0 = await studentStats(b.page);
      await sleep(3000);
      const w1 = await studentStats(b.page);
      const fps = (w1.camera.framesDecoded - w0.camera.framesDecoded) / 3;
      console.log('frames/s decoded by the lossy student on the smaller encoding:', fps.toFixed(1));
      assert.ok(fps > 2, `the lossy student keeps decoding (${fps})`);
      const stats = await srv.stats();
      assert.equal(stats.sfu.publishers, 2);
      await a.context.close();
      await b.context.close();
    } catch (e) {
      console.log(log.slice(-30).join('\n'));
      throw e;
    } finally {
      relay.close();
      await srv.stop();
    }
  });

  it('a teacher page\'s camera (L1T3) is thinned for a student behind the lossy relay; the teacher sees "weak Wi-Fi"', { timeout: 90_000 }, async () => {
    const srv = await startServer('weaklink-teacher', { extraArgs: ['--no-simulcast'] });
    const relay = await lossyRelay(srv.udpPort, 0.25, 11);
    try {
      const teacher = await newPage(browser, `${srv.url}/teacher.html`, { log, tag: 'teacher', viewport: { width: 1280, height: 900 } });
      const tp = teacher.page;
      await signInTeacher(tp, srv);
      await tp.fill('#lesson-title', 'Tiếng Việt lớp 3');
      await tp.fill('#teacher-name', 'Thầy Minh');
      await tp.click('#create-btn');
      await tp.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });
      await tp.click('#start');
      await tp.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 10_000 });
      const b = await watch(browser, await studentLink(tp), srv, 'Lan', log, relay.port);
      const { ok: decoding } = await pollUntil(() => studentStats(b.page), (s) => s.camera?.framesDecoded > 5,
        { timeoutMs: 30_000 });
      assert.ok(decoding, 'the student behind the relay decodes the teacher\'s camera');
      const { ok: adapted, value: sfu } = await pollUntil(async () => (await srv.stats()).sfu,
        (x) => x.layer_down >= 1 && x.rtp_in_layered > 0, { timeoutMs: 20_000 });
      console.log('sfu:', JSON.stringify({ layer_down: sfu.layer_down, rtp_in_layered: sfu.rtp_in_layered }));
      assert.ok(adapted, 'the browser\'s layered camera was thinned for the weak student');
      const label = await pollUntil(() => tp.locator('#members').innerText(), (t) => /Học sinh Lan\s+Watching · weak Wi-Fi/.test(t),
        { timeoutMs: 10_000, intervalMs: 250 });
      assert.ok(label.ok, `the teacher's list says the link is weak: ${JSON.stringify(label.value)}`);
      const f0 = (await studentStats(b.page)).camera.framesDecoded;
      await sleep(2000);
      const f1 = (await studentStats(b.page)).camera.framesDecoded;
      console.log('frames/s decoded behind the relay:', ((f1 - f0) / 2).toFixed(1));
      assert.ok(f1 > f0, 'it keeps decoding');
      await tp.screenshot({ path: artifactPath('teacher-weak-student.png') });
      await b.context.close();
      await teacher.context.close();
    } catch (e) {
      console.log(log.slice(-30).join('\n'));
      throw e;
    } finally {
      relay.close();
      await srv.stop();
    }
  });
});
