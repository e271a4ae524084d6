// Start a real classcast server for one test, on free loopback ports, and
// check on stop() that it neither crashed nor reported a sanitizer error.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { once } from 'node:events';
import net from 'node:net';
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS = path.join(REPO, 'tests', 'e2e', 'artifacts');
export const CC_BIN = path.resolve(REPO, process.env.CC_BIN || 'build/classcast');

const READY_RE = /classcast: listening http:\/\/(\S+?):(\d+)\S* udp (\S+):(\d+)/;
const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer|MemorySanitizer)|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error: /;
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export function artifactPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

async function freeTcpPort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function freeUdpPort(avoid) {
  for (let i = 0; i < 20; i++) {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    const { port } = s.address();
    await new Promise((r) => s.close(r));
    if (port !== avoid) return port;
  }
  throw new Error('no free UDP port');
}

// Starts `classcast serve`. name: used for the log file (<name>.server.log).
// Returns {url, httpPort, udpPort, proc, stderr(), stdout(), waitStdout(),
// alive(), stats(), stop()}.
// netns: run it inside that network namespace (`ip netns exec`; root), on
// `bind` with the fixed httpPort and udpPort given (a namespace the test
// made has every port free; stats() cannot reach it from outside).
// httpPort and udpPort without netns: a server on those ports of loopback,
// e.g. the same ports as one that was just stopped or killed (a restart:
// pass its `--state-dir` in extraArgs too, see restartServer below).
// env: more environment for the server (e.g. sanitizer options).
export async function startServer(name, { extraArgs = [], logLevel, netns, bind, httpPort, udpPort, env } = {}) {
  if (!existsSync(CC_BIN)) throw new Error(`server binary not found: ${CC_BIN} (build it, or set CC_BIN)`);
  const level = logLevel || process.env.CC_LOG_LEVEL || 'info';
  if (netns) return spawnServer(name, httpPort, udpPort, extraArgs, level, { netns, bind, env });
  if (httpPort && udpPort) {
    // The ports were just given up by the process before: the kernel has
    // them free at once (the server's listening socket uses SO_REUSEADDR),
    // but try again briefly in case the old process is still going.
    let lastErr;
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        return await spawnServer(name, httpPort, udpPort, extraArgs, level, { env });
      } catch (e) {
        lastErr = e;
        if (!/cannot listen|cannot open UDP|address already in use|EADDRINUSE/i.test(String(e.message))) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw lastErr;
  }
  let lastErr;
  // A port found free can be taken again before the server binds it; retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const httpPort = await freeTcpPort();
    const udpPort = await freeUdpPort(httpPort);
    try {
      return await spawnServer(name, httpPort, udpPort, extraArgs, level, { env });
    } catch (e) {
      lastErr = e;
      if (!/address already in use|EADDRINUSE|bind/i.test(String(e.message))) throw e;
    }
  }
  throw lastErr;
}

async function spawnServer(name, httpPort, udpPort, extraArgs, logLevel, { netns, bind = '127.0.0.1', env: moreEnv = {} } = {}) {
  const logFile = artifactPath(`${name}.server.log`);
  const log = createWriteStream(logFile);
  // Teacher accounts live in the state directory (docs/accounts.md): each
  // server gets a fresh, empty one unless the test names its own.
  let ownStateDir = null;
  if (!extraArgs.includes('--state-dir')) {
    ownStateDir = mkdtempSync(path.join(os.tmpdir(), `cc-e2e-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
    extraArgs = [...extraArgs, '--state-dir', ownStateDir];
  }
  const stateDir = extraArgs[extraArgs.indexOf('--state-dir') + 1];
  let teachersMade = 0;
  const args = ['serve', '--bind', bind, '--http-port', String(httpPort),
    '--udp-port', String(udpPort), '--web-root', path.join(REPO, 'web'),
    '--log-level', logLevel, ...extraArgs];
  log.write(`# ${CC_BIN} ${args.join(' ')}\n`);
  const env = {
    ...process.env,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
    ...moreEnv,
  };
  // `ip netns exec` execs the server in place: proc is the server itself.
  const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, CC_BIN, ...args]] : [CC_BIN, args];
  const proc = spawn(file, argv, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });

  let stderr = ''; // both streams, as they came
  let stdout = ''; // stdout alone: what the server prints for people
  let exit = null; // {code, signal} once exited
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { exit = { code, signal }; resolve(exit); });
    proc.on('error', (err) => { exit = { code: -1, signal: null, err }; resolve(exit); });
  });
  const capture = (buf) => {
    const s = buf.toString();
    if (stderr.length < 4 * 1024 * 1024) stderr += s;
    log.write(buf);
  };
  proc.stderr.on('data', capture);
  proc.stdout.on('data', capture);
  proc.stdout.on('data', (buf) => { if (stdout.length < 1024 * 1024) stdout += buf.toString(); });

  // Wait for the ready line, an early exit, or the timeout.
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => { cleanup(); resolve({ timeout: true }); }, READY_TIMEOUT_MS);
    const onData = () => {
      const m = READY_RE.exec(stderr);
      if (m) { cleanup(); resolve({ m }); }
    };
    const onExit = () => { cleanup(); resolve({ exited: true }); };
    function cleanup() {
      clearTimeout(timer);
      proc.stderr.off('data', onData);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
    }
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    proc.on('exit', onExit);
    onData();
    if (exit) onExit();
  });
  if (!ready.m) {
    if (!exit) { proc.kill('SIGKILL'); await exited; }
    await new Promise((r) => log.end(r));
    const why = ready.timeout ? `no ready line within ${READY_TIMEOUT_MS} ms`
      : `exited early (code ${exit.code}, signal ${exit.signal}${exit.err ? `, ${exit.err.message}` : ''})`;
    throw new Error(`classcast did not start: ${why}\n--- stderr (${logFile}) ---\n${stderr.slice(-4000)}`);
  }

  const url = `http://${bind.includes(':') ? `[${bind}]` : bind}:${httpPort}`;
  let stopped = false;

  return {
    url,
    httpPort,
    udpPort,
    proc,
    logFile,
    stderr: () => stderr,
    stdout: () => stdout,
    // Waits until the server's stdout matches `re`; returns the match, or
    // null after timeoutMs (or once the server exited).
    async waitStdout(re, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(stdout);
        if (m || exit !== null || Date.now() >= deadline) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    alive: () => exit === null,
    stateDir,
    // Makes a teacher account in this server's state directory the way an
    // operator does: `classcast teacher add NAME` with the password on
    // standard input (or --random: the generated password is returned).
    // Without a name, a fresh one. Returns {name, password, displayName}.
    async addTeacher({ name, password, displayName, admin = false, random = false } = {}) {
      teachersMade++;
      name = name || `teacher${teachersMade}`;
      password = random ? undefined : (password || `pass-${teachersMade}-${Math.random().toString(36).slice(2)}`);
      const args = ['teacher', 'add', name, '--state-dir', stateDir];
      if (admin) args.push('--admin');
      if (displayName) args.push('--display-name', displayName);
      if (random) args.push('--random');
      const cli = spawn(CC_BIN, args, { cwd: REPO, env: { ...process.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      cli.stdout.on('data', (b) => { out += b; });
      cli.stderr.on('data', (b) => { err += b; });
      cli.stdin.end(random ? '' : `${password}\n`);
      const [code] = await once(cli, 'exit');
      if (code !== 0) throw new Error(`classcast teacher add ${name} failed (${code}): ${err}`);
      if (random) password = out.trim().split('\n').pop();
      return { name, password, displayName: displayName || name };
    },
    async stats() {
      const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`/stats: HTTP ${res.status}`);
      return res.json();
    },
    // Kills the server with `signal` at once (SIGKILL: a crash, no cleanup)
    // and waits for it to exit. Throws if it had died before, or if a
    // sanitizer reported something up to then. After it, stop() does
    // nothing. Returns {code, signal}.
    async kill(signal = 'SIGKILL') {
      if (stopped) return exit;
      stopped = true;
      const diedBefore = exit !== null;
      if (!diedBefore) proc.kill(signal);
      const res = await exited;
      await new Promise((r) => log.end(r));
      const problems = [];
      if (diedBefore) problems.push(`server exited on its own before kill() (code ${exit.code}, signal ${exit.signal})`);
      const san = SANITIZER_RE.exec(stderr);
      if (san) problems.push(`sanitizer report on stderr: "${san[0]}"`);
      if (problems.length) throw new Error(`${problems.join('; ')}\n--- stderr tail (${logFile}) ---\n${stderr.slice(-6000)}`);
      return res;
    },
    // Stops the server and throws if it had crashed, did not stop in time, or
    // a sanitizer reported something. Safe to call twice.
    async stop() {
      if (stopped) return;
      stopped = true;
      const diedBefore = exit !== null;
      if (!diedBefore) proc.kill('SIGTERM');
      const res = await Promise.race([exited,
        new Promise((r) => setTimeout(() => r(null), STOP_TIMEOUT_MS).unref())]);
      let hung = false;
      if (res === null) { hung = true; proc.kill('SIGKILL'); await exited; }
      await new Promise((r) => log.end(r));
      const problems = [];
      if (diedBefore) problems.push(`server exited on its own before stop() (code ${exit.code}, signal ${exit.signal})`);
      else if (hung) problems.push(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
      else if (exit.signal && exit.signal !== 'SIGTERM') problems.push(`server died by ${exit.signal}`);
      else if (exit.code !== null && exit.code !== 0) problems.push(`server exited with code ${exit.code} after SIGTERM`);
      const san = SANITIZER_RE.exec(stderr);
      if (san) problems.push(`sanitizer report on stderr: "${san[0]}"`);
      if (ownStateDir && !problems.length) rmSync(ownStateDir, { recursive: true, force: true });
      if (problems.length) {
        throw new Error(`${problems.join('; ')}\n--- stderr tail (${logFile}) ---\n${stderr.slice(-6000)}`);
      }
    },
  };
}

// A new server in place of `old` (already stopped or killed): the same
// ports, the same state directory, so the pages that were connected to the
// old one find this one where they left it. name: its log file.
export function restartServer(old, name, { extraArgs = [], logLevel, env } = {}) {
  const args = extraArgs.includes('--state-dir') ? extraArgs : [...extraArgs, '--state-dir', old.stateDir];
  return startServer(name, { extraArgs: args, logLevel, env, httpPort: old.httpPort, udpPort: old.udpPort });
}
