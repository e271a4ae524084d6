// A user-space UDP relay between one browser and the server, on
// 127.0.0.1, to give one student a bad Wi-Fi link: this kernel has no
// netem (docs/TESTING.md, "Network rules for tests"). The browser talks to
// the relay's port; the relay talks to the server from its own socket.
// Downstream RTP (first byte 0x80-0xbf, second byte not an RTCP type
// 192-223, RFC 5761 section 4) is dropped with probability ctl.loss
// (seeded); STUN, DTLS and RTCP always pass, so the transport stays up.
//
// The relay runs on a worker thread of its own, with 4 MiB socket
// buffers: on the test's own thread, a busy moment of the test (Playwright
// calls, a screenshot, garbage collection) left the relay's socket unread
// long enough for the kernel to drop part of a keyframe, and a student on a
// "clean" relay was rightly shown on a weak link. counts.socketDrops is the
// kernel's count of datagrams it dropped at the relay's two sockets
// (/proc/net/udp), 0 when the relay loses only what it was told to.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { prng } from './packets.mjs';

const SOCKET_BUFFER = 4 << 20;
const COUNT = { up: 0, down: 0, dropped: 0 };

// The relay itself: ctl.loss read per packet, counts written per packet
// (plain objects, or views of the memory shared with the test's thread).
async function relayLoop(serverPort, seed, { upstream, host, onRtp, onPort }, ctl, counts) {
  const rnd = prng(seed);
  const opts = { type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER };
  const front = dgram.createSocket(opts);
  // One socket towards the server per client address, as a NAT maps each
  // flow: a browser checks from every local candidate, and with a single
  // upstream socket the server's packets went to whichever of them had
  // sent last (a media packet then arrived on a socket the browser was
  // not using: counted lost by its receiver reports, with no drop here).
  const backs = new Map(); // "address:port" -> { sock, client }
  const MAX_FLOWS = 16;
  const isRtp = (msg) => msg.length > 12 && msg[0] >= 0x80 && msg[0] < 0xc0 && !((msg[1] & 0x7f) >= 64 && (msg[1] & 0x7f) < 96);
  const lose = () => ctl.loss > 0 && (ctl.loss >= 1 || rnd.u32() / 4294967296 < ctl.loss);
  const lossy = (msg) => {
    if (!isRtp(msg)) return false;
    const drop = lose();
    onRtp?.(msg, drop);
    return drop;
  };
  const ports = [];
  const flow = (rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let f = backs.get(key);
    if (f || backs.size >= MAX_FLOWS) return f;
    f = { sock: dgram.createSocket(opts), client: { address: rinfo.address, port: rinfo.port }, queue: [], ready: false };
    backs.set(key, f);
    f.sock.on('message', (msg) => {
      if (!upstream && lossy(msg)) { counts.dropped++; return; }
      counts.down++;
      front.send(msg, f.client.port, f.client.address);
    });
    f.sock.bind(0, '127.0.0.1', () => {
      ports.push(f.sock.address().port);
      onPort?.(f.sock.address().port);
      f.ready = true;
      for (const m of f.queue.splice(0)) f.sock.send(m, serverPort, '127.0.0.1');
    });
    return f;
  };
  front.on('message', (msg, rinfo) => {
    const f = flow(rinfo);
    if (!f) return;
    if (upstream && lossy(msg)) { counts.dropped++; return; }
    counts.up++;
    if (f.ready) f.sock.send(msg, serverPort, '127.0.0.1');
    else f.queue.push(msg);
  });
  await new Promise((r) => front.bind(0, host, r));
  ports.push(front.address().port);
  return {
    ports, // the front socket's, then each flow's (for the kernel's drop counts)
    close: () => { front.close(); for (const f of backs.values()) f.sock.close(); },
  };
}

// Datagrams the kernel dropped at these local UDP ports (/proc/net/udp:
// local address as hex ip:port, the last column "drops").
function socketDrops(ports) {
  let n = 0;
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const port = parseInt(f[1].split(':')[1], 16);
      if (ports.includes(port)) n += Number(f[f.length - 1]) || 0;
    }
  } catch { /* not Linux: unknown, 0 */ }
  return n;
}

// upstream: drop the browser's RTP to the server instead (a teacher on a
// bad uplink); everything the server sends passes. host: the address the
// browser side listens on (0.0.0.0: a relay run inside the server's network
// namespace, reached at any of the server's addresses; the server is still
// reached on 127.0.0.1). onRtp(msg, dropped): called for each RTP packet
// in the lossy direction; a relay with onRtp runs on the caller's thread
// (scripts/bench/links runs it in a process of its own).
export async function lossyRelay(serverPort, loss, seed, { upstream = false, host = '127.0.0.1', onRtp } = {}) {
  if (onRtp) {
    const ctl = { loss };
    const counts = { ...COUNT };
    const r = await relayLoop(serverPort, seed, { upstream, host, onRtp }, ctl, counts);
    Object.defineProperty(counts, 'socketDrops', { enumerable: true, get: () => socketDrops(r.ports) });
    return { port: r.ports[0], counts, ctl, close: r.close };
  }
  const lossMem = new SharedArrayBuffer(8);
  const countMem = new SharedArrayBuffer(4 * Object.keys(COUNT).length);
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { relay: { serverPort, seed, upstream, host, lossMem, countMem } },
  });
  worker.unref(); // a relay left open does not keep the test process alive
  const lossView = new Float64Array(lossMem);
  lossView[0] = loss;
  const ports = await new Promise((resolve, reject) => {
    worker.once('message', (m) => resolve([...m]));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`relay worker exited (${code}) before it listened`)));
  });
  worker.on('message', (m) => ports.push(...m)); // each new flow's port
  const countView = new Int32Array(countMem);
  const counts = {};
  Object.keys(COUNT).forEach((k, i) => Object.defineProperty(counts, k, { enumerable: true, get: () => Atomics.load(countView, i) }));
  Object.defineProperty(counts, 'socketDrops', { enumerable: true, get: () => socketDrops(ports) });
  const ctl = {};
  Object.defineProperty(ctl, 'loss', { enumerable: true, get: () => lossView[0], set: (v) => { lossView[0] = v; } });
  return { port: ports[0], counts, ctl, close: () => { worker.terminate(); } };
}

if (!isMainThread && workerData?.relay) {
  const { serverPort, seed, upstream, host, lossMem, countMem } = workerData.relay;
  const lossView = new Float64Array(lossMem);
  const countView = new Int32Array(countMem);
  const ctl = { get loss() { return lossView[0]; } };
  const counts = {};
  Object.keys(COUNT).forEach((k, i) => Object.defineProperty(counts, k, {
    get: () => Atomics.load(countView, i), set: (v) => Atomics.store(countView, i, v),
  }));
  const r = await relayLoop(serverPort, seed, { upstream, host, onPort: (p) => parentPort.postMessage([p]) }, ctl, counts);
  parentPort.postMessage(r.ports);
}

// Sends a page's WebRTC media through the relay: the page's copy of the
// server's answer names the relay's port instead of the server's (an init
// script in that page only; the pages themselves are unchanged). Call
// before the page loads.
export async function viaRelay(page, serverPort, relayPort) {
  await page.addInitScript(([from, to]) => {
    const orig = RTCPeerConnection.prototype.setRemoteDescription;
    RTCPeerConnection.prototype.setRemoteDescription = function (desc) {
      if (desc && desc.sdp) desc = { type: desc.type, sdp: desc.sdp.split(` ${from} typ host`).join(` ${to} typ host`) };
      return orig.call(this, desc);
    };
  }, [serverPort, relayPort]);
}
