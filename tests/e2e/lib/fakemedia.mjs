// Files for Chromium's fake capture devices (--use-file-for-fake-audio-
// capture, --use-file-for-fake-video-capture; Chromium loops both), so
// pages that publish carry a sound loud enough to count as speech and a
// small moving picture.
import { writeFileSync } from 'node:fs';

// A sound like a voice for Chromium's fake microphone (it loops the file),
// 16-bit mono 48 kHz WAV: twelve harmonics of a pitch that glides between
// about 95 and 205 Hz, a formant that moves, and four syllables a second
// (the loudness swings between 0.3 and 1 of its peak, about -9 dBFS). It
// is never silent, so every packet counts as speech for the RFC 6464
// last-N. Not a steady tone: the pages ask for noise suppression, which
// learns a steady tone as noise and pushes it down to around -50 dBov,
// where about half its packets count as silence (measured: 17-29 of 50
// packets a second counted as speech for a 440 Hz tone, 47-50 for this).
export function voiceWav(file, seconds = 4) {
  const rate = 48000, n = rate * seconds, syllables = 4;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    // Whole cycles per loop (0.75 Hz over 4 s), so the loop has no click.
    const f0 = 150 + 40 * Math.sin(2 * Math.PI * 0.75 * t) + 15 * Math.sin(2 * Math.PI * syllables * t);
    phase += 2 * Math.PI * f0 / rate;
    const formant = 500 + 300 * Math.sin(Math.PI * syllables * t);
    let v = 0;
    for (let k = 1; k <= 12; k++) {
      const gain = (1 + 2 * Math.exp(-(((k * f0 - formant) / 150) ** 2) / 2)) / k;
      v += gain * Math.sin(k * phase);
    }
    const loud = 0.3 + 0.35 * (1 - Math.cos(2 * Math.PI * syllables * t));
    b.writeInt16LE(Math.max(-32767, Math.min(32767, Math.round(3500 * loud * v))), 44 + i * 2);
  }
  writeFileSync(file, b);
  return file;
}

// A small moving picture for Chromium's fake cameras (Y4M, 4:2:0, looped
// by Chromium): every page's camera is 320x240 at 15 fps whatever the page
// asks for, so six or seven pages encode and decode on a 2-core machine.
// Smooth moving waves and a bar: every frame differs, and key frames stay
// camera-sized (with a noisy picture, each key frame the server asks for
// when someone joins is so large that the encoder skips the next frames,
// a "freeze" that says nothing about the seminar).
export function cameraY4m(file, { width = 320, height = 240, fps = 15, frames = 30 } = {}) {
  const ySize = width * height, cSize = (width / 2) * (height / 2);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const frameHead = Buffer.from('FRAME\n');
  const out = Buffer.alloc(header.length + frames * (frameHead.length + ySize + 2 * cSize));
  let o = header.copy(out, 0);
  for (let f = 0; f < frames; f++) {
    o += frameHead.copy(out, o);
    const bar = Math.round((f / frames) * width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = 120 + Math.round(50 * Math.sin((x + 3 * f) / 23) * Math.cos((y - 2 * f) / 31));
        if (Math.abs(x - bar) < 12) v = 235;
        out[o++] = Math.max(16, Math.min(235, v));
      }
    }
    for (let i = 0; i < cSize; i++) out[o + i] = 128 + Math.round(30 * Math.sin((i % (width / 2) + f) / 15));
    o += cSize;
    for (let i = 0; i < cSize; i++) out[o + i] = 128 + Math.round(30 * Math.cos(Math.floor(i / (width / 2)) / 10));
    o += cSize;
  }
  writeFileSync(file, out);
  return file;
}

// A camera whose every frame carries its number (0..frames-1, frames at
// most 255) as 8 blocks in its top band, white for 1 and black for 0, with
// a white and a black reference block after them; below, moving waves (so
// every frame differs). readFrameCounter (run in a page, on a <video> or
// any drawable) reads it back at whatever size the picture arrives: what a
// student saw can be compared with what a recording holds.
export function counterY4m(file, { width = 320, height = 240, fps = 15, frames = 240 } = {}) {
  if (frames > 255) throw new Error('counterY4m: at most 255 frames');
  const ySize = width * height, cSize = (width / 2) * (height / 2);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const frameHead = Buffer.from('FRAME\n');
  const out = Buffer.alloc(header.length + frames * (frameHead.length + ySize + 2 * cSize));
  let o = header.copy(out, 0);
  const block = (x, y) => {
    for (let i = 0; i < 10; i++) {
      const bx = 10 + i * 28;
      if (x >= bx && x < bx + 20 && y >= 10 && y < 34) return i;
    }
    return -1;
  };
  for (let f = 0; f < frames; f++) {
    o += frameHead.copy(out, o);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const b = y < 44 ? block(x, y) : -1;
        let v;
        if (b >= 0) v = b < 8 ? ((f >> (7 - b)) & 1 ? 235 : 16) : (b === 8 ? 235 : 16);
        else if (y < 44) v = 128;
        else v = 120 + Math.round(50 * Math.sin((x + 3 * f) / 23) * Math.cos((y - 2 * f) / 31));
        out[o++] = Math.max(16, Math.min(235, v));
      }
    }
    out.fill(128, o, o + 2 * cSize);
    o += 2 * cSize;
  }
  writeFileSync(file, out);
  return file;
}

// In a page: the frame number counterY4m drew into `source` (a <video>),
// or -1 if the blocks cannot be read (no picture, a black filler frame).
export function readFrameCounter(source) {
  const w = source.videoWidth || source.width, h = source.videoHeight || source.height;
  if (!w || !h) return -1;
  const c = document.createElement('canvas');
  c.width = 320;
  c.height = 240;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(source, 0, 0, 320, 240);
  const luma = (i) => {
    const d = g.getImageData(10 + i * 28 + 6, 16, 8, 12).data;
    let s = 0;
    for (let k = 0; k < d.length; k += 4) s += 0.299 * d[k] + 0.587 * d[k + 1] + 0.114 * d[k + 2];
    return s / (d.length / 4);
  };
  const white = luma(8), black = luma(9);
  if (white - black < 80) return -1;
  const mid = (white + black) / 2;
  let n = 0;
  for (let i = 0; i < 8; i++) n = (n << 1) | (luma(i) > mid ? 1 : 0);
  return n;
}
