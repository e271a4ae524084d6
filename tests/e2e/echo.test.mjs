// End to end: headless Chromium sends its fake camera and microphone to a real
// classcast server through web/echo.html and must get both back (DTLS-SRTP
// with AES-GCM); hostile datagrams thrown at the server's UDP port meanwhile
// must be dropped and counted without disturbing the session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';

import { launch, openPage } from './lib/chromium.mjs';
import { startServer, artifactPath } from './lib/server.mjs';
import { echoStats, pollUntil, sleep } from './lib/webrtc.mjs';
import { assertLayout } from './lib/layout.mjs';
import {
  prng, stunBindingBadIntegrity, stunTruncated, dtlsGarbage, rtpLooking, iceUfrag,
} from './lib/packets.mjs';

const NAME = 'echo';
const SEED = 0xc1a55ca5;
// getStats() srtpCipher names the DTLS-SRTP protection profile. Chromium 156
// reports IANA profile names (seen: "SRTP_AES128_CM_HMAC_SHA1_80"), so GCM is
// "SRTP_AEAD_AES_128_GCM"; older WebRTC builds said "AEAD_AES_128_GCM".
// Both mean the same profile (RFC 7714 14.2); anything else fails.
const GCM_CIPHERS = ['SRTP_AEAD_AES_128_GCM', 'AEAD_AES_128_GCM'];

const note = (...a) => console.log(...a);
const fmt = (v) => JSON.stringify(v);

describe('echo', { timeout: 150_000 }, () => {
  let server;
  let browser;
  let page;
  const pageLog = [];
  let sessionUp = false;

  before(async () => {
    server = await startServer(NAME);
    note(`server ${server.url} udp ${server.udpPort}`);
    browser = await launch();
    ({ page } = await openPage(browser, `${server.url}/echo.html?autostart=1`, pageLog));
  });

  after(async () => {
    // Best effort: the last test checks the stop itself; this only cleans up
    // after an earlier failure.
    try { writeFileSync(artifactPath(`${NAME}.page.log`), pageLog.join('\n') + '\n'); } catch (_) { /* ignore */ }
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop().catch((e) => note(`stop after failure: ${e.message.split('\n')[0]}`));
  });

  it('media sent to the server comes back (VP8 + Opus over DTLS-SRTP GCM)', { timeout: 60_000 }, async () => {
    const r = await pollUntil(() => echoStats(page), (s) => (
      s.state === 'failed'
      || (s.video && s.video.framesDecoded >= 60 && s.video.frameWidth > 0
        && s.audio && s.audio.packetsReceived > 50
        && s.transport && s.transport.dtlsState === 'connected')
    ), { timeoutMs: 45_000, intervalMs: 500 });
    const s = r.value;
    note(`stats after ${r.polls} polls: ${fmt(s)}`);
    if (s.transport) note(`srtpCipher reported by Chromium: ${fmt(s.transport.srtpCipher)}`);
    const ctx = () => `\nstats: ${fmt(s)}\npage log:\n${pageLog.slice(-30).join('\n')}`;
    assert.notEqual(s.state, 'failed', `page reports failure: ${s.error}${ctx()}`);
    assert.ok(r.ok, `echo did not come up within 45 s${ctx()}`);
    assert.equal(s.state, 'connected', `page status${ctx()}`);
    assert.ok(s.video.framesDecoded >= 60, `video framesDecoded${ctx()}`);
    assert.ok(s.video.frameWidth > 0, `video frameWidth${ctx()}`);
    assert.ok(s.audio.packetsReceived > 50, `audio packetsReceived${ctx()}`);
    assert.equal(s.transport.dtlsState, 'connected', `dtlsState${ctx()}`);
    assert.ok(GCM_CIPHERS.includes(s.transport.srtpCipher), `srtpCipher is not AES-128-GCM${ctx()}`);
    assert.ok(server.alive(), 'server still running');
    sessionUp = true;
  });

  it('hostile datagrams are dropped and counted; the session keeps going', { timeout: 60_000 }, async () => {
    assert.ok(sessionUp, 'echo session did not come up in the previous test');
    const sdp = await page.evaluate(() => window.ccEcho.pc.remoteDescription?.sdp);
    const ufrag = iceUfrag(sdp);
    assert.ok(ufrag, `no a=ice-ufrag in the server's answer:\n${sdp}`);

    const rng = prng(SEED);
    const groups = {
      random: [], badIntegrity: [], dtls: [], rtp: [], oneByte: [], big: [], truncStun: [],
    };
    for (let i = 0; i < 200; i++) groups.random.push(rng.bytes(rng.int(1, 1500)));
    for (let i = 0; i < 20; i++) groups.badIntegrity.push(stunBindingBadIntegrity(rng, `${ufrag}:x`));
    for (let i = 0; i < 20; i++) groups.dtls.push(dtlsGarbage(rng));
    for (let i = 0; i < 20; i++) groups.rtp.push(rtpLooking(rng));
    for (let i = 0; i < 10; i++) groups.oneByte.push(rng.bytes(1));
    for (let i = 0; i < 5; i++) groups.big.push(rng.bytes(65000));
    for (let i = 0; i < 10; i++) groups.truncStun.push(stunTruncated(rng));
    const total = Object.values(groups).reduce((n, g) => n + g.length, 0);

    const before = await server.stats();
    note(`/stats before: ${fmt(before)}`);

    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const send = (buf) => new Promise((resolve, reject) => {
      sock.send(buf, server.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve()));
    });
    let sent = 0;
    const t0 = Date.now();
    try {
      // Paced so the server's socket buffer (shared with live media) never
      // overflows: a datagram lost in the kernel is not the server's drop.
      for (const [kind, list] of Object.entries(groups)) {
        for (const [i, buf] of list.entries()) {
          await send(buf);
          sent++;
          if (kind === 'big') await sleep(25);
          else if (i % 10 === 9) await sleep(5);
        }
        await sleep(20);
      }
    } finally {
      sock.close();
    }
    note(`sent ${sent} datagrams in ${Date.now() - t0} ms: ${fmt(Object.fromEntries(
      Object.entries(groups).map(([k, g]) => [k, g.length])))}`);
    assert.equal(sent, total);

    // Let the worker drain its socket: poll until every datagram is counted
    // (bounded to 5 s).
    const r = await pollUntil(() => server.stats(),
      (a) => a.counters.drops_total - before.counters.drops_total >= total,
      { timeoutMs: 5000, intervalMs: 250 });
    const afterStats = r.value;
    note(`/stats after: ${fmt(afterStats)}`);
    const d = {};
    for (const k of Object.keys(afterStats.counters)) {
      d[k] = afterStats.counters[k] - (before.counters[k] ?? 0);
    }
    note(`counter deltas: ${fmt(d)}`);

    assert.ok(server.alive(), `server died during the hostile burst\n${server.stderr().slice(-3000)}`);
    assert.ok(d.drops_total >= total, `drops_total grew by ${d.drops_total}, sent ${total}`);
    assert.ok(d.udp_rx_truncated >= groups.big.length,
      `udp_rx_truncated grew by ${d.udp_rx_truncated}, sent ${groups.big.length} datagrams of 65000 bytes`);
    assert.ok(d.stun_bad_integrity > 0, 'stun_bad_integrity did not grow');
    assert.ok(d.dtls_no_peer > 0, 'dtls_no_peer did not grow');
    assert.ok(d.rtp_no_peer > 0, 'rtp_no_peer did not grow');
    assert.equal(afterStats.peers, before.peers, 'peer count changed');

    // The session must not have noticed.
    const s0 = await echoStats(page);
    await sleep(3000);
    const s1 = await echoStats(page);
    note(`framesDecoded ${s0.video?.framesDecoded} -> ${s1.video?.framesDecoded} over 3 s`);
    assert.ok(server.alive(), 'server still running');
    assert.equal(s1.state, 'connected', `page state after burst: ${s1.state} ${s1.error}`);
    assert.ok(s1.video.framesDecoded - s0.video.framesDecoded >= 30,
      `video stalled after the burst: ${fmt(s0.video)} -> ${fmt(s1.video)}`);
    assert.ok(s1.audio.packetsReceived > s0.audio.packetsReceived, 'audio stalled after the burst');
  });

  it('the echo page while connected: both pictures shown side by side, status and controls readable, in English', { timeout: 20_000 }, async () => {
    const l = await assertLayout(page, {
      lang: 'en',
      shown: ['h1', '#stop', '#status', '#local', '#remote', '#sound'],
      within: [['#sound', '.videos figure:nth-child(2)']],
      hidden: ['#start', '#error'],
      apart: ['h1', '#stop', '#status', '#local', '#remote'],
      texts: {
        h1: 'Connection test',
        '#status-text': 'Connected. Picture and sound are coming back.',
        '#stop': 'Stop',
        '#sound-label': 'Sound on',
      },
    });
    const [a, b] = [l.items['#local'], l.items['#remote']];
    assert.ok(b.x >= a.x + a.width && Math.abs(b.y - a.y) < 2, `side by side at 1024 px: ${fmt({ a, b })}`);
    // Both tiles show a moving picture, not a black box.
    const vids = await page.evaluate(() => ['local', 'remote'].map((id) => {
      const v = document.getElementById(id);
      return { id, w: v.videoWidth, h: v.videoHeight, paused: v.paused, t: v.currentTime };
    }));
    for (const v of vids) assert.ok(v.w > 0 && v.h > 0 && !v.paused && v.t > 0, `#${v.id} plays a picture: ${fmt(v)}`);
    // A picture for people to look at (not checked further).
    await page.screenshot({ path: artifactPath(`${NAME}.png`), fullPage: true, timeout: 15_000 });
  });

  it('server stops cleanly on SIGTERM (no crash, no sanitizer report)', { timeout: 30_000 }, async () => {
    await browser.close();
    browser = null;
    const srv = server;
    server = null;
    await srv.stop();
  });
});
