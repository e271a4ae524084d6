// End to end: teacher accounts (docs/accounts.md) in headless Chromium
// against a real classcast server with its own state directory.
//
// 1. Nobody signed in: the teacher page shows the sign-in form, not "Create
//    a lesson"; a WebSocket without a session gets not_signed_in for
//    create; a teacher signed out in another tab who presses "Create
//    lesson" reads a clear message, in English and in Vietnamese, and gets
//    the sign-in form back.
// 2. A teacher made with `classcast teacher add` (password on stdin) signs
//    in by typing into the form and pressing the button (the session
//    cookie is HttpOnly and SameSite=Strict, and no script sees it),
//    creates and starts a lesson, shares its fake camera; a student opens
//    the link the page shows, joins and decodes the video.
// 3. A wrong password shows a clear error; signing out works (the cookie
//    is gone, /api/me says nobody).
// 4. An admin adds a teacher on the admin page; the one-time password it
//    shows signs that teacher in, who chooses their own password and
//    creates a lesson; the admin resets a password and disables an account
//    (signed out at once); every refusal is in /stats.
// 5. Pages of other sites are refused (403), wrong passwords are limited
//    per address (429 with Retry-After, and the page says how long).
// 6. `serve --local-teacher` (scripts/run.sh): the page on the classroom
//    computer itself creates a lesson without signing in.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import WebSocket from 'ws';

import { startServer, artifactPath } from './lib/server.mjs';
import { pollUntil } from './lib/webrtc.mjs';
import {
  launch, newPage, studentStats, teacherStats, studentLink, joinAsStudent, signInTeacher,
} from './lib/lesson.mjs';

const note = (...a) => console.log(...a);
const fmt = (v) => JSON.stringify(v);
const text = (page, sel) => page.locator(sel).innerText({ timeout: 5000 }).then((s) => s.trim());
const visible = (page, sel) => page.locator(sel).isVisible();

// One WebSocket request: the first reply.
async function wsRequest(url, msg, headers = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', { headers });
  await once(ws, 'open');
  const reply = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), 5000);
    ws.on('message', (d) => { clearTimeout(timer); resolve(JSON.parse(String(d))); });
  });
  ws.send(JSON.stringify(msg));
  const r = await reply;
  ws.close();
  return r;
}

async function control(server) {
  return (await server.stats()).control;
}

// Press "Create lesson" the way a teacher does.
async function createLesson(page, title) {
  await page.locator('#lesson-title').fill(title);
  await page.locator('#create-btn').click();
}

describe('accounts', { timeout: 300_000 }, () => {
  let server;
  let browser;
  const log = [];
  const pages = [];

  before(async () => {
    server = await startServer('accounts');
    browser = await launch();
  });

  after(async () => {
    try { writeFileSync(artifactPath('accounts.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    for (const p of pages) await p.context.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  const open = async (path, opts = {}) => {
    const p = await newPage(browser, `${server.url}${path}`, { log, ...opts });
    pages.push(p);
    return p;
  };

  it('without signing in, the teacher page asks to sign in and the server refuses create', { timeout: 60_000 }, async () => {
    const { page } = await open('/teacher.html', { tag: 'anon' });
    await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(page, '#signin h1'), 'Sign in');
    assert.equal(await visible(page, '#create'), false, 'no create form before signing in');
    assert.equal(await page.evaluate(() => window.ccTeacher.account.state), 'signed_out');
    // The protocol: a WebSocket without a session cookie may not create.
    const before = await control(server);
    const r = await wsRequest(server.url, { type: 'create', id: 'c1', name: 'Mallory', title: 'x' });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'not_signed_in', fmt(r));
    assert.equal(r.ref, 'create');
    // A made-up cookie is no better.
    const r2 = await wsRequest(server.url, { type: 'create', id: 'c2', name: 'Mallory', title: 'x' },
      { Cookie: `cc_session=${'A'.repeat(43)}` });
    assert.equal(r2.code, 'not_signed_in', fmt(r2));
    const after = await control(server);
    assert.equal(after.not_signed_in, before.not_signed_in + 2, 'refusals counted in /stats');
    assert.equal((await server.stats()).lessons, 0, 'no lesson was created');
  });

  it('signed out in another tab, "Create lesson" gets a clear message in English and Vietnamese and the sign-in form', { timeout: 60_000 }, async () => {
    const tab1 = await open('/teacher.html', { tag: 'tab1' });
    const acc = await signInTeacher(tab1.page, server);
    await tab1.page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    // The second tab shares the browser's cookies; the teacher signs out there.
    const tab2page = await tab1.context.newPage();
    tab2page.on('console', (m) => log.push(`tab2 [console.${m.type()}] ${m.text()}`));
    await tab2page.goto(`${server.url}/teacher.html`, { waitUntil: 'load' });
    await tab2page.locator('#signout').click();
    await tab2page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10_000 });
    // The first tab still shows the form and the teacher presses the button.
    await tab1.page.locator('#teacher-name').fill(acc.name);
    await createLesson(tab1.page, 'Too late');
    await tab1.page.locator('#error').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(tab1.page, '#error'), 'Please sign in before you create a lesson.');
    await tab1.page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await visible(tab1.page, '#create'), false);
    await tab1.page.locator('#lang-switch button[data-lang="vi"]').click();
    assert.equal(await text(tab1.page, '#error'), 'Thầy cô cần đăng nhập trước khi tạo buổi học.');
    assert.equal(await text(tab1.page, '#signin h1'), 'Đăng nhập');
    await tab1.page.locator('#lang-switch button[data-lang="en"]').click();
    // Signing in again answers it: the message goes, the form comes back.
    await signInTeacher(tab1.page, server, acc);
    await tab1.page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await visible(tab1.page, '#error'), false);
  });

  let lan;
  it('a teacher added with `classcast teacher add` signs in, starts a lesson and shares the camera; a student watches', { timeout: 90_000 }, async () => {
    lan = await server.addTeacher({ name: 'lan', displayName: 'Cô Lan', password: 'phấn trắng bảng đen' });
    const teacher = await open('/teacher.html', { tag: 'lan', viewport: { width: 1280, height: 900 } });
    const { page, context } = teacher;
    await signInTeacher(page, server, lan);
    await page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(page, '#account-who'), 'Signed in as Cô Lan');
    // The session cookie: HttpOnly (no script reads it), SameSite=Strict,
    // not Secure over plain http on loopback, about 12 hours.
    const cookies = await context.cookies(server.url);
    const sc = cookies.find((c) => c.name === 'cc_session');
    assert.ok(sc, `a session cookie: ${fmt(cookies)}`);
    assert.equal(sc.httpOnly, true);
    assert.equal(sc.sameSite, 'Strict');
    assert.equal(sc.path, '/');
    assert.equal(sc.secure, false);
    assert.match(sc.value, /^[A-Za-z0-9_-]{43}$/);
    const life = sc.expires - Date.now() / 1000;
    assert.ok(life > 11.9 * 3600 && life <= 12 * 3600 + 5, `expires in ${life} s`);
    assert.equal(await page.evaluate(() => document.cookie.includes('cc_session')), false);
    // The name students see comes from the account.
    assert.equal(await page.inputValue('#teacher-name'), 'Cô Lan');
    await createLesson(page, 'Toán lớp 5');
    await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });
    await page.locator('#start').click();
    await page.waitForFunction(() => window.ccTeacher.lessonState === 'live', null, { timeout: 10_000 });
    const sending = await pollUntil(() => teacherStats(page), (s) => s.out.camera?.packetsSent > 50,
      { timeoutMs: 20_000, intervalMs: 500 });
    assert.ok(sending.ok, `the camera is not going out: ${fmt(sending.value)}`);

    const link = await studentLink(page);
    const student = await open(new URL(link).pathname + new URL(link).search, { tag: 'student', locale: 'vi-VN' });
    await joinAsStudent(student.page, 'An');
    const watching = await pollUntil(() => studentStats(student.page), (s) => s.camera?.framesDecoded > 30,
      { timeoutMs: 25_000, intervalMs: 500 });
    assert.ok(watching.ok, `the student does not decode the camera: ${fmt(watching.value)}`);
    assert.equal(watching.value.lessonState, 'live');
    await page.waitForFunction(() => window.ccTeacher.members.some((m) => m.name === 'An' && m.watching), null, { timeout: 10_000 });
    await page.screenshot({ path: artifactPath('accounts-teacher.png') });
    const c = await control(server);
    assert.ok(c.signins >= 1, fmt(c));
  });

  it('a wrong password says so clearly; sign-out ends the session', { timeout: 60_000 }, async () => {
    const { page, context } = await open('/teacher.html', { tag: 'wrong' });
    const before = await control(server);
    await page.locator('#signin-name').pressSequentially('lan');
    await page.locator('#signin-password').pressSequentially('not the password');
    await page.locator('#signin-btn').click();
    await page.locator('#signin-error').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(page, '#signin-error'), 'Wrong user name or password. Please try again.');
    assert.equal(await page.inputValue('#signin-password'), '', 'the wrong password is cleared');
    assert.equal(await visible(page, '#create'), false);
    await page.locator('#lang-switch button[data-lang="vi"]').click();
    assert.equal(await text(page, '#signin-error'), 'Sai tên đăng nhập hoặc mật khẩu. Hãy thử lại.');
    await page.locator('#lang-switch button[data-lang="en"]').click();
    assert.equal((await control(server)).signin_failed, before.signin_failed + 1);
    assert.equal((await context.cookies(server.url)).some((c) => c.name === 'cc_session'), false);

    await signInTeacher(page, server, lan);
    await page.locator('#signout').click();
    await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(page, '#notice'), 'You are signed out.');
    assert.equal((await context.cookies(server.url)).some((c) => c.name === 'cc_session'), false, 'cookie deleted');
    const me = await page.evaluate(async () => (await fetch('/api/me')).status);
    assert.equal(me, 401);
    const after = await control(server);
    assert.equal(after.signouts, before.signouts + 1);
  });

  it('an admin adds a teacher on the admin page; the one-time password signs them in and they choose their own', { timeout: 120_000 }, async () => {
    const boss = await server.addTeacher({ name: 'hieu.truong', displayName: 'Thầy Hiệu trưởng', admin: true });
    const admin = await open('/admin.html', { tag: 'admin', viewport: { width: 1280, height: 900 } });
    const ap = admin.page;
    ap.on('dialog', (d) => d.accept());
    await signInTeacher(ap, server, boss);
    await ap.locator('#add-form').waitFor({ state: 'visible', timeout: 10_000 });
    await ap.waitForFunction(() => window.ccAdmin.teachers.length >= 3, null, { timeout: 10_000 });
    await ap.locator('#add-name').pressSequentially('minh');
    await ap.locator('#add-display').pressSequentially('Thầy Minh');
    await ap.locator('#add-btn').click();
    await ap.locator('#otp').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(ap, '#otp-h'), 'One-time password for minh');
    const otp = await text(ap, '#otp-password');
    assert.match(otp, /^[a-z2-9]{16}$/);
    await ap.locator('tr[data-name="minh"]').waitFor({ timeout: 10_000 });
    assert.match(await text(ap, 'tr[data-name="minh"]'), /Has not chosen a password yet/);
    await ap.locator('#otp-done').click();
    assert.equal(await visible(ap, '#otp'), false, 'shown once');
    // The same name again is refused with a clear error.
    await ap.locator('#add-name').pressSequentially('minh');
    await ap.locator('#add-btn').click();
    await ap.locator('#add-error').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(ap, '#add-error'), 'There is already a teacher with this user name.');
    await ap.locator('#add-name').fill('');

    // minh, on another computer, signs in with the one-time password ...
    const minh = await open('/teacher.html', { tag: 'minh', locale: 'vi-VN' });
    const mp = minh.page;
    await signInTeacher(mp, server, { name: 'minh', password: otp });
    await mp.locator('#password-form').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await visible(mp, '#create'), false, 'no lesson before choosing a password');
    // ... which the server also enforces.
    const cookie = (await minh.context.cookies(server.url)).find((c) => c.name === 'cc_session');
    const refused = await wsRequest(server.url, { type: 'create', id: 'm1', name: 'Thầy Minh', title: '' },
      { Cookie: `cc_session=${cookie.value}` });
    assert.equal(refused.code, 'must_change_password', fmt(refused));
    assert.equal(await mp.inputValue('#pw-current'), otp, 'the one-time password is filled in');
    await mp.locator('#pw-new').pressSequentially('mật khẩu của Minh');
    await mp.locator('#pw-repeat').pressSequentially('mật khẩu của Minh');
    await mp.locator('#password-btn').click();
    await mp.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(mp, '#notice'), 'Đã lưu mật khẩu mới.');
    assert.equal(await mp.inputValue('#teacher-name'), 'Thầy Minh');
    await createLesson(mp, 'Tiếng Việt');
    await mp.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });

    // The one-time password is spent; the new one works.
    const signin = (name, password) => fetch(`${server.url}/api/signin`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }),
    });
    assert.equal((await signin('minh', otp)).status, 401);
    assert.equal((await signin('minh', 'mật khẩu của Minh')).status, 200);

    // The admin resets lan's password: a new one-time password, the old one
    // is spent; then disables minh, whose session ends at once.
    await ap.reload({ waitUntil: 'load' });
    await ap.locator('tr[data-name="lan"] .act-reset').click();
    await ap.locator('#otp').waitFor({ state: 'visible', timeout: 10_000 });
    const lanOtp = await text(ap, '#otp-password');
    assert.equal((await signin('lan', lan.password)).status, 401);
    assert.equal((await signin('lan', lanOtp)).status, 200);
    await ap.locator('#otp-done').click();
    await ap.locator('tr[data-name="minh"] .act-disable').click();
    await ap.waitForFunction(() => window.ccAdmin.teachers.find((t) => t.name === 'minh')?.disabled, null, { timeout: 10_000 });
    assert.equal(await text(ap, 'tr[data-name="minh"] td:nth-child(4)'), 'Disabled');
    const me = await mp.evaluate(async () => (await fetch('/api/me')).status);
    assert.equal(me, 401, 'a disabled teacher is signed out');
    const dis = await signin('minh', 'mật khẩu của Minh');
    assert.equal(dis.status, 403);
    assert.equal((await dis.json()).error, 'account_disabled');
    // The admin cannot lock themself out; a teacher cannot act as admin.
    assert.equal(await ap.locator('tr[data-name="hieu.truong"] .act-disable').count(), 0);
    const lanPage = await open('/admin.html', { tag: 'lan-admin' });
    await signInTeacher(lanPage.page, server, { name: 'lan', password: lanOtp });
    await lanPage.page.locator('#password-form').waitFor({ state: 'visible', timeout: 10_000 });
    await lanPage.page.locator('#pw-new').pressSequentially('phấn trắng bảng đen 2');
    await lanPage.page.locator('#pw-repeat').pressSequentially('phấn trắng bảng đen 2');
    await lanPage.page.locator('#password-btn').click();
    await lanPage.page.locator('#not-admin').waitFor({ state: 'visible', timeout: 10_000 });
    const forbidden = await lanPage.page.evaluate(async () => {
      const r = await fetch('/api/teachers');
      return { status: r.status, body: await r.json() };
    });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error, 'not_admin');
    const c = await control(server);
    assert.ok(c.teachers_added >= 1 && c.passwords_reset >= 1 && c.teachers_disabled >= 1 &&
      c.password_changes >= 2 && c.must_change_refused >= 1 && c.account_not_admin >= 1 &&
      c.signin_disabled >= 1, fmt(c));
  });

  it('a page of another site cannot sign in or out, and wrong passwords are limited per address', { timeout: 60_000 }, async () => {
    const post = (path, body, headers = {}) => fetch(`${server.url}${path}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body),
    });
    const before = await control(server);
    let r = await post('/api/signin', { name: 'lan', password: 'phấn trắng bảng đen 2' }, { Origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error, 'cross_origin');
    assert.equal(r.headers.get('set-cookie'), null);
    r = await post('/api/signout', {}, { Origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    // Bodies that are no sign-in.
    r = await fetch(`${server.url}/api/signin`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    assert.equal(r.status, 415);
    r = await post('/api/signin', { name: 'lan' });
    assert.equal(r.status, 400);
    r = await fetch(`${server.url}/api/signin`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":' });
    assert.equal(r.status, 400);
    // A form body signs in too (the page sends JSON).
    r = await fetch(`${server.url}/api/signin`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'lan', password: 'phấn trắng bảng đen 2' }).toString(),
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('set-cookie') || '', /^cc_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    // Wrong passwords from this address: 401 while its ten tries last
    // (earlier tests spent a few), then 429 with Retry-After.
    const statuses = [];
    for (let i = 0; i < 14; i++) statuses.push((await post('/api/signin', { name: 'lan', password: `guess number ${i}` })).status);
    const first = statuses.indexOf(429);
    assert.ok(first >= 4, `401 first, then 429: ${fmt(statuses)}`);
    assert.deepEqual(statuses.slice(0, first), Array(first).fill(401), fmt(statuses));
    assert.deepEqual(statuses.slice(first), Array(statuses.length - first).fill(429), fmt(statuses));
    r = await post('/api/signin', { name: 'lan', password: 'phấn trắng bảng đen 2' });
    assert.equal(r.status, 429, 'even the right password waits');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    const body = await r.json();
    assert.equal(body.error, 'too_many_tries');
    // The page says how long.
    const { page } = await open('/teacher.html', { tag: 'limited' });
    await page.locator('#signin-name').pressSequentially('lan');
    await page.locator('#signin-password').pressSequentially('phấn trắng bảng đen 2');
    // One try comes back every 12 s: loading the page and typing may have
    // taken that long on a busy machine. Another wrong password from this
    // address just before the click spends it again, as a classmate would.
    await post('/api/signin', { name: 'lan', password: 'guess once more' });
    await page.locator('#signin-btn').click();
    await page.locator('#signin-error').waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await text(page, '#signin-error'), /^Too many wrong passwords were typed on this network\. Try again in \d+ seconds\.$/);
    const after = await control(server);
    assert.ok(after.account_cross_origin >= before.account_cross_origin + 2, fmt(after));
    assert.ok(after.signin_refused >= before.signin_refused + 2, fmt(after));
    assert.ok(server.alive());
  });
});

describe('accounts: --local-teacher', { timeout: 120_000 }, () => {
  let server;
  let browser;
  const log = [];

  before(async () => {
    server = await startServer('accounts-local', { extraArgs: ['--local-teacher'] });
    browser = await launch();
  });

  after(async () => {
    try { writeFileSync(artifactPath('accounts-local.page.log'), log.join('\n') + '\n'); } catch (_) { /* ignore */ }
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('the teacher page on this computer creates a lesson without signing in; accounts still work', { timeout: 90_000 }, async () => {
    const { page, context } = await newPage(browser, `${server.url}/teacher.html`, { log, tag: 'local' });
    await page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(page, '#account-who'), 'Classroom computer: no password is needed on this computer.');
    assert.equal(await visible(page, '#signout'), false);
    await page.locator('#teacher-name').fill('Giáo viên');
    await createLesson(page, 'Demo');
    await page.waitForFunction(() => window.ccTeacher.state === 'joined' && window.ccTeacher.code, null, { timeout: 10_000 });
    // The stdout tells a person what they need.
    assert.ok(await server.waitStdout(/signed in as its built-in teacher/), server.stdout());
    // Capture on this computer is allowed to the local teacher.
    await page.waitForFunction(() => window.ccTeacher.local.available, null, { timeout: 10_000 });
    // A real account can still sign in here ("Sign in with an account").
    const acc = await server.addTeacher({ name: 'mai', displayName: 'Cô Mai' });
    const p2 = await context.newPage();
    await p2.goto(`${server.url}/teacher.html`, { waitUntil: 'load' });
    await p2.locator('#signin-other').click();
    await signInTeacher(p2, server, acc);
    await p2.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await text(p2, '#account-who'), 'Signed in as Cô Mai');
    // The admin page wants a real admin, not the local teacher.
    const ad = await context.newPage();
    await ad.goto(`${server.url}/admin.html`, { waitUntil: 'load' });
    await ad.locator('#not-admin').waitFor({ state: 'visible', timeout: 10_000 });
    await context.clearCookies();
    await ad.reload({ waitUntil: 'load' });
    await ad.locator('#signin-form').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await visible(ad, '#signin-cancel'), false);
    const c = (await server.stats()).control;
    assert.equal(c.not_signed_in, 0, fmt(c));
  });
});
