// Files for Chromium's fake capture devices (--use-file-for-fake-audio-
// capture, --use-file-for-fake-video-capture; Chromium loops both), so
// pages that publish carry a sound loud enough to count as speech and a
// small moving picture.
import { writeFileSync } from 'node:fs';

// A 440 Hz tone at -12 dBFS, 16-bit mono 48 kHz WAV, for Chromium's fake
// microphone (it loops the file): loud enough to count as speech.
export function toneWav(file, seconds = 4) {
  const rate = 48000, n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8200 * Math.sin(2 * Math.PI * 440 * i / rate)), 44 + i * 2);
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
