// Who may talk to the server: a page of another site, open in the teacher's
// browser on the classroom computer, must not drive a lesson or start the
// server-side capture; a name that is not the server's (DNS rebinding) is
// refused; the server's own pages keep working. The other site is a real
// HTTP server on another loopback address (127.0.0.2), as a person's browser
// would meet it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer } from './lib/server.mjs';
import { launch, openPage } from './lib/chromium.mjs';
import { parseMetrics, sample } from './lib/prom.mjs';
import { addNetns } from './lib/netns.mjs';

// The hostile page: opens the classroom server's /ws, tries to create a
// lesson and to start capturing, and POSTs to /echo and /whep/demo.
function hostilePage(target) {
  return `<!doctype html><meta charset="utf-8"><title>other site</title><script>
  window.result = { opened: false, closed: false, messages: [], posts: [] };
  const ws = new WebSocket('ws://${target}/ws');
  ws.onopen = () => {
    window.result.opened = true;
    ws.send(JSON.stringify({ type: 'create', id: 'c1', name: 'Mallory', title: 'x' }));
    ws.send(JSON.stringify({ type: 'capture_start', id: 'c2', code: 'demo', sources: 'screen' }));
  };
  ws.onmessage = (e) => window.result.messages.push(e.data);
  ws.onclose = () => { window.result.closed = true; };
  // no-cors: the page cannot read the answer, but the request is sent.
  for (const path of ['/echo', '/whep/demo']) {
    fetch('http://${target}' + path, { method: 'POST', mode: 'no-cors', body: 'v=0\\r\\n' })
      .then(() => window.result.posts.push(path), () => window.result.posts.push(path));
  }
  </script>`;
}

async function serveOn(host, body) {
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  });
  srv.listen(0, host);
  await once(srv, 'listening');
  return srv;
}

// A raw HTTP/1.1 request with a chosen Host header; resolves to the status.
async function rawStatus(port, request) {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(request);
  let data = '';
  sock.on('data', (d) => { data += d.toString('latin1'); });
  await Promise.race([once(sock, 'end'), once(sock, 'close'),
    new Promise((r) => setTimeout(r, 3000))]);
  sock.destroy();
  const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
  return m ? Number(m[1]) : 0;
}

describe('origin and host checks', () => {
  it('a page of another site cannot open /ws, create a lesson, capture, or use /echo and the open demo', { timeout: 60_000 }, async () => {
    const srv = await startServer('security-origin', { extraArgs: ['--demo'] });
    const other = await serveOn('127.0.0.2', hostilePage(`127.0.0.1:${srv.httpPort}`));
    const browser = await launch();
    try {
      const before = await srv.stats();
      const { page, context, log } = await openPage(browser, `http://127.0.0.2:${other.address().port}/`);
      await page.waitForFunction(() => window.result.closed && window.result.posts.length === 2,
        null, { timeout: 15_000 });
      const res = await page.evaluate(() => window.result);
      assert.equal(res.opened, false, `the WebSocket must not open (page log: ${log.join(' | ')})`);
      assert.deepEqual(res.messages, []);
      const after = await srv.stats();
      assert.ok(after.http.ws_origin_refused > before.http.ws_origin_refused, 'the refusal is counted');
      assert.ok(after.http.cross_origin_requests >= before.http.cross_origin_requests + 2,
        'both POSTs are seen as cross-origin');
      assert.equal(after.lessons, before.lessons, 'no lesson was created');
      assert.equal(after.peers, before.peers, 'no transport was opened (echo or demo)');
      assert.match(srv.stderr(), /refused foreign request from 127\.0\.0\.1: Origin 'http:\/\/127\.0\.0\.2:\d+'/);

      // The server's own page on the same browser still gets its socket.
      const own = await context.newPage();
      await own.goto(`${srv.url}/index.html`);
      const opened = await own.evaluate((u) => new Promise((resolve) => {
        const ws = new WebSocket(u);
        ws.onopen = () => { ws.close(); resolve(true); };
        ws.onerror = () => resolve(false);
      }), `ws://127.0.0.1:${srv.httpPort}/ws`);
      assert.equal(opened, true, "the server's own page opens /ws");
      await context.close();
    } finally {
      await browser.close();
      other.close();
      await srv.stop();
    }
  });

  it('a name that is not the server\'s (DNS rebinding) is refused, an address or localhost is not', { timeout: 30_000 }, async () => {
    const srv = await startServer('security-host');
    try {
      const get = (host) => `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
      assert.equal(await rawStatus(srv.httpPort, get(`127.0.0.1:${srv.httpPort}`)), 200);
      assert.equal(await rawStatus(srv.httpPort, get(`localhost:${srv.httpPort}`)), 200);
      assert.equal(await rawStatus(srv.httpPort, get(`attacker.example:${srv.httpPort}`)), 421);
      const upgrade = `GET /ws HTTP/1.1\r\nHost: attacker.example:${srv.httpPort}\r\n` +
        `Origin: http://attacker.example:${srv.httpPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
      assert.notEqual(await rawStatus(srv.httpPort, upgrade), 101, 'no WebSocket for a foreign name');
      const s = await srv.stats();
      assert.ok(s.http.host_refused >= 2, `host refusals counted (${JSON.stringify(s.http)})`);
    } finally {
      await srv.stop();
    }
  });

  it('a POST whose body is chunked (no Content-Length) gets 411 at once, not a wait', { timeout: 30_000 }, async () => {
    const srv = await startServer('security-chunked');
    try {
      const host = `127.0.0.1:${srv.httpPort}`;
      for (const path of ['/api/signin', '/whep/demo']) {
        const t0 = Date.now();
        const status = await rawStatus(srv.httpPort, `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n');
        assert.equal(status, 411, `${path}: 411 Length Required`);
        assert.ok(Date.now() - t0 < 2500, `${path}: answered at once (${Date.now() - t0} ms)`);
      }
      const s = await srv.stats();
      assert.ok(s.http.length_required >= 2, `counted (${JSON.stringify(s.http)})`);
      // A normal POST still works on the same server.
      const ok = await rawStatus(srv.httpPort, `POST /api/signin HTTP/1.1\r\nHost: ${host}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      assert.ok(ok >= 400 && ok < 500 && ok !== 411, `a sized POST is read and answered (${ok})`);
    } finally {
      await srv.stop();
    }
  });
});

// One request over a new WebSocket from localAddress; resolves to the reply.
async function wsRequest(port, localAddress, msg) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { localAddress });
  await once(ws, 'open');
  ws.send(JSON.stringify(msg));
  const [data] = await once(ws, 'message');
  ws.close();
  return JSON.parse(data.toString());
}

describe('wrong codes and tokens', () => {
  it('ten wrong lesson codes from one address, then a clear wait; other addresses go on; WHIP tokens too', { timeout: 60_000 }, async () => {
    const srv = await startServer('security-codes', { extraArgs: ['--demo'] });
    try {
      const join = (addr, code) => wsRequest(srv.httpPort, addr, { type: 'join', id: 'j', code, name: 'Bình' });
      for (let i = 0; i < 10; i++) {
        const r = await join('127.0.0.11', String(100000 + i));
        assert.equal(r.code, 'no_such_lesson', `try ${i + 1}: ${JSON.stringify(r)}`);
      }
      const blocked = await join('127.0.0.11', '123456');
      assert.equal(blocked.code, 'too_many_tries', JSON.stringify(blocked));
      assert.ok(blocked.retry_after >= 1 && blocked.retry_after <= 6, `retry_after ${blocked.retry_after}`);
      // Even the right code waits: the address is what is limited.
      assert.equal((await join('127.0.0.11', 'demo')).code, 'too_many_tries');
      // Another address (another tablet) joins the demo at once.
      assert.equal((await join('127.0.0.12', 'demo')).type, 'joined');

      // WHIP with a wrong token from one address: 401 ten times, then 429.
      // (WHIP: the demo's token-less viewing from this computer does not
      // apply to publishing.)
      const whep = (token) => fetch(`${srv.url}/whip/demo`, {
        method: 'POST', body: 'v=0\r\n',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      });
      // fetch from Node comes from 127.0.0.1: a fresh address for this part.
      for (let i = 0; i < 10; i++) assert.equal((await whep('x'.repeat(43))).status, 401);
      const r = await whep('y'.repeat(43));
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After is sent');
      const st = await srv.stats();
      assert.equal(st.control.wrong_tries, 20);
      assert.equal(st.control.tries_refused, 3);
      assert.match(srv.stderr(), /too many wrong codes or tokens from 127\.0\.0\.11: join refused/);
    } finally {
      await srv.stop();
    }
  });
});

describe('the student page when its network typed too many wrong codes', () => {
  it('says so in the page language, then joins by itself once the wait is over', { timeout: 60_000 }, async () => {
    const { newPage, joinAsStudent } = await import('./lib/lesson.mjs');
    const srv = await startServer('security-wait', { extraArgs: ['--demo'] });
    const browser = await launch();
    try {
      // Another tablet on this network (same address) mistyped ten codes.
      for (let i = 0; i < 10; i++) {
        const r = await wsRequest(srv.httpPort, '127.0.0.1', { type: 'join', id: 'j', code: String(200000 + i), name: 'x' });
        assert.equal(r.code, 'no_such_lesson');
      }
      const link = (await srv.waitStdout(/Student page:\s+(\S+)/, 5000))?.[1];
      const { page, context } = await newPage(browser, link, { locale: 'vi-VN', tag: 'student' });
      // One try comes back every 6 s: loading the page may have taken that
      // long on a busy machine. One more wrong code from this network just
      // before the student types spends it again.
      await wsRequest(srv.httpPort, '127.0.0.1', { type: 'join', id: 'j', code: '299999', name: 'x' });
      await joinAsStudent(page, 'Học sinh Lan');
      await page.waitForFunction(() => window.ccStudent.error === 'too_many_tries', null, { timeout: 10_000 });
      const text = await page.textContent('#overlay-error');
      assert.match(text, /nhập sai mã quá nhiều lần.*sau \d+ giây/, `Vietnamese wait message: ${text}`);
      assert.equal(await page.isVisible('#retry'), true, 'the Retry button is there');
      // One try comes back after 6 s: the page joins without a click.
      await page.waitForFunction(() => window.ccStudent.state === 'joined', null, { timeout: 15_000 });
      await context.close();
    } finally {
      await browser.close();
      await srv.stop();
    }
  });
});

// A signed-in teacher's WebSocket: sign in over /api/signin, carry the
// cookie on the /ws handshake (what the teacher page does).
async function teacherSocket(srv, cookie) {
  const { default: WebSocket } = await import('ws');
  if (!cookie) {
    const acc = await srv.addTeacher();
    const res = await fetch(`${srv.url}/api/signin`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: acc.name, password: acc.password }),
    });
    assert.equal(res.status, 200, 'signed in');
    cookie = (res.headers.get('set-cookie') || '').split(';')[0];
  }
  const ws = new WebSocket(`ws://127.0.0.1:${srv.httpPort}/ws`, { headers: { Cookie: cookie } });
  await once(ws, 'open');
  const pending = new Map();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  let n = 0;
  const request = (msg) => new Promise((resolve) => {
    const id = `r${++n}`;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ ...msg, id }));
  });
  return { ws, request, cookie };
}

describe('WHIP/WHEP tokens', () => {
  it('a token is one lesson\'s and one role\'s, ends with its lesson, and a forged one is refused; each with a log line', { timeout: 60_000 }, async () => {
    const srv = await startServer('security-tokens');
    try {
      // One lesson per socket: two sockets of one signed-in teacher.
      const ta = await teacherSocket(srv);
      const tb = await teacherSocket(srv, ta.cookie);
      const a = await ta.request({ type: 'create', name: 'Cô Lan', title: 'Toán 5A' });
      const b = await tb.request({ type: 'create', name: 'Cô Lan', title: 'Tiếng Việt 5A' });
      assert.equal(a.type, 'created', JSON.stringify(a));
      assert.equal(b.type, 'created', JSON.stringify(b));
      const post = (kind, code, token) => fetch(`${srv.url}/${kind}/${code}`, {
        method: 'POST', body: 'v=0\r\n',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      });
      // The right token gets past the token check (to the SDP, which is bad).
      assert.equal((await post('whep', a.code, a.viewer_token)).status, 400);
      assert.equal((await post('whip', a.code, a.token)).status, 400);
      // Another lesson's token.
      assert.equal((await post('whep', b.code, a.viewer_token)).status, 401);
      assert.equal((await post('whip', b.code, a.token)).status, 401);
      // A viewer's token cannot publish.
      assert.equal((await post('whip', a.code, a.viewer_token)).status, 401);
      // Forged: the right shape, made up.
      assert.equal((await post('whep', a.code, 'Z'.repeat(43))).status, 401);
      // Ended: the lesson's tokens end with it.
      assert.equal((await ta.request({ type: 'end' })).type, 'ok');
      const ended = await post('whep', a.code, a.viewer_token);
      assert.equal(ended.status, 404);
      assert.match(await ended.text(), /ended/);
      ta.ws.close();
      tb.ws.close();
      const log = srv.stderr();
      assert.match(log, /POST \/whep\/\d{6} from 127\.0\.0\.1 refused: wrong token for this lesson and role/);
      assert.match(log, /POST \/whep\/\d{6} from 127\.0\.0\.1 refused: the lesson has ended/);
    } finally {
      await srv.stop();
    }
  });
});

// `quality` reports (a page saying its pictures froze) are a student's or
// a school's, and one connection may send 10 at once, then one a second:
// each report makes every teacher page redraw its member list.
describe('quality reports', () => {
  it('are refused to a teacher, checked, and limited per connection', { timeout: 30_000 }, async () => {
    const srv = await startServer('security-quality');
    try {
      const { default: WebSocket } = await import('ws');
      const teacher = await teacherSocket(srv);
      const created = await teacher.request({ type: 'create', name: 'Cô Lan', title: 'Toán' });
      assert.equal(created.type, 'created', JSON.stringify(created));
      assert.equal((await teacher.request({ type: 'quality', frozen: true })).code, 'forbidden');
      const ws = new WebSocket(`ws://127.0.0.1:${srv.httpPort}/ws`);
      await once(ws, 'open');
      const replies = [];
      ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.id) replies.push(m); });
      const until = async (n) => {
        for (let i = 0; i < 100 && replies.length < n; i++) await new Promise((r) => setTimeout(r, 20));
        return replies.length >= n;
      };
      ws.send(JSON.stringify({ type: 'quality', id: 'q0', frozen: true }));
      assert.ok(await until(1));
      assert.equal(replies[0].code, 'not_joined');
      ws.send(JSON.stringify({ type: 'join', id: 'j', code: created.code, name: 'Lò Thị Hương' }));
      assert.ok(await until(2));
      assert.equal(replies[1].type, 'joined');
      ws.send(JSON.stringify({ type: 'quality', id: 'bad', frozen: 'yes' }));
      assert.ok(await until(3));
      assert.equal(replies[2].code, 'bad_request');
      for (let i = 0; i < 11; i++) ws.send(JSON.stringify({ type: 'quality', id: `q${i + 1}`, frozen: i % 2 === 0 }));
      assert.ok(await until(14));
      const got = replies.slice(3).map((m) => (m.type === 'ok' ? 'ok' : m.code));
      // 10 at once (a malformed one never got that far), then refused.
      assert.deepEqual(got, [...Array(10).fill('ok'), 'quality_too_fast'], JSON.stringify(got));
      const st = await srv.stats();
      assert.equal(st.control.quality_too_fast, 1);
      assert.match(srv.stderr(), /sends quality reports too fast/);
      ws.close();
      teacher.ws.close();
    } finally {
      await srv.stop();
    }
  });
});

// GET /metrics from another computer. classcast serves it to this computer
// itself (any 127.0.0.0/8 or ::1 peer: 127.0.0.2 is this computer too, so
// a second loopback address proves nothing) and otherwise only to a
// signed-in teacher. Another computer for real: two network namespaces
// this test makes, joined by a veth pair (as scripts/bench/netns.sh), the
// server bound to its address in one and the client in the other; no
// route leads out, and both are deleted at the end. Needs root. Off
// loopback the server speaks HTTPS with its school CA (docs/https.md):
// the client trusts that CA, read from the server's state directory.
const isRoot = process.getuid && process.getuid() === 0;
const MNS = { srv: `cc-msrv-${process.pid % 100000}`, cli: `cc-mcli-${process.pid % 100000}` };
const M_SRV = '10.234.0.1';
const M_CLI = '10.234.0.2';

function ipc(...args) { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }); }

function metricsNamespaces() {
  for (const ns of Object.values(MNS)) addNetns(ns); // IPv4 only (lib/netns.mjs)
  const [a, b] = [`ccm${process.pid % 100000}a`, `ccm${process.pid % 100000}b`];
  ipc('link', 'add', a, 'netns', MNS.cli, 'type', 'veth', 'peer', 'name', b, 'netns', MNS.srv);
  ipc('-n', MNS.cli, 'addr', 'add', `${M_CLI}/24`, 'dev', a);
  ipc('-n', MNS.srv, 'addr', 'add', `${M_SRV}/24`, 'dev', b);
  for (const [ns, dev] of [[MNS.cli, a], [MNS.srv, b]]) {
    ipc('-n', ns, 'link', 'set', dev, 'up');
    ipc('-n', ns, 'link', 'set', 'lo', 'up');
  }
}

function dropMetricsNamespaces() {
  for (const ns of Object.values(MNS)) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\s+/).filter(Boolean);
      for (const p of pids) { try { process.kill(Number(p), 'SIGKILL'); } catch (_) { /* gone */ } }
    } catch (_) { /* no such namespace */ }
    try { ipc('netns', 'del', ns); } catch (_) { /* not there */ }
  }
}

// One HTTP(S) request made from inside a namespace by a small node
// program: {status, headers, body}. opts: {method, headers, body, ca}.
const NS_REQ = `
const [url, opts] = [process.argv[1], JSON.parse(process.argv[2])];
const u = new URL(url);
const headers = { ...(opts.headers || {}) };
if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
const req = require(u.protocol === 'https:' ? 'https' : 'http').request(u, { method: opts.method || 'GET',
  timeout: 5000, ca: opts.ca, headers }, (res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, headers: res.headers,
    body: Buffer.concat(chunks).toString('utf8') })));
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => console.log(JSON.stringify({ error: e.code || e.message })));
if (opts.body) req.write(opts.body);
req.end();`;

async function nsRequest(ns, url, opts = {}) {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, process.execPath, '-e', NS_REQ, url,
    JSON.stringify(opts)], { timeout: 15_000 });
  return JSON.parse(stdout);
}

describe('GET /metrics from another computer', { skip: !isRoot && 'needs root (ip netns)' }, () => {
  it('is refused without a teacher session and served with one (and refused again after sign-out)', { timeout: 45_000 }, async () => {
    dropMetricsNamespaces(); // a run killed earlier
    metricsNamespaces();
    let srv = null;
    try {
      srv = await startServer('security-metrics', { netns: MNS.srv, bind: M_SRV, httpPort: 8080, udpPort: 50000,
        extraArgs: ['--https-port', '8443'] });
      const ca = readFileSync(path.join(srv.stateDir, 'ca.crt'), 'utf8');
      const base = `https://${M_SRV}:8443`;
      const nsHttp = (ns, url, opts = {}) => nsRequest(ns, url, { ...opts, ca });
      const plain = await nsRequest(MNS.cli, `http://${M_SRV}:8080/metrics`);
      assert.equal(plain.status, 301, 'plain HTTP from another computer goes to HTTPS first');
      const anon = await nsHttp(MNS.cli, `${base}/metrics`);
      assert.equal(anon.status, 403, JSON.stringify(anon));
      assert.match(anon.body, /signed-in teacher/);
      const forged = await nsHttp(MNS.cli, `${base}/metrics`, { headers: { cookie: `cc_session=${'A'.repeat(43)}` } });
      assert.equal(forged.status, 403, 'a made-up session is no session');

      const acc = await srv.addTeacher();
      const signin = await nsHttp(MNS.cli, `${base}/api/signin`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: acc.name, password: acc.password }),
      });
      assert.equal(signin.status, 200, JSON.stringify(signin));
      const cookie = String(signin.headers['set-cookie']).split(';')[0];
      assert.match(cookie, /^cc_session=[A-Za-z0-9_-]{43}$/);
      const ok = await nsHttp(MNS.cli, `${base}/metrics`, { headers: { cookie } });
      assert.equal(ok.status, 200, JSON.stringify(ok).slice(0, 300));
      assert.match(ok.headers['content-type'], /^text\/plain; version=0\.0\.4/);
      const samples = await parseMetrics(ok.body);
      assert.equal(sample(samples, 'classcast_lessons'), 0);
      assert.ok(sample(samples, 'classcast_http_conns_open') >= 1);
      // The two refusals above were counted (the same counter as /ws's).
      assert.equal(sample(samples, 'classcast_control_not_signed_in_total'), 2);
      assert.ok(sample(samples, 'classcast_control_signins_total') === 1);

      const out = await nsHttp(MNS.cli, `${base}/api/signout`, { method: 'POST', headers: { cookie }, body: '' });
      assert.equal(out.status, 200);
      const after = await nsHttp(MNS.cli, `${base}/metrics`, { headers: { cookie } });
      assert.equal(after.status, 403, 'signed out: refused again');
      assert.match(srv.stderr(), new RegExp(`GET /metrics from ${M_CLI.replace(/\./g, '\\.')} refused: not on this computer and not signed in`));
    } finally {
      try { if (srv) await srv.stop(); } finally { dropMetricsNamespaces(); }
    }
  });
});
