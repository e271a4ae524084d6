// A user-space UDP relay between one browser and the server, on
// 127.0.0.1, to give one student a bad Wi-Fi link: this kernel has no
// netem (docs/TESTING.md, "Network rules for tests"). The browser talks to
// the relay's port; the relay talks to the server from its own socket.
// Downstream RTP (first byte 0x80-0xbf, second byte not an RTCP type
// 192-223, RFC 5761 section 4) is dropped with probability ctl.loss
// (seeded); STUN, DTLS and RTCP always pass, so the transport stays up.
import dgram from 'node:dgram';
import { prng } from './packets.mjs';

// upstream: drop the browser's RTP to the server instead (a teacher on a
// bad uplink); everything the server sends passes. host: the address the
// browser side listens on (0.0.0.0: a relay run inside the server's network
// namespace, reached at any of the server's addresses; the server is still
// reached on 127.0.0.1). onRtp(msg, dropped): called for each RTP packet
// in the lossy direction.
export async function lossyRelay(serverPort, loss, seed, { upstream = false, host = '127.0.0.1', onRtp } = {}) {
  const rnd = prng(seed);
  const ctl = { loss };
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client = null;
  const counts = { up: 0, down: 0, dropped: 0 };
  const isRtp = (msg) => msg.length > 12 && msg[0] >= 0x80 && msg[0] < 0xc0 && !((msg[1] & 0x7f) >= 64 && (msg[1] & 0x7f) < 96);
  const lose = () => ctl.loss > 0 && (ctl.loss >= 1 || rnd.u32() / 4294967296 < ctl.loss);
  const lossy = (msg) => {
    if (!isRtp(msg)) return false;
    const drop = lose();
    onRtp?.(msg, drop);
    return drop;
  };
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    if (upstream && lossy(msg)) { counts.dropped++; return; }
    counts.up++;
    back.send(msg, serverPort, '127.0.0.1');
  });
  back.on('message', (msg) => {
    if (!client) return;
    if (!upstream && lossy(msg)) { counts.dropped++; return; }
    counts.down++;
    front.send(msg, client.port, client.address);
  });
  await new Promise((r) => front.bind(0, host, r));
  await new Promise((r) => back.bind(0, '127.0.0.1', r));
  return { port: front.address().port, counts, ctl, close: () => { front.close(); back.close(); } };
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
