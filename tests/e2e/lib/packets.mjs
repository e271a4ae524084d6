// Hand-built hostile datagrams for the server's UDP port: a seeded PRNG so a
// failure replays, and a STUN Binding request writer (RFC 8489 layout).
import { Buffer } from 'node:buffer';

// xorshift32 with a splitmix-style seed scramble: small, fast, and the same
// sequence on every run for a given seed.
export function prng(seed) {
  let s = (seed ^ 0x9e3779b9) >>> 0;
  s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
  s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
  s = (s ^ (s >>> 16)) >>> 0;
  if (s === 0) s = 0x1234567;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  return {
    u32: next,
    int: (lo, hi) => lo + (next() % (hi - lo + 1)), // inclusive
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
}

// CRC-32 (IEEE, reflected 0xEDB88320) for the STUN FINGERPRINT attribute.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (0xedb88320 ^ (c >>> 1)) : (c >>> 1);
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const STUN_MAGIC = 0x2112a442;

function attr(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const a = Buffer.alloc(4 + value.length + pad);
  a.writeUInt16BE(type, 0);
  a.writeUInt16BE(value.length, 2); // length excludes padding (RFC 8489 14)
  value.copy(a, 4);
  return a;
}

// A Binding request as an ICE controlling agent would send it, but whose
// MESSAGE-INTEGRITY is 20 random bytes. The FINGERPRINT is correct, so a
// server that checks FINGERPRINT first still reaches the integrity check.
export function stunBindingBadIntegrity(rng, username) {
  const txid = rng.bytes(12);
  const prio = Buffer.alloc(4); prio.writeUInt32BE(0x6e7f1eff, 0);
  const tiebreak = rng.bytes(8);
  const attrs = [
    attr(0x0006, Buffer.from(username, 'utf8')), // USERNAME
    attr(0x0024, prio), // PRIORITY
    attr(0x802a, tiebreak), // ICE-CONTROLLING
    attr(0x0008, rng.bytes(20)), // MESSAGE-INTEGRITY (wrong on purpose)
  ];
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0); // Binding request
  header.writeUInt32BE(STUN_MAGIC, 4);
  txid.copy(header, 8);
  // Length covers everything after the header, FINGERPRINT (8 bytes) included.
  const body = Buffer.concat(attrs);
  header.writeUInt16BE(body.length + 8, 2);
  const msg = Buffer.concat([header, body]);
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(msg) ^ 0x5354554e) >>> 0, 0); // RFC 8489 14.7
  return Buffer.concat([msg, attr(0x8028, fp)]);
}

// The first 10 bytes of a valid STUN header: too short to be anything.
export function stunTruncated(rng) {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(0x0001, 0);
  h.writeUInt16BE(0, 2);
  h.writeUInt32BE(STUN_MAGIC, 4);
  rng.bytes(12).copy(h, 8);
  return h.subarray(0, 10);
}

// A DTLS-looking record (content type 22 = handshake) followed by noise.
export function dtlsGarbage(rng) {
  const b = rng.bytes(rng.int(13, 600));
  b[0] = 22;
  return b;
}

// An RTP-looking packet: V=2, dynamic payload type, random SSRC, noise payload.
export function rtpLooking(rng) {
  const b = rng.bytes(12 + rng.int(20, 1200));
  b[0] = 0x80;
  b[1] = 96 + rng.int(0, 31); // 96..127: not an RTCP packet type (RFC 5761 4)
  b.writeUInt32BE(rng.u32(), 8);
  return b;
}

// Parse a=ice-ufrag from an SDP (session or first media level).
export function iceUfrag(sdp) {
  const m = /^a=ice-ufrag:(\S+)\s*$/m.exec(sdp || '');
  return m ? m[1] : null;
}
