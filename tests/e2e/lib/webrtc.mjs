// Read the echo page's RTCPeerConnection stats in one call.

// Runs inside the page (playwright serializes this function).
async function summarizeInPage() {
  const cc = window.ccEcho;
  const out = {
    state: cc ? cc.state : 'no-ccEcho',
    error: cc ? cc.error : null,
    connectionState: null,
    video: null,
    audio: null,
    transport: null,
    pair: null,
    codecs: {},
  };
  if (!cc || !cc.pc) return out;
  const pc = cc.pc;
  out.connectionState = pc.connectionState;
  const report = await pc.getStats();
  const codecs = {};
  const pairs = {};
  report.forEach((s) => {
    if (s.type === 'codec') codecs[s.id] = s.mimeType;
    if (s.type === 'candidate-pair') pairs[s.id] = s;
  });
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      if (!out.video || (s.framesDecoded || 0) > out.video.framesDecoded) {
        out.video = {
          ssrc: s.ssrc,
          framesDecoded: s.framesDecoded || 0,
          frameWidth: s.frameWidth || 0,
          frameHeight: s.frameHeight || 0,
          packetsReceived: s.packetsReceived || 0,
          packetsLost: s.packetsLost || 0,
          codec: codecs[s.codecId] || null,
        };
      }
    } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      if (!out.audio || (s.packetsReceived || 0) > out.audio.packetsReceived) {
        out.audio = {
          ssrc: s.ssrc,
          packetsReceived: s.packetsReceived || 0,
          packetsLost: s.packetsLost || 0,
          codec: codecs[s.codecId] || null,
        };
      }
    } else if (s.type === 'transport') {
      out.transport = {
        dtlsState: s.dtlsState,
        srtpCipher: s.srtpCipher,
        dtlsCipher: s.dtlsCipher,
        tlsVersion: s.tlsVersion,
        iceState: s.iceState,
        dtlsRole: s.dtlsRole,
      };
      const p = pairs[s.selectedCandidatePairId];
      if (p) out.pair = { state: p.state, bytesSent: p.bytesSent, bytesReceived: p.bytesReceived };
    }
  });
  return out;
}

export function echoStats(page) {
  return page.evaluate(summarizeInPage);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll `probe` every `intervalMs` until `ok(value)` or `timeoutMs` passes.
// Returns {ok, value, polls}. Bounded by both time and count.
export async function pollUntil(probe, ok, { timeoutMs, intervalMs = 500 }) {
  const deadline = Date.now() + timeoutMs;
  const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
  let value;
  let polls = 0;
  while (polls < maxPolls) {
    polls++;
    value = await probe();
    if (ok(value)) return { ok: true, value, polls };
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  return { ok: false, value, polls };
}
