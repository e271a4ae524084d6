// Limits on what one client can make the server hold: idle TCP sockets and
// idle WebSockets from one address stop at the per-address limit, a slow
// client that never finishes its headers (slowloris) is closed, and through
// all of it a real student, from another address, joins the demo lesson the
// way a person does and watches. The flood comes from other loopback
// addresses (127.0.0.5-7), as from other machines. Every loop is bounded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startServer } from './lib/server.mjs';
import { launch, newPage, joinAsStudent, studentStats } from './lib/lesson.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';

const PER_IP = 40;

// Opens n TCP connections from localAddress; resolves once each is
// connected or failed. Returns the sockets and a count of those the server
// closed within `settleMs`.
async function idleSockets(port, localAddress, n, settleMs) {
  const socks = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => {});
    s.on('close', () => { closed++; });
    socks.push(s);
  }
  await sleep(settleMs);
  return { socks, closed: () => closed };
}

async function idleWebSockets(port, localAddress, n) {
  const out = { open: 0, refused: 0, all: [] };
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { localAddress, handshakeTimeout: 5000 });
    out.all.push(ws);
    ws.on('open', () => { out.open++; resolve(); });
    ws.on('error', () => { out.refused++; resolve(); });
    ws.on('unexpected-response', () => { out.refused++; resolve(); });
  })));
  return out;
}

describe('connection limits', () => {
  it('idle sockets and WebSockets from one address stop at its limit, slowloris is closed, a student still watches', { timeout: 120_000 }, async () => {
    const srv = await startServer('limits', {
      extraArgs: ['--source', 'test-video,test-audio', '--max-connections-per-address', String(PER_IP)],
    });
    const browser = await launch();
    const flood = [];
    try {
      // 1. Idle TCP sockets: PER_IP are held, the rest closed at once.
      const tcp = await idleSockets(srv.httpPort, '127.0.0.5', PER_IP + 30, 1500);
      flood.push(...tcp.socks);
      assert.ok(tcp.closed() >= 30, `at least 30 of ${PER_IP + 30} closed (${tcp.closed()})`);

      // 2. Idle WebSockets from another address: at most PER_IP open.
      const wss = await idleWebSockets(srv.httpPort, '127.0.0.6', PER_IP + 20);
      flood.push(...wss.all);
      assert.ok(wss.open <= PER_IP, `${wss.open} WebSockets open, limit ${PER_IP}`);
      assert.ok(wss.refused >= 20, `${wss.refused} refused`);

      // 3. Slowloris: headers one byte every 2 s; closed by the server.
      const slow = net.connect({ port: srv.httpPort, host: '127.0.0.1', localAddress: '127.0.0.7' });
      slow.on('error', () => {});
      await once(slow, 'connect');
      let slowClosedAt = 0;
      const t0 = Date.now();
      slow.on('close', () => { slowClosedAt = Date.now(); });
      const req = 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
      let i = 0;
      const drip = setInterval(() => { if (!slow.destroyed) slow.write(req[i++ % req.length]); }, 2000);

      // 4. Meanwhile a real student joins the demo from the printed link.
      const link = (await srv.waitStdout(/Student page:\s+(\S+)/, 5000))?.[1];
      assert.ok(link, 'the server printed the student page');
      const { page, context, log } = await newPage(browser, link, { tag: 'student' });
      await joinAsStudent(page, 'Học sinh Hoa');
      const { value: s } = await pollUntil(() => studentStats(page),
        (st) => st.camera && st.camera.framesDecoded > 30, { timeoutMs: 30_000 });
      assert.ok(s.camera && s.camera.framesDecoded > 30,
        `the student decodes video despite the flood (${JSON.stringify(s.camera)}; ${log.slice(-5).join(' | ')})`);

      await pollUntil(async () => slowClosedAt, (v) => v > 0, { timeoutMs: 30_000, intervalMs: 500 });
      clearInterval(drip);
      assert.ok(slowClosedAt > 0 && slowClosedAt - t0 < 30_000, 'the slow client was closed');

      const st = await srv.stats();
      assert.ok(st.http.conn_refused_per_ip >= 50, `refusals counted: ${JSON.stringify(st.http)}`);
      assert.match(srv.stderr(), /refused a connection from 127\.0\.0\.[56]: \d+ open from it, the limit/);
      await context.close();
    } finally {
      for (const f of flood) { try { f.terminate ? f.terminate() : f.destroy(); } catch {} }
      await browser.close();
      await srv.stop();
    }
  });

  it('new connections from one address stop at the rate limit, counted; another address goes on', { timeout: 60_000 }, async () => {
    const srv = await startServer('limits-rate', { extraArgs: ['--connection-rate', '30'] });
    const flood = [];
    try {
      // 45 connections in quick succession from one address: 30 taken,
      // the rest closed at once (each is opened and closed again, so the
      // open-connections limit plays no part).
      let refused = 0;
      for (let i = 0; i < 45; i++) {
        const s = net.connect({ port: srv.httpPort, host: '127.0.0.1', localAddress: '127.0.0.8' });
        s.on('error', () => {});
        flood.push(s);
        await once(s, 'connect').catch(() => {});
        s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
        // A refused connection is closed (or reset) before any answer.
        const data = await Promise.race([
          once(s, 'data').then(([d]) => d.toString(), () => ''),
          once(s, 'close').then(() => '', () => ''),
        ]);
        if (!/^HTTP\/1\.1 200/.test(data)) refused++;
        s.destroy();
      }
      assert.ok(refused >= 15 && refused <= 16, `${refused} of 45 refused (limit 30 a minute)`);
      // Another address is not affected.
      const other = await fetch(`${srv.url}/healthz`);
      assert.equal(other.status, 200);
      const st = await srv.stats();
      assert.ok(st.http.conn_refused_rate >= 15, JSON.stringify(st.http));
      assert.match(srv.stderr(), /refused a connection from 127\.0\.0\.8: more than 30 new ones a minute/);
    } finally {
      for (const f of flood) f.destroy();
      await srv.stop();
    }
  });

  it('2000 idle WebSockets from 20 addresses are held, and a student still joins and watches', { timeout: 120_000 }, async () => {
    const srv = await startServer('limits-2000', { extraArgs: ['--source', 'test-video,test-audio'] });
    const browser = await launch();
    const all = [];
    try {
      // 20 addresses x 100 sockets, opened 100 at a time (each address
      // stays below its per-address and rate limits: a school's tablets).
      let open = 0;
      for (let a = 0; a < 20; a++) {
        const got = await idleWebSockets(srv.httpPort, `127.0.1.${a + 1}`, 100);
        all.push(...got.all);
        open += got.open;
      }
      assert.equal(open, 2000, `${open} of 2000 idle WebSockets open`);
      const st0 = await srv.stats();
      assert.ok(st0.http.conns_open >= 2000, JSON.stringify(st0.http));
      const link = (await srv.waitStdout(/Student page:\s+(\S+)/, 5000))?.[1];
      const { page, context, log } = await newPage(browser, link, { tag: 'student' });
      await joinAsStudent(page, 'Học sinh Minh');
      const { value: s } = await pollUntil(() => studentStats(page),
        (st) => st.camera && st.camera.framesDecoded > 30, { timeoutMs: 30_000 });
      assert.ok(s.camera && s.camera.framesDecoded > 30,
        `the student decodes video beside 2000 idle sockets (${JSON.stringify(s.camera)}; ${log.slice(-5).join(' | ')})`);
      await context.close();
    } finally {
      for (const w of all) { try { w.terminate(); } catch {} }
      await browser.close();
      await srv.stop();
    }
  });
});
