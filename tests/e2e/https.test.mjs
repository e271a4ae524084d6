// End to end: HTTPS and WSS with the school CA, across three network
// namespaces this test makes (docs/https.md). Needs root (ip netns).
//
//   server ns   classcast serve --bind 10.233.0.1 (a bridge: the classroom
//               Wi-Fi), school CA made at first start in a fresh state dir
//   teacher ns  10.233.0.2: a node client and a Chromium teacher
//   student ns  10.233.0.3: a Chromium that does not trust the CA, then a
//               Chromium student that does
//
// Chromium trusts the CA the way a person's browser does: through the NSS
// database of its own HOME ($HOME/.pki/nssdb, certutil from libnss3-tools),
// never --ignore-certificate-errors. Measured: the CA files and what the
// server prints; plain HTTP from another computer serves only the CA page
// and /ca.crt (the CA page in both languages, its fingerprint that of the
// file) and redirects everything else to HTTPS (301 GET, 308 POST, ws://
// refused); a browser without the CA refuses the HTTPS page; the teacher
// page is a secure context over HTTPS on another computer, starts a lesson
// over WSS and publishes its fake camera; a student in a third namespace
// decodes it (framesDecoded rising); the server's counters; a restart on
// 0.0.0.0 reuses the CA and keeps plain HTTP from the machine itself.
//
// Every packet stays inside the namespaces (no route out); they are
// deleted at the end, on failure too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

import { startServer, artifactPath } from './lib/server.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './lib/chromium.mjs';
import { studentStats, teacherStats, studentLink, joinAsStudent, signInTeacher } from './lib/lesson.mjs';
import { pollUntil } from './lib/webrtc.mjs';
import { addNetns } from './lib/netns.mjs';

const run = promisify(execFile);
const note = (...a) => console.log(...a);
const fmt = (v) => JSON.stringify(v);

const TAG = `${process.pid % 100000}`;
const NS = { srv: `cc-srv-${TAG}`, teacher: `cc-tch-${TAG}`, student: `cc-stu-${TAG}` };
const SRV = '10.233.0.1';
const TEACHER = '10.233.0.2';
const STUDENT = '10.233.0.3';
const HTTP = 8080;
const HTTPS = 8443;
const UDP = 50000;

const isRoot = process.getuid && process.getuid() === 0;

function ip(...args) { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }); }

// Server <-> bridge <-> teacher and student, one /24, no default route.
function makeNamespaces() {
  for (const ns of Object.values(NS)) addNetns(ns); // IPv4 only (lib/netns.mjs)
  ip('-n', NS.srv, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', NS.srv, 'addr', 'add', `${SRV}/24`, 'dev', 'br0');
  ip('-n', NS.srv, 'link', 'set', 'br0', 'up');
  for (const [ns, addr, name] of [[NS.teacher, TEACHER, 't'], [NS.student, STUDENT, 's']]) {
    ip('link', 'add', `cc${name}${TAG}a`, 'netns', ns, 'type', 'veth', 'peer', 'name', `cc${name}${TAG}b`, 'netns', NS.srv);
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', `cc${name}${TAG}a`);
    ip('-n', ns, 'link', 'set', `cc${name}${TAG}a`, 'up');
    ip('-n', NS.srv, 'link', 'set', `cc${name}${TAG}b`, 'master', 'br0');
    ip('-n', NS.srv, 'link', 'set', `cc${name}${TAG}b`, 'up');
  }
  for (const ns of Object.values(NS)) ip('-n', ns, 'link', 'set', 'lo', 'up');
}

function deleteNamespaces() {
  for (const ns of Object.values(NS)) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\s+/).filter(Boolean);
      for (const p of pids) { try { process.kill(Number(p), 'SIGKILL'); } catch (_) { /* gone */ } }
    } catch (_) { /* no such namespace */ }
    try { ip('netns', 'del', ns); } catch (_) { /* not there */ }
  }
}

// A request made from inside a namespace by a small node program: status,
// headers and body, redirects not followed. opts: {method, body, ca (PEM)}.
const REQ = `
const [url, opts] = [process.argv[1], JSON.parse(process.argv[2])];
const u = new URL(url);
const mod = require(u.protocol === 'https:' ? 'https' : 'http');
const req = mod.request(u, { method: opts.method || 'GET', ca: opts.ca, timeout: 5000,
  headers: opts.body ? { 'content-type': 'application/sdp', 'content-length': Buffer.byteLength(opts.body) } : {} }, (res) => {
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
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', REQ, url, JSON.stringify(opts)],
    { timeout: 15_000 });
  return JSON.parse(stdout);
}

// A WebSocket upgrade from inside a namespace: 'open' or why not.
const WS = `
const WebSocket = require(process.argv[2]);
const w = new WebSocket(process.argv[1], { ca: process.argv[3] || undefined, handshakeTimeout: 5000 });
w.on('open', () => { console.log('open'); w.close(); });
w.on('unexpected-response', (q, r) => { console.log('status ' + r.statusCode); process.exit(0); });
w.on('error', (e) => { console.log('error ' + (e.code || e.message)); });`;

async function nsWebSocket(ns, url, ca = '') {
  const wsMod = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules', 'ws');
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', WS, url, wsMod, ca], { timeout: 15_000 });
  return stdout.trim();
}

// Chromium inside a namespace, with its own HOME (and so its own NSS
// database). trustPem: the CA to import, or null for a browser that
// trusts nothing but the system's defaults.
async function launchIn(ns, home, trustPem) {
  if (trustPem) {
    const db = path.join(home, '.pki', 'nssdb');
    execFileSync('mkdir', ['-p', db]);
    execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
    const pem = path.join(home, 'classcast-ca.pem');
    writeFileSync(pem, trustPem);
    // C,,: a CA trusted to identify servers (TLS), nothing else.
    execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'classcast-ca', '-i', pem]);
  }
  const wrapper = path.join(home, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec "${ns}" "${CHROMIUM_PATH}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return chromium.launch({
    executablePath: wrapper,
    headless: false, // --headless=new is among the args
    args: CHROMIUM_ARGS,
    env: { ...process.env, HOME: home },
    timeout: 30_000,
  });
}

async function newPage(browser, log, tag, locale = 'en-US') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale });
  const page = await context.newPage();
  page.on('console', (m) => log.push(`${tag} [console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`${tag} [pageerror] ${e.message}`));
  page.on('requestfailed', (r) => log.push(`${tag} [requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  return page;
}

describe('HTTPS with the school CA, across network namespaces', { skip: !isRoot && 'needs root (ip netns)', timeout: 90_000 }, () => {
  let server;
  const browsers = [];
  const log = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-https-'));
  const stateDir = path.join(tmp, 'state'); // made by the server
  const srvArgs = ['--https-port', String(HTTPS), '--state-dir', stateDir];
  let caPem;
  let caFingerprint;
  process.on('exit', deleteNamespaces); // a crash of the test itself

  before(() => {
    deleteNamespaces();
    makeNamespaces();
  });

  after(async () => {
    try { writeFileSync(artifactPath('https.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    for (const b of browsers) await b.close().catch(() => {});
    if (server) await server.stop().catch((e) => note(`stop after failure: ${e.message.split('\n')[0]}`));
    deleteNamespaces();
    rmSync(tmp, { recursive: true, force: true });
  });

  const ctx = () => `\npage log:\n${log.slice(-30).join('\n')}`;

  it('first start on a LAN address makes the school CA and a server certificate and prints https links and the CA page', async () => {
    server = await startServer('https', { netns: NS.srv, bind: SRV, httpPort: HTTP, udpPort: UDP, extraArgs: srvArgs });
    assert.match(server.stderr(), /made a new school CA in /);
    assert.match(server.stderr(), /listening http:\/\/10\.233\.0\.1:8080 udp 10\.233\.0\.1:50000 https:\/\/10\.233\.0\.1:8443/);
    caPem = readFileSync(path.join(stateDir, 'ca.crt'), 'utf8');
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(readFileSync(path.join(stateDir, 'server.crt')));
    caFingerprint = ca.fingerprint256;
    assert.ok(ca.ca, 'the CA certificate is a CA');
    assert.match(ca.subject, /CN=classcast school CA \(/);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the server certificate is signed by the CA');
    assert.ok(leaf.checkIP(SRV), `the server certificate names ${SRV}: ${leaf.subjectAltName}`);
    assert.ok(leaf.checkIP('127.0.0.1') && leaf.checkHost('localhost'));
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86400e3;
    assert.ok(days <= 397, `server certificate valid for ${days} days`);
    for (const f of ['ca.key', 'server.key']) assert.equal(statSync(path.join(stateDir, f)).mode & 0o777, 0o600, f);
    const out = await server.waitStdout(/Press Ctrl-C/);
    assert.ok(out, `no links printed:\n${server.stdout()}`);
    const printed = server.stdout();
    note(printed);
    assert.match(printed, /Teacher page: +https:\/\/10\.233\.0\.1:8443\/teacher\.html/);
    assert.match(printed, /Join page: +https:\/\/10\.233\.0\.1:8443\//);
    assert.match(printed, /CA page: +http:\/\/10\.233\.0\.1:8080\/ca\.html/);
    assert.ok(printed.includes(caFingerprint), 'the printed fingerprint is the CA file\'s');
    assert.match(printed, /Certificate Trust Settings/);
    assert.match(printed, /Encryption & credentials > Install a certificate/);
  });

  it('plain HTTP from another computer: the CA page and /ca.crt are served, the rest redirects to HTTPS', async () => {
    const crt = await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/ca.crt`);
    assert.equal(crt.status, 200);
    assert.equal(crt.headers['content-type'], 'application/x-x509-ca-cert');
    assert.equal(crt.body, caPem, '/ca.crt is the CA certificate');
    assert.doesNotMatch(crt.body, /PRIVATE KEY/);
    const info = JSON.parse((await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/ca.json`)).body);
    assert.deepEqual(info, { https_port: HTTPS, name: new X509Certificate(caPem).subject.split('CN=')[1].trim(), fingerprint: caFingerprint });
    for (const p of ['/ca.html', '/js/ca.js', '/i18n.js', '/style.css']) {
      const r = await nsRequest(NS.teacher, `http://${SRV}:${HTTP}${p}`);
      assert.equal(r.status, 200, `${p} over plain HTTP`);
    }
    const t = await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/teacher.html`);
    assert.equal(t.status, 301);
    assert.equal(t.headers.location, `https://${SRV}:${HTTPS}/teacher.html`);
    assert.equal(t.headers['cache-control'], 'no-store');
    const q = await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/student.html?code=demo&name=L%C3%B2%20An`);
    assert.equal(q.headers.location, `https://${SRV}:${HTTPS}/student.html?code=demo&name=L%C3%B2%20An`);
    const post = await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/whep/demo`, { method: 'POST', body: 'v=0\r\n' });
    assert.equal(post.status, 308, 'POST keeps its method: 308');
    assert.equal(post.headers.location, `https://${SRV}:${HTTPS}/whep/demo`);
    assert.equal((await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/stats`)).status, 301);
    assert.match(await nsWebSocket(NS.teacher, `ws://${SRV}:${HTTP}/ws`), /^error|^status/, 'plain ws:// from another computer is refused');
    // Over HTTPS: the chain verifies against the school CA for the address
    // (node's verifier), and not without it.
    const ok = await nsRequest(NS.teacher, `https://${SRV}:${HTTPS}/teacher.html`, { ca: caPem });
    assert.equal(ok.status, 200, fmt(ok).slice(0, 300));
    assert.match(ok.body, /<html/);
    const bad = await nsRequest(NS.teacher, `https://${SRV}:${HTTPS}/teacher.html`);
    assert.match(bad.error || '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/, fmt(bad));
    assert.equal(await nsWebSocket(NS.teacher, `wss://${SRV}:${HTTPS}/ws`, caPem), 'open', 'wss:// with the CA');
  });

  it('a browser that does not trust the CA refuses the HTTPS page; the CA page works in it, in Vietnamese and English', async () => {
    const home = path.join(tmp, 'home-untrusting');
    execFileSync('mkdir', ['-p', home]);
    const browser = await launchIn(NS.student, home, null);
    browsers.push(browser);
    let page = await newPage(browser, log, 'untrusting', 'vi-VN');
    await assert.rejects(page.goto(`https://${SRV}:${HTTPS}/teacher.html`, { timeout: 10_000 }),
      /ERR_CERT_AUTHORITY_INVALID/);
    // A plain link is redirected to HTTPS (and so refused here as well).
    await assert.rejects(page.goto(`http://${SRV}:${HTTP}/teacher.html`, { timeout: 10_000 }),
      /ERR_CERT_AUTHORITY_INVALID/);

    // A fresh page (the refused one shows Chromium's error page); the old
    // one closes after, or the browser would have no window left and quit.
    const refused = page;
    page = await newPage(browser, log, 'untrusting', 'vi-VN');
    await refused.close();
    await page.goto(`http://${SRV}:${HTTP}/ca.html`, { waitUntil: 'load', timeout: 10_000 });
    await page.waitForFunction(() => window.ccCa && window.ccCa.state === 'ready', null, { timeout: 5000 });
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'vi');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Tin cậy máy chủ lớp học');
    assert.equal((await page.locator('#download').innerText()).trim(), 'Tải chứng chỉ CA');
    assert.equal((await page.locator('#fingerprint').innerText()).trim(), caFingerprint, 'the page shows the CA file\'s fingerprint');
    assert.match(await page.locator('#ipad-3').innerText(), /Cài đặt tin cậy chứng nhận.*classcast school CA/);
    assert.equal(await page.getAttribute('#check-link', 'href'), `https://${SRV}:${HTTPS}/`);
    assert.equal(await page.getAttribute('#download', 'href'), 'ca.crt');
    await page.click('button[data-lang="en"]');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Trust the classroom server');
    assert.equal((await page.locator('#download').innerText()).trim(), 'Download the CA certificate');
    assert.match(await page.locator('#ipad-3').innerText(), /^Open Settings > General > About > Certificate Trust Settings and turn on “classcast school CA/);
    assert.match(await page.locator('#steps-android').innerText(), /Encryption & credentials > Install a certificate > CA certificate/);
    assert.match(await page.locator('#steps-windows').innerText(), /Trusted Root Certification Authorities/);
    assert.match(await page.locator('#steps-chromebook').innerText(), /Authorities > Import/);
    // Every text translated: no element shows a raw key.
    const raw = await page.evaluate(() => [...document.querySelectorAll('[data-i18n]')]
      .filter((e) => e.textContent === e.dataset.i18n).map((e) => e.dataset.i18n));
    assert.deepEqual(raw, []);
    const dl = await page.evaluate(async () => {
      const r = await fetch('ca.crt');
      return { type: r.headers.get('content-type'), text: await r.text() };
    });
    assert.equal(dl.type, 'application/x-x509-ca-cert');
    assert.equal(dl.text, caPem);
    await browser.close();
  });

  let teacherBrowser;
  let teacherPage;
  it('a teacher on another computer trusting the CA (NSS) starts a lesson over HTTPS and WSS and shares the camera', async () => {
    // The teacher's computer fetches the CA as a person would: /ca.crt over
    // plain HTTP, and compares its fingerprint.
    const fetched = (await nsRequest(NS.teacher, `http://${SRV}:${HTTP}/ca.crt`)).body;
    assert.equal(new X509Certificate(fetched).fingerprint256, caFingerprint);
    const home = path.join(tmp, 'home-teacher');
    execFileSync('mkdir', ['-p', home]);
    teacherBrowser = await launchIn(NS.teacher, home, fetched);
    browsers.push(teacherBrowser);
    const page = teacherPage = await newPage(teacherBrowser, log, 'teacher');
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    // The plain link a teacher might type lands on HTTPS.
    const res = await page.goto(`http://${SRV}:${HTTP}/teacher.html`, { waitUntil: 'load', timeout: 15_000 });
    assert.equal(page.url(), `https://${SRV}:${HTTPS}/teacher.html`);
    assert.equal(res.status(), 200);
    assert.equal(res.request().redirectedFrom()?.url(), `http://${SRV}:${HTTP}/teacher.html`);
    assert.equal(await page.evaluate(() => window.isSecureContext), true, 'HTTPS: a secure context on another computer');
    assert.equal(await page.evaluate(() => !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)), true);
    // Only a signed-in teacher creates lessons (docs/accounts.md); over
    // HTTPS the session cookie is Secure.
    await signInTeacher(page, server);
    const session = (await page.context().cookies()).find((c) => c.name === 'cc_session');
    assert.ok(session && session.secure && session.httpOnly && session.sameSite === 'Strict',
      `session cookie over HTTPS: ${fmt(session)}`);
    await page.fill('#lesson-title', 'HTTPS');
    await page.fill('#teacher-name', 'Cô Hoa');
    await page.click('#create-btn');
    await page.waitForFunction(() => window.ccTeacher.state === 'joined' && /^[0-9]{6}$/.test(window.ccTeacher.code || ''), null, { timeout: 10_000 });
    await page.click('#start');
    await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 10_000 });
    const r = await pollUntil(() => teacherStats(page),
      (s) => s.sendState === 'connected' && s.out.camera?.framesEncoded > 10, { timeoutMs: 20_000, intervalMs: 500 });
    note(`teacher: ${fmt(r.value)}`);
    assert.ok(r.ok, `the teacher is not sending the camera${ctx()}`);
    assert.deepEqual([...new Set(sockets)], [`wss://${SRV}:${HTTPS}/ws`], 'signalling over WSS');
  });

  it('a student in a third namespace, trusting the CA, opens the teacher\'s https link and decodes the camera', async () => {
    assert.ok(teacherPage, 'needs the teacher of the previous test');
    const link = await studentLink(teacherPage);
    assert.match(link, new RegExp(`^https://${SRV.replace(/\./g, '\\.')}:${HTTPS}/student\\.html\\?code=[0-9]{6}$`));
    const home = path.join(tmp, 'home-student');
    execFileSync('mkdir', ['-p', home]);
    const browser = await launchIn(NS.student, home, caPem);
    browsers.push(browser);
    const page = await newPage(browser, log, 'student');
    await page.goto(link, { waitUntil: 'load', timeout: 15_000 });
    await joinAsStudent(page, 'Lò Văn An');
    const first = await pollUntil(() => studentStats(page), (s) => s.camera?.framesDecoded > 5,
      { timeoutMs: 20_000, intervalMs: 500 });
    assert.ok(first.ok, `the student decodes no camera: ${fmt(first.value)}${ctx()}`);
    const f0 = first.value.camera.framesDecoded;
    const later = await pollUntil(() => studentStats(page), (s) => s.camera?.framesDecoded > f0 + 20,
      { timeoutMs: 10_000, intervalMs: 500 });
    note(`student camera: ${fmt(later.value.camera)}`);
    assert.ok(later.ok, `framesDecoded stopped rising at ${f0}: ${fmt(later.value.camera)}`);
    assert.ok(later.value.camera.frameWidth > 0);

    const stats = JSON.parse((await nsRequest(NS.teacher, `https://${SRV}:${HTTPS}/stats`, { ca: caPem })).body);
    note(`http counters: ${fmt(stats.http)}`);
    assert.ok(stats.peers >= 2, `peers ${stats.peers}`);
    assert.ok(stats.http.https_redirects >= 6, 'the plain-HTTP redirects were counted');
    assert.ok(stats.http.plain_ws_refused >= 1, 'the plain ws:// was counted');
    assert.ok(stats.http.tls_cert_refused >= 1, 'the TLS clients that did not trust the CA were counted');
  });

  it('a restart on 0.0.0.0 reuses the CA and the certificate; this computer keeps plain HTTP, others are redirected', async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await server.stop();
    const certBefore = readFileSync(path.join(stateDir, 'server.crt'), 'utf8');
    server = await startServer('https-restart', { netns: NS.srv, bind: '0.0.0.0', httpPort: HTTP, udpPort: UDP, extraArgs: srvArgs });
    assert.doesNotMatch(server.stderr(), /made a new school CA|issued the server certificate/);
    assert.equal(readFileSync(path.join(stateDir, 'ca.crt'), 'utf8'), caPem, 'the same CA');
    assert.equal(readFileSync(path.join(stateDir, 'server.crt'), 'utf8'), certBefore, 'the same server certificate');
    await server.waitStdout(/Press Ctrl-C/);
    assert.match(server.stdout(), /Teacher page: +https:\/\/10\.233\.0\.1:8443\/teacher\.html\n +\(on this computer also http:\/\/127\.0\.0\.1:8080\/teacher\.html\)/);
    const local = await nsRequest(NS.srv, `http://127.0.0.1:${HTTP}/teacher.html`);
    assert.equal(local.status, 200, 'plain HTTP from loopback serves the teacher page');
    assert.match(local.headers['content-type'], /^text\/html/);
    assert.equal((await nsRequest(NS.srv, `http://127.0.0.1:${HTTP}/stats`)).status, 200);
    assert.equal(await nsWebSocket(NS.srv, `ws://127.0.0.1:${HTTP}/ws`), 'open', 'ws:// from loopback');
    const other = await nsRequest(NS.student, `http://${SRV}:${HTTP}/teacher.html`);
    assert.equal(other.status, 301);
    assert.equal(other.headers.location, `https://${SRV}:${HTTPS}/teacher.html`);
    const viaTls = await nsRequest(NS.srv, `https://127.0.0.1:${HTTPS}/healthz`, { ca: caPem });
    assert.equal(viaTls.status, 200, 'the certificate also names 127.0.0.1');
    await server.stop();
    server = null;
    // Not a leftover: the sha-256 the page showed is what devices compare.
    assert.equal(createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex').toUpperCase().match(/../g).join(':'), caFingerprint);
  });
});
