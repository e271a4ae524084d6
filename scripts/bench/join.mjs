// scripts/bench/join.mjs: time from pressing Join to the first picture
// (run it through scripts/bench/join; usage and output there and in
// docs/bench-join.md).
//
// Two scenarios, each on a classcast server of its own that this script
// starts on free loopback ports and stops:
//
//   single: the demo lesson exactly as scripts/run.sh starts it (the local
//     test source: `serve --source test-video,test-audio --local-teacher`).
//     One headless Chromium student at a time opens student.html like a
//     person (types the code and a name, presses Join), --runs times, each
//     in a fresh browser context (a new tablet: nothing cached), a few
//     hundred ms apart at varying phases of the encoder's keyframe cycle.
//
//   bell: 40 students join within one second (the class bell). The demo
//     lesson's camera comes from the load generator's WHIP publisher (the
//     1.5 Mbit/s 720p VP8 + Opus stream of the fan-out benchmark), so that
//     the forwarding latency of the students already watching is measured
//     exactly (publisher send -> subscriber receive, one clock). --watchers
//     load-generator subscribers watch from the start; at the bell
//     --browsers Chromium pages press Join and the load generator's other
//     joiners POST their WHEP offers, all spread over --spread seconds.
//
// Stages in a page come from an init script (no change to the page):
// WebSocket and RTCPeerConnection wrapped to time the join and
// offer/answer messages and the ICE and DTLS state changes, getStats
// polled for the first RTP packet and the first decoded frame, and
// requestVideoFrameCallback on every <video> for the first frame
// presented (its metadata.receiveTime: when the frame's last packet came).
// All on the page's performance.now() clock, from the Join press (the
// form's submit event).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import {
  REPO, sleep, children, pct, r1, summary, machineNote, startServer as startCc,
  STAGES, stagesOf, readProbe, preparePage, pressJoin, waitFirstFrame,
} from './pagelib.mjs';

const { launch } = await import(path.join(REPO, 'tests/e2e/lib/chromium.mjs'));

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = {
  runs: 10, browsers: 5, students: 40, watchers: 4, spread: 1.0, scenarios: ['single', 'bell'],
  out: path.join(REPO, 'bench-results'), timeoutMs: 15000, quick: false, perf: false,
};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) die(`${a} needs a value`); return argv[++i]; };
  switch (a) {
    case '--quick': opt.quick = true; opt.runs = 3; break;
    case '--runs': opt.runs = int(val(), 1, 100, a); break;
    case '--browsers': opt.browsers = int(val(), 0, 20, a); break;
    case '--students': opt.students = int(val(), 1, 500, a); break;
    case '--watchers': opt.watchers = int(val(), 1, 100, a); break;
    case '--spread': opt.spread = Number(val()); if (!(opt.spread >= 0 && opt.spread <= 10)) die('--spread 0..10'); break;
    case '--only': opt.scenarios = [val()]; if (!['single', 'bell'].includes(opt.scenarios[0])) die('--only single|bell'); break;
    case '--out': opt.out = path.resolve(val()); break;
    case '--perf': opt.perf = true; break;
    case '-h': case '--help': usage(0); break;
    default: die(`unknown option ${a}`);
  }
}
if (opt.browsers > opt.students) die('--browsers must not exceed --students');
const CC_BIN = path.resolve(REPO, process.env.CLASSCAST || process.env.CC_BIN || 'build/classcast');
const LOADGEN = path.resolve(REPO, process.env.LOADGEN || path.join(path.dirname(CC_BIN), 'classcast-loadgen'));
if (!existsSync(CC_BIN)) die(`no ${CC_BIN} (build it: ninja -C build; or set CLASSCAST)`);

function usage(code) {
  console.log(`usage: scripts/bench/join [--quick] [--runs N] [--only single|bell]
       [--browsers B] [--students S] [--watchers W] [--spread SEC] [--out DIR]
  --quick      3 single runs (default 10)
  --browsers   Chromium students at the bell (default 5); the load generator
               joins the rest of --students (default 40)
  --watchers   load-generator students watching before the bell (default 4)
  --spread     the bell's joins spread over SEC seconds (default 1)
  --perf       record the server with perf from the bell to 4 s after it
               (join-runs/bell.perf.txt; needs perf and the right to use it)
Environment: CLASSCAST (default build/classcast), LOADGEN (default beside it),
CHROMIUM (default /usr/bin/chromium).`);
  process.exit(code);
}
function die(msg) { console.error(`join: ${msg}`); process.exit(2); }
function int(s, lo, hi, what) {
  const v = Number(s);
  if (!Number.isInteger(v) || v < lo || v > hi) die(`${what} takes ${lo}..${hi}`);
  return v;
}
const log = (...a) => console.error('join:', ...a);

const RUNDIR = path.join(opt.out, 'join-runs');
rmSync(RUNDIR, { recursive: true, force: true });
mkdirSync(RUNDIR, { recursive: true });
const startServer = (tag, extra) => startCc(CC_BIN, tag, extra, { logDir: RUNDIR });

// ---------------------------------------------------------------- single
async function scenarioSingle(browser) {
  log(`single: the demo lesson as scripts/run.sh starts it (local test source), ${opt.runs} runs`);
  const srv = await startServer('single', ['--source', 'test-video,test-audio', '--local-teacher']);
  const logLines = [];
  const runs = [];
  const load0 = machineNote().loadavg;
  try {
    // The local source is up once the lesson exists; give the encoder a
    // moment (the first run is not special).
    await sleep(1500);
    for (let i = 0; i < opt.runs; i++) {
      // Join at a different phase of the encoder's keyframe cycle each
      // time (deterministic: 0.37 s steps modulo 2 s).
      await sleep(300 + ((i * 370) % 2000));
      const p = await preparePage(browser, srv.url, `Bench ${i + 1}`, logLines);
      await pressJoin(p);
      const ok = await waitFirstFrame(p, opt.timeoutMs);
      await sleep(100);
      const b = await readProbe(p.page);
      const st = stagesOf(b);
      runs.push({ run: i + 1, ok, page_load_ms: b.load ? r1(b.load.load) : p.loadMs, stages: st,
        first_frame: b.firstFrame, state: b.state, error: b.pageError, msgs: b.msgs });
      log(`single ${i + 1}/${opt.runs}: ${ok ? `first frame ${st.first_frame} ms after Join (decoded ${st.first_decoded}, ` +
        `keyframe in ${st.keyframe_received}, DTLS ${st.dtls}, answer ${st.answer})` : `NO first frame within ${opt.timeoutMs} ms (state ${b.state}, error ${b.pageError})`}`);
      await p.context.close();
    }
  } finally {
    await srv.stop();
  }
  const stages = {};
  for (const [name, , meaning] of STAGES) stages[name] = { ...summary(runs.map((r) => r.stages[name])), meaning };
  return {
    server: `classcast serve --source test-video,test-audio --local-teacher (as scripts/run.sh), loopback`,
    runs: runs.length, ok: runs.filter((r) => r.ok).length,
    page_load_ms: summary(runs.map((r) => r.page_load_ms)),
    stages, loadavg_start: load0, loadavg_end: machineNote().loadavg, each: runs,
    page_log: logLines.slice(0, 50),
  };
}

// ------------------------------------------------------------------ bell
function recordMedia() {
  const dir = path.join(opt.out, 'fanout-media');
  return execFileSync(path.join(REPO, 'scripts/bench/record-media.sh'), [dir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function scenarioBell(browser) {
  const B = opt.browsers;
  const J = opt.students - B;
  const W = opt.watchers;
  log(`bell: ${opt.students} students within ${opt.spread} s (${B} Chromium pages, ${J} load-generator joiners), ${W} watching from before`);
  if (!existsSync(LOADGEN)) throw new Error(`no ${LOADGEN}`);
  const media = path.resolve(REPO, recordMedia());
  const token = Array.from({ length: 43 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 62)]).join('');
  const srv = await startServer('bell', ['--demo-token', token, '--connection-rate', '1000000',
    '--max-connections-per-address', '100000']);
  const logLines = [];
  const load0 = machineNote().loadavg;
  const pages = [];
  let lg = null;
  try {
    // The Chromium students first: their pages loaded and the form filled
    // before the bell.
    for (let k = 0; k < B; k++) pages.push(await preparePage(browser, srv.url, `Bell ${k + 1}`, logLines));
    // The bell: far enough ahead for the publisher and the watchers to
    // connect and settle (the load generator warns if it is late).
    const lead = 6;
    const bellAt = Date.now() / 1000 + lead;
    const duration = Math.ceil(lead + opt.spread + 3 + 4);
    const lgArgs = ['--url', srv.url, '--lesson', 'demo', '--token', token,
      '--video', path.join(media, 'video.rtp'), '--audio', path.join(media, 'audio.rtp'),
      '--video-kbps', '1500', '--audio-kbps', '48',
      '-n', String(W + J), '--verify-sample', String(W + J), '--sub-net', '127.77.0.0/16',
      '--settle', '1', '--duration', String(duration), '--setup-timeout', '20',
      '--bell-at', bellAt.toFixed(3), '--bell-joiners', String(J), '--bell-spread', String(opt.spread)];
    const lgOut = path.join(RUNDIR, 'bell.loadgen.out');
    const lgErr = path.join(RUNDIR, 'bell.loadgen.err');
    writeFileSync(path.join(RUNDIR, 'bell.loadgen.cmd'), `${LOADGEN} ${lgArgs.join(' ')}\n`);
    lg = spawn(LOADGEN, lgArgs, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(lg);
    let out = '';
    let err = '';
    lg.stdout.on('data', (b) => { out += b.toString(); });
    lg.stderr.on('data', (b) => { err += b.toString(); });
    const lgDone = new Promise((r) => lg.on('exit', (code) => r(code)));
    // Each page presses Join at its slot in the spread: page k at
    // bell + spread * (k + 0.5) / B (the load generator's joiners take
    // the slots spread * j / J).
    // perf on the server while the bell rings (where its time goes).
    let perfDone = null;
    if (opt.perf) {
      perfDone = (async () => {
        const wait = bellAt * 1000 - Date.now() - 100;
        if (wait > 0) await sleep(wait);
        const data = path.join(RUNDIR, 'bell.perf.data');
        const secs = String(Math.ceil(opt.spread + 4));
        try {
          // Not execFileSync: the pages' Join presses run on this event loop.
          const rec = spawn('perf', ['record', '-F', '999', '-g', '-o', data, '-p', String(srv.proc.pid), '--', 'sleep', secs],
            { stdio: ['ignore', 'ignore', 'ignore'] });
          children.add(rec);
          const code = await new Promise((r) => { rec.on('exit', r); rec.on('error', () => r(-1)); });
          children.delete(rec);
          if (code !== 0) throw new Error(`perf record exited ${code}`);
          const report = (args) => execFileSync('perf', ['report', '-i', data, '--stdio', '-g', 'none', ...args],
            { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
          const lines = (t) => t.split('\n').filter((l) => /^\s+\d+\.\d+%/.test(l)).map((l) => l.trim().replace(/\s+/g, ' '));
          // Self time by library; inclusive time of the DTLS handshake
          // path (does it run on the forwarding thread?); self time by
          // thread and symbol.
          const byDso = report(['--no-children', '--sort', 'dso']);
          const incl = report(['--children', '--sort', 'comm,sym']);
          const bySym = report(['--no-children', '--sort', 'comm,dso,sym', '--percent-limit', '0.7']);
          writeFileSync(path.join(RUNDIR, 'bell.perf.txt'), `# self, by library\n${byDso}\n# inclusive, by thread and symbol\n${incl}\n# self, by thread, library and symbol\n${bySym}`);
          const dtls = lines(incl).filter((l) => /dtls|handshake|SSL_do|ssl3_|tls_|ECDSA|ecdsa|X509/i.test(l)).slice(0, 8);
          return [...lines(byDso).slice(0, 8).map((l) => `self by library: ${l}`),
            ...dtls.map((l) => `inclusive, DTLS: ${l}`),
            ...lines(bySym).slice(0, 15).map((l) => `self: ${l}`)];
        } catch (e) {
          log(`perf failed: ${e.message.split('\n')[0]}`);
          return null;
        }
      })();
    }
    const clicks = pages.map(async (p, k) => {
      const due = bellAt * 1000 + (opt.spread * 1000 * (k + 0.5)) / Math.max(1, B);
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      p.pressedLate = Math.round(Date.now() - due);
      await pressJoin(p);
      p.ok = await waitFirstFrame(p, opt.timeoutMs);
    });
    await Promise.all(clicks);
    const perfTop = perfDone ? await perfDone : null;
    const timer = setTimeout(() => lg.kill('SIGTERM'), (duration + 60) * 1000);
    const code = await lgDone;
    clearTimeout(timer);
    children.delete(lg);
    writeFileSync(lgOut, out);
    writeFileSync(lgErr, err);
    const jsonLine = out.split('\n').filter((l) => l.startsWith('{')).pop();
    let lj = null;
    try { lj = jsonLine ? JSON.parse(jsonLine) : null; } catch (_) { lj = null; }
    if (code !== 0 || !lj) log(`bell: the load generator failed (exit ${code}); see ${lgErr}`);
    const browsersRes = [];
    for (const p of pages) {
      const b = await readProbe(p.page);
      browsersRes.push({ name: p.name, ok: p.ok, pressed_late_ms: p.pressedLate, stages: stagesOf(b),
        first_frame: b.firstFrame, state: b.state, error: b.pageError });
    }
    const bTtff = browsersRes.map((r) => r.stages.first_frame);
    const lgTtff = lj && lj.join && Array.isArray(lj.join.keyframe_ms_all) ? lj.join.keyframe_ms_all : [];
    const lgMissing = lj && lj.join ? lj.join.no_keyframe : J;
    const bMissing = browsersRes.filter((r) => r.stages.first_frame === null).length;
    // A student that never got a picture counts as the slowest (infinite):
    // p95 cannot hide it.
    const all = [...bTtff.filter((x) => x !== null), ...lgTtff];
    for (let i = 0; i < bMissing + lgMissing; i++) all.push(Infinity);
    const stages = {};
    for (const [name, , meaning] of STAGES) stages[name] = { ...summary(browsersRes.map((r) => r.stages[name])), meaning };
    return {
      server: 'classcast serve --demo-token T (the camera: the load generator\'s WHIP publisher, 1.5 Mbit/s 720p VP8 + 48 kbit/s Opus), loopback',
      students: opt.students, browsers: B, loadgen_joiners: J, watchers: W, spread_s: opt.spread,
      loadgen_exit: code, loadgen_cmd: `${path.relative(REPO, LOADGEN)} ${lgArgs.join(' ')}`,
      all_students_first_picture_ms: {
        n: all.length, missing: bMissing + lgMissing,
        p50: r1(pct(all, 0.5)), p95: r1(pct(all, 0.95)),
        note: 'browsers: Join press -> first frame presented; load generator: WHEP POST -> first complete keyframe (no decode); a student without a picture counts as infinite',
      },
      browsers_first_frame_ms: summary(bTtff),
      browser_stages: stages,
      loadgen_join: lj ? lj.join : null,
      watchers_latency: lj && lj.bell ? { before: lj.bell.watchers_before || null, during: lj.bell.watchers_during || null,
        late: lj.bell.late, watch_s: lj.bell.watch_s } : null,
      loadgen_window: lj ? { lost: lj.lost, latency_p99_ms: lj.latency_p99_us / 1000, subscribers: lj.subscribers,
        subscribers_failed: lj.subscribers_failed } : null,
      loadavg_start: load0, loadavg_end: machineNote().loadavg,
      perf_top: perfTop,
      each_browser: browsersRes,
      page_log: logLines.slice(0, 50),
    };
  } finally {
    for (const p of pages) await p.context.close().catch(() => {});
    if (lg && lg.exitCode === null) lg.kill('SIGKILL');
    await srv.stop();
  }
}

// ---------------------------------------------------------------- report
function fmt(x) { return x === null || x === undefined ? '-' : (x === Infinity ? 'none' : String(x)); }

function markdown(res) {
  const L = [];
  const m = res.machine;
  L.push('# Join benchmark: pressing Join to the first picture');
  L.push('');
  L.push(`${res.date}; commit ${res.commit}; ${m.cpus} CPUs (${m.model}); Chromium ${res.chromium}.`);
  L.push(`Reproduce: \`${res.command}\` (docs/bench-join.md).`);
  L.push('');
  const s = res.single;
  if (s) {
    L.push('## 1 student, demo lesson (local test source, as scripts/run.sh)');
    L.push('');
    L.push(`${s.ok} of ${s.runs} runs got a picture; load average ${s.loadavg_start} at the start, ${s.loadavg_end} at the end.`);
    L.push(`Page load (navigation to the load event, fresh context): p50 ${fmt(s.page_load_ms.p50)} ms, p95 ${fmt(s.page_load_ms.p95)} ms.`);
    L.push('');
    L.push('| stage (ms after Join was pressed) | p50 | p95 | max | n |');
    L.push('|---|---:|---:|---:|---:|');
    for (const [name, st] of Object.entries(s.stages)) L.push(`| ${st.meaning} | ${fmt(st.p50)} | ${fmt(st.p95)} | ${fmt(st.max)} | ${st.n} |`);
    L.push('');
    const ff = s.stages.first_frame;
    L.push(`**Target: p50 < 250 ms from Join to the first decoded frame: ${ff.p50 !== null && ff.p50 < 250 ? 'met' : 'NOT met'}** (p50 ${fmt(ff.p50)} ms, presented; decoded per getStats p50 ${fmt(s.stages.first_decoded.p50)} ms).`);
    L.push('');
  }
  const b = res.bell;
  if (b) {
    L.push(`## ${b.students} students at the bell`);
    L.push('');
    L.push(`${b.browsers} Chromium pages and ${b.loadgen_joiners} load-generator students join within ${b.spread_s} s while ${b.watchers} load-generator students already watch; load average ${b.loadavg_start} at the start, ${b.loadavg_end} at the end.`);
    L.push('');
    const a = b.all_students_first_picture_ms;
    L.push('| who | n | p50 (ms) | p95 (ms) | max (ms) |');
    L.push('|---|---:|---:|---:|---:|');
    L.push(`| all ${b.students} students (a missing picture counts as the slowest) | ${a.n} (${a.missing} without a picture) | ${fmt(a.p50)} | ${fmt(a.p95)} | |`);
    L.push(`| Chromium: Join -> first frame presented | ${b.browsers_first_frame_ms.n} | ${fmt(b.browsers_first_frame_ms.p50)} | ${fmt(b.browsers_first_frame_ms.p95)} | ${fmt(b.browsers_first_frame_ms.max)} |`);
    const kf = b.loadgen_join && b.loadgen_join.keyframe_ms;
    if (kf) L.push(`| load generator: WHEP POST -> first complete keyframe | ${kf.n} | ${fmt(r1(kf.p50))} | ${fmt(r1(kf.p95))} | ${fmt(r1(kf.max))} |`);
    L.push('');
    const w = b.watchers_latency;
    if (w && w.during) {
      L.push(`Forwarding latency of the students already watching (publisher send -> subscriber receive): before the bell p99 ${fmt(r1(w.before && w.before.latency_p99_ms))} ms; from the bell to ${w.watch_s} s after it p50 ${fmt(r1(w.during.latency_p50_ms))} ms, **p99 ${fmt(r1(w.during.latency_p99_ms))} ms**, max ${fmt(r1(w.during.latency_max_ms))} ms${w.late ? ' (the bell rang before the window opened: LATE, not comparable)' : ''}.`);
    } else {
      L.push('Forwarding latency of the watchers: not measured (see the load generator log).');
    }
    L.push('');
    const ok95 = a.p95 !== null && a.p95 < 500;
    const okLat = w && w.during && w.during.latency_p99_ms < 20;
    L.push(`**Targets: p95 < 500 ms to the first picture: ${ok95 ? 'met' : 'NOT met'} (${fmt(a.p95)} ms); forwarding p99 < 20 ms meanwhile: ${okLat ? 'met' : 'NOT met'} (${fmt(r1(w && w.during && w.during.latency_p99_ms))} ms).**`);
    L.push('');
    L.push('Chromium stages at the bell (ms after Join):');
    L.push('');
    L.push('| stage | p50 | p95 | max | n |');
    L.push('|---|---:|---:|---:|---:|');
    for (const [, st] of Object.entries(b.browser_stages)) L.push(`| ${st.meaning} | ${fmt(st.p50)} | ${fmt(st.p95)} | ${fmt(st.max)} | ${st.n} |`);
    if (b.loadgen_join) {
      L.push('');
      L.push('Load-generator joiners (ms after the WHEP POST): ' + ['answer_ms', 'ice_ms', 'srtp_ms', 'first_rtp_ms', 'first_video_ms', 'keyframe_ms']
        .filter((k) => b.loadgen_join[k]).map((k) => `${k.replace('_ms', '')} p50 ${fmt(r1(b.loadgen_join[k].p50))} / p95 ${fmt(r1(b.loadgen_join[k].p95))}`).join('; ') + '.');
    }
    L.push('');
  }
  if (b && b.perf_top) {
    L.push('Where the server\'s CPU went from the bell to 4 s after it (perf record -g on the server; by library, the DTLS handshake path inclusive by thread, and the top symbols; all in join-runs/bell.perf.txt):');
    L.push('');
    L.push('```');
    for (const l of b.perf_top) L.push(l);
    L.push('```');
    L.push('');
  }
  L.push('Every number: join.json (per run and per page, with the WebSocket messages seen).');
  return L.join('\n') + '\n';
}

// ------------------------------------------------------------------ main
let browser = null;
const res = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  command: `scripts/bench/join ${argv.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`.trim(),
  machine: machineNote(),
};
try {
  res.commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch (_) { res.commit = 'unknown'; }
try {
  browser = await launch();
  res.chromium = browser.version();
  if (opt.scenarios.includes('single')) res.single = await scenarioSingle(browser);
  if (opt.scenarios.includes('bell')) res.bell = await scenarioBell(browser);
} finally {
  if (browser) await browser.close().catch(() => {});
}
mkdirSync(opt.out, { recursive: true });
writeFileSync(path.join(opt.out, 'join.json'), JSON.stringify(res, null, 2) + '\n');
const md = markdown(res);
writeFileSync(path.join(opt.out, 'join.md'), md);
process.stdout.write(md);
log(`wrote ${path.join(opt.out, 'join.md')} and join.json`);
process.exit(0);
