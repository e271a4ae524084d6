// Simulcast from `classcast-publish --whip` (RFC 8853 with RFC 8851 rids):
// the tool publishes a test camera (videotestsrc, 640x360) into the demo
// lesson of a running `classcast serve` as three libvpx encodings (640x360,
// 320x180, 160x90; rids q, h, f, each on its own SSRC tagged with the mid
// and rid header extensions). A clean student in headless Chromium decodes
// the full size, the SFU bound three encodings of that publisher by their
// rids (sfu.sim_bound in /stats, classcast_sfu_sim_bound_total in
// /metrics), and a student behind a lossy UDP relay (a quarter of the RTP
// to it dropped, lib/relay.mjs) gets a smaller one.
// Then the fallbacks: a server started with --no-simulcast answers without
// a=simulcast and the tool sends one encoding (no SSRC the SFU does not
// know); `--simulcast 1` offers none.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, REPO } from './lib/server.mjs';
import { launch, newPage, studentStats, joinAsStudent } from './lib/lesson.mjs';
import { lossyRelay, viaRelay } from './lib/relay.mjs';
import { sleep, pollUntil } from './lib/webrtc.mjs';
import { parseMetrics, sample } from './lib/prom.mjs';

// 43 characters of base64url: the shape of a lesson token.
const TOKEN = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 29 + 5) & 255)).toString('base64url');

// The WHIP client is a program of its own, built beside the server.
function publishBin() {
  const server = process.env.CC_BIN ? path.resolve(REPO, process.env.CC_BIN) : path.join(REPO, 'build', 'classcast');
  return path.join(path.dirname(server), 'classcast-publish');
}

// Starts classcast-publish into the demo lesson of srv; out() is what it
// printed so far, stop() ends it with SIGINT (its summary lines).
function publish(srv, extra = []) {
  const args = ['--whip', `${srv.url}/whip/demo`, '--token', TOKEN,
    '--source', 'test-video,test-audio', '--video-size', '640x360', '--duration', '60', ...extra];
  const proc = spawn(publishBin(), args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout.on('data', (d) => { text += d.toString(); });
  proc.stderr.on('data', (d) => { text += d.toString(); });
  return {
    proc,
    out: () => text,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGINT');
        await new Promise((r) => { const t = setTimeout(r, 8000); proc.on('exit', () => { clearTimeout(t); r(); }); });
      }
      return text;
    },
  };
}

// A student opens the demo link, types a name and presses Join; with
// relayPort, its media goes through the relay.
async function watch(browser, srv, tag, log, relayPort) {
  const r = await newPage(browser, null, { log, tag });
  if (relayPort) await viaRelay(r.page, srv.udpPort, relayPort);
  await r.page.goto(`${srv.url}/student.html?code=demo`, { waitUntil: 'load', timeout: 15_000 });
  await joinAsStudent(r.page, `Học sinh ${tag}`);
  return r;
}

describe('classcast-publish --whip --simulcast', { timeout: 240_000 }, () => {
  let browser;
  const log = [];
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  it('three encodings: the SFU binds all three, a clean student decodes 640x360, a lossy one a smaller encoding', { timeout: 100_000 }, async () => {
    const srv = await startServer('publish-simulcast', { extraArgs: ['--demo-token', TOKEN] });
    const relay = await lossyRelay(srv.udpPort, 0.25, 17);
    const pub = publish(srv, ['--simulcast', '3']);
    let out = '';
    try {
      const good = await watch(browser, srv, 'good', log);
      const { ok, value: st } = await pollUntil(() => studentStats(good.page),
        (v) => v.camera?.frameWidth === 640 && v.camera?.framesDecoded > 30, { timeoutMs: 30_000 });
      console.log('clean student:', JSON.stringify(st?.camera));
      assert.ok(ok, `the clean student decodes the 640x360 encoding: ${JSON.stringify(st?.camera)}\n${pub.out()}`);
      assert.equal(st.camera.frameHeight, 360);
      assert.match(pub.out(), /simulcast: 3 encodings \(q;h;f\) of 640x360/);
      // The SFU bound three SSRCs of the publisher by their rids.
      const stats = await srv.stats();
      console.log('sfu:', JSON.stringify({ sim_bound: stats.sfu.sim_bound, publishers: stats.sfu.publishers,
        drop_unknown_ssrc: stats.sfu.drop_unknown_ssrc, sim_switches: stats.sfu.sim_switches }));
      assert.equal(stats.sfu.sim_bound, 3, 'three encodings bound by rid');
      assert.equal(stats.sfu.publishers, 1);
      const samples = await parseMetrics(await (await fetch(`${srv.url}/metrics`)).text());
      assert.equal(sample(samples, 'classcast_sfu_sim_bound_total'), 3);

      // A student behind the lossy relay: its estimate falls and the SFU
      // gives it a smaller encoding of the same picture.
      const weak = await watch(browser, srv, 'weak', log, relay.port);
      const { ok: smaller, value: w } = await pollUntil(() => studentStats(weak.page),
        (v) => v.camera?.frameWidth > 0 && v.camera.frameWidth < 640, { timeoutMs: 30_000 });
      console.log('lossy student:', JSON.stringify(w?.camera), 'relay:', JSON.stringify(relay.counts));
      assert.ok(smaller, `the lossy student gets a smaller encoding: ${JSON.stringify(w?.camera)}`);
      assert.equal(w.camera.frameHeight * 640, w.camera.frameWidth * 360, 'the same picture, smaller');
      const w0 = await studentStats(weak.page);
      await sleep(3000);
      const w1 = await studentStats(weak.page);
      const fps = (w1.camera.framesDecoded - w0.camera.framesDecoded) / 3;
      console.log('frames/s decoded by the lossy student:', fps.toFixed(1));
      assert.ok(fps > 2, `the lossy student keeps decoding (${fps})`);
      // The clean one still has the full size.
      assert.equal((await studentStats(good.page)).camera.frameWidth, 640);
      await good.context.close();
      await weak.context.close();
    } catch (e) {
      console.log(log.slice(-30).join('\n'));
      console.log('publish says:', pub.out());
      throw e;
    } finally {
      out = await pub.stop();
      relay.close();
      await srv.stop();
    }
    console.log('publish says:', out.trim());
    const per = /video packets per encoding: q (\d+) \(\d+ resent\), h (\d+) \(\d+ resent\), f (\d+) \(\d+ resent\)/.exec(out);
    assert.ok(per, 'the summary counts each encoding');
    assert.ok(per.slice(1).every((n) => Number(n) > 100), `every encoding went out: ${per[0]}`);
  });

  // One encoding end to end: a student decodes the full 640x360, the SFU
  // bound no rid and saw no SSRC it could not place; the publisher's output.
  async function oneEncoding(name, serverArgs, publishArgs, student) {
    const srv = await startServer(name, { extraArgs: ['--demo-token', TOKEN, ...serverArgs] });
    const pub = publish(srv, publishArgs);
    let out = '';
    try {
      const s = await watch(browser, srv, student, log);
      const { ok, value: st } = await pollUntil(() => studentStats(s.page),
        (v) => v.camera?.frameWidth === 640 && v.camera?.framesDecoded > 30 && v.mic?.packetsReceived > 50,
        { timeoutMs: 30_000 });
      assert.ok(ok, `the student decodes 640x360: ${JSON.stringify(st)}\n${pub.out()}`);
      const stats = await srv.stats();
      console.log('sfu:', JSON.stringify({ sim_bound: stats.sfu.sim_bound, drop_unknown_ssrc: stats.sfu.drop_unknown_ssrc }));
      assert.equal(stats.sfu.sim_bound, 0);
      // Nothing on an SSRC the SFU could not place.
      assert.equal(stats.sfu.drop_unknown_ssrc, 0);
      await s.context.close();
    } finally {
      out = await pub.stop();
      await srv.stop();
    }
    assert.match(out, /sent \d+ video and \d+ audio packets/);
    return out;
  }

  it('a server started with --no-simulcast answers one stream: the camera goes out as one encoding', { timeout: 60_000 }, async () => {
    // default: 3 for a 640x360 camera
    const out = await oneEncoding('publish-nosimulcast', ['--no-simulcast'], undefined, 'A');
    assert.match(out, /the answer takes no simulcast: the camera goes out as one encoding/);
    assert.doesNotMatch(out, /per encoding/);
  });

  it('--simulcast 1 offers one encoding', { timeout: 60_000 }, async () => {
    const out = await oneEncoding('publish-simulcast1', [], ['--simulcast', '1'], 'B');
    assert.doesNotMatch(out, /simulcast/);
  });

  it('no page threw', () => {
    const bad = log.filter((l) => l.includes('[pageerror]'));
    assert.deepEqual(bad, []);
  });
});
