import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { launch, newPage } from './lib/lesson.mjs';
import { startStatic } from './lib/static.mjs';
import { pollUntil, sleep } from './lib/webrtc.mjs';
const st = await startStatic();
const b = await launch();
const { page } = await newPage(b, `${st.url}/index.html`);
const viewer = new RTCPeerConnection({
  codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] })],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })] },
  iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false });
const vtx = viewer.addTransceiver('video', { direction: 'recvonly' });
const atx = viewer.addTransceiver('audio', { direction: 'recvonly' });
const got = { v: 0, a: 0, ssrc: null, pt: null };
const udp = dgram.createSocket('udp4'); udp.bind(0, '127.0.0.1'); await once(udp, 'listening');
const port = 50777;
vtx.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((rtp) => { got.v++; got.ssrc = rtp.header.ssrc; got.pt = rtp.header.payloadType; udp.send(rtp.serialize(), port, '127.0.0.1'); }));
atx.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => got.a++));
await viewer.setLocalDescription(await viewer.createOffer());
const g = await pollUntil(() => Promise.resolve(viewer.iceGatheringState), (s) => s === 'complete', { timeoutMs: 5000, intervalMs: 50 });
console.log('gathering', g.value);
const offer = viewer.localDescription.sdp.split(/\r?\n/).filter((l) => !l.startsWith('a=candidate:') || / 127\.0\.0\.1 /.test(l)).join('\r\n');
console.log(offer.split('\n').filter(l => /candidate|rtpmap|m=/.test(l)).join('\n'));
const answer = await page.evaluate(async (sdp) => {
  const pc = new RTCPeerConnection(); window.pc = pc;
  const s = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  await pc.setRemoteDescription({ type: 'offer', sdp });
  for (const t of s.getTracks()) pc.addTrack(t, s);
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 3000); });
  return pc.localDescription.sdp;
}, offer);
const pt = /a=rtpmap:(\d+) VP8/.exec(answer)[1];
const gst = spawn('gst-launch-1.0', ['-v', 'udpsrc', 'address=127.0.0.1', `port=${port}`, `caps=application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=${pt}`, '!', 'rtpjitterbuffer', 'latency=100', '!', 'rtpvp8depay', '!', 'vp8dec', '!', 'fakesink', 'silent=false', 'sync=false']);
let frames = 0; let out = '';
const on = (d) => { const s = d.toString(); out += s; frames += (s.match(/last-message = chain/g) || []).length; };
gst.stdout.on('data', on); gst.stderr.on('data', on);
await sleep(500);
await viewer.setRemoteDescription({ type: 'answer', sdp: answer });
const pli = setInterval(() => { if (frames === 0 && got.ssrc !== null) vtx.receiver.sendRtcpPLI(got.ssrc); }, 1000);
const r = await pollUntil(() => Promise.resolve({ frames, ...got, c: viewer.connectionState }), (v) => v.frames >= 30 && v.a > 50, { timeoutMs: 20000, intervalMs: 500 });
clearInterval(pli);
console.log(r.ok, r.value, /width=\(int\)(\d+), height=\(int\)(\d+)/.exec(out)?.slice(1));
gst.kill(); udp.close(); await viewer.close(); await b.close(); await st.close();
