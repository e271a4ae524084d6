// Helpers for the lesson pages (web/teacher.html, web/student.html).
import { launch } from './chromium.mjs';

export { launch };

// A new browser context (its own storage, like another tablet) and page.
export async function newPage(browser, url, { log = [], locale = 'en-US', viewport = { width: 1024, height: 768 }, tag = '' } = {}) {
  const context = await browser.newContext({ viewport, locale, hasTouch: viewport.width < 1100 });
  const page = await context.newPage();
  const p = tag ? `${tag} ` : '';
  page.on('console', (m) => log.push(`${p}[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`${p}[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => log.push(`${p}[requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  if (url) await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  return { context, page, log };
}

// The student link a teacher page shows (#student-link): what the teacher
// copies to the students.
export async function studentLink(teacherPage) {
  await teacherPage.waitForFunction(() => /\/student\.html\?code=/.test(document.getElementById('student-link')?.value || ''),
    null, { timeout: 10_000 });
  return teacherPage.inputValue('#student-link');
}

// Joins a lesson the way a person does, on the page a link opened: the
// student page from the teacher's link or the printed demo link (the code
// is filled in), or the join page (pass `code`: it is typed first). Types
// the name, presses the join button, and waits until the student page is
// joining (from the join page: after it moved to the student page).
export async function joinAsStudent(page, name, { code, timeoutMs = 10_000 } = {}) {
  await page.locator('#join-form').waitFor({ state: 'visible', timeout: timeoutMs });
  const type = async (sel, text) => {
    const field = page.locator(sel);
    await field.fill(''); // a name the browser remembered from last time
    await field.pressSequentially(text);
  };
  if (code !== undefined) await type('#code', code);
  await type('#name', name);
  const fromJoinPage = !/\/student\.html$/.test(new URL(page.url()).pathname);
  await page.locator('#join-form button[type=submit]').click();
  if (fromJoinPage) await page.waitForURL(/\/student\.html\?/, { timeout: timeoutMs });
  await page.waitForFunction(() => window.ccStudent && window.ccStudent.state !== 'idle', null, { timeout: timeoutMs });
}

// Per-slot receive stats of a student page: {camera, screen, mic, state,
// lessonState, connectionState, timing}. Slots map by mid / track id that
// the page records in ccStudent.slots.
export function studentStats(page) {
  return page.evaluate(async () => {
    const cc = window.ccStudent;
    const out = {
      state: cc?.state, lessonState: cc?.lessonState, error: cc?.error, media: cc?.media,
      connectionState: cc?.pc?.connectionState || null, timing: cc?.timing,
      camera: null, screen: null, mic: null,
    };
    if (!cc || !cc.pc) return out;
    const report = await cc.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      for (const slot of ['camera', 'screen', 'mic']) {
        const m = cc.slots[slot];
        if (!m) continue;
        if ((s.mid !== undefined && s.mid === m.mid) || (s.trackIdentifier && s.trackIdentifier === m.trackId)) {
          out[slot] = {
            packetsReceived: s.packetsReceived || 0,
            framesDecoded: s.framesDecoded || 0,
            frameWidth: s.frameWidth || 0,
            frameHeight: s.frameHeight || 0,
            packetsLost: s.packetsLost || 0,
            ssrc: s.ssrc,
            // audio: samples played out, and how many of them were made up
            // (concealment) instead of decoded from packets
            totalSamplesReceived: s.totalSamplesReceived || 0,
            concealedSamples: s.concealedSamples || 0,
            totalAudioEnergy: s.totalAudioEnergy || 0,
            // video: how the first picture came (a keyframe asked for again,
            // packets repaired)
            keyFramesDecoded: s.keyFramesDecoded || 0,
            pliCount: s.pliCount || 0,
            nackCount: s.nackCount || 0,
          };
        }
      }
    });
    return out;
  });
}

// Send-side stats of the teacher page per slot (outbound-rtp by mid).
export function teacherStats(page) {
  return page.evaluate(async () => {
    const cc = window.ccTeacher;
    const out = { state: cc?.state, lessonState: cc?.lessonState, sendState: cc?.sendState, error: cc?.error,
      connectionState: cc?.pc?.connectionState || null, out: {} };
    if (!cc || !cc.pc) return out;
    const mids = {};
    for (const tx of cc.pc.getTransceivers()) {
      const tr = tx.sender.track;
      if (!tr || tx.mid === null) continue;
      mids[tx.mid] = tr === cc.tracks.camera ? 'camera' : tr === cc.tracks.screen ? 'screen' : tr === cc.tracks.mic ? 'mic' : '?';
    }
    const report = await cc.pc.getStats();
    // With simulcast a slot has an entry per encoding: summed (the top
    // one sends nothing until the page's own estimate has grown).
    report.forEach((s) => {
      if (s.type === 'outbound-rtp' && mids[s.mid]) {
        const o = out.out[mids[s.mid]] || (out.out[mids[s.mid]] = { packetsSent: 0, framesEncoded: 0, keyFramesEncoded: 0, encodings: 0 });
        o.packetsSent += s.packetsSent || 0;
        o.framesEncoded += s.framesEncoded || 0;
        o.keyFramesEncoded += s.keyFramesEncoded || 0;
        o.encodings++;
      }
    });
    return out;
  });
}

// Every signalling frame a page sends or receives on its /ws socket, as
// parsed JSON: [{dir: 'out' | 'in', msg, at}]. Kept across reloads of the
// page. Read with the helpers below; the page itself is not touched.
export function recordSignal(page) {
  const frames = [];
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname !== '/ws') return;
    const add = (dir) => ({ payload }) => {
      if (typeof payload !== 'string') return;
      try { frames.push({ dir, msg: JSON.parse(payload), at: Date.now() }); } catch (_) { /* not JSON */ }
    };
    ws.on('framesent', add('out'));
    ws.on('framereceived', add('in'));
  });
  return frames;
}

// The reply (by id) to a message the page sent, or undefined. Looks only
// after the sent frame: a reloaded page numbers its requests from 1 again.
export function replyTo(frames, sent) {
  if (!sent || sent.id === undefined) return undefined;
  const i = frames.findIndex((f) => f.msg === sent);
  return frames.slice(i + 1).find((f) => f.dir === 'in' && f.msg.id === sent.id)?.msg;
}

export const iceUfrag = (sdp) => /^a=ice-ufrag:(\S+)/m.exec(sdp || '')?.[1] || null;
export const icePwd = (sdp) => /^a=ice-pwd:(\S+)/m.exec(sdp || '')?.[1] || null;

// Signs in on a teacher page (or the admin page) the way a teacher does:
// types the user name and the password into the sign-in form and presses
// the button, then waits until the page says who is signed in. Without
// `account`, a new teacher account is made first in the server's own state
// directory (`classcast teacher add`, password on stdin). Returns the
// account {name, password, displayName}.
export async function signInTeacher(page, server, account, { timeoutMs = 15_000 } = {}) {
  const acc = account || await server.addTeacher();
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: timeoutMs });
  const type = async (sel, text) => {
    const field = page.locator(sel);
    await field.fill('');
    await field.pressSequentially(text);
  };
  await type('#signin-name', acc.name);
  await type('#signin-password', acc.password);
  await page.locator('#signin-btn').click();
  await page.waitForFunction((name) => {
    const a = (window.ccTeacher || window.ccAdmin)?.account;
    return a && (a.state === 'signed_in' || a.state === 'must_change') && a.teacher?.name === name;
  }, acc.name, { timeout: timeoutMs });
  return acc;
}

// A teacher page opened, signed in with a new account, and showing the
// "Create a lesson" form: what most lesson tests start from.
export async function openSignedInTeacher(browser, server, opts = {}) {
  const p = await newPage(browser, `${server.url}/teacher.html`, opts);
  const account = await signInTeacher(p.page, server, opts.account);
  await p.page.locator('#create-btn').waitFor({ state: 'visible', timeout: 10_000 });
  return { ...p, account };
}
