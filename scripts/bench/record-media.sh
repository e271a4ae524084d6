#!/usr/bin/env bash
# The load generator's publisher stream, recorded once into DIR (default
# bench-results/fanout-media) and reused: DIR/video.rtp and DIR/audio.rtp,
# RTP packets framed as RFC 4571 (what `classcast-loadgen --video/--audio`
# reads).
#   video: zone-plate 1280x720 30 fps, vp8enc CBR 1.65 Mbit/s target
#          (1.54 Mbit/s on the wire with RTP headers), keyframe every 2 s,
#          keyframes capped at 9x an average frame (max-intra-bitrate 900,
#          as a browser's encoder caps them), 10 s;
#   audio: 48 kbit/s CBR Opus, 20 ms frames, 10 s.
# Used by scripts/bench/fanout and scripts/bench/join.
#
# usage: scripts/bench/record-media.sh [DIR]     (prints DIR)
set -euo pipefail

DIR=${1:-bench-results/fanout-media}
mkdir -p "$DIR"
if [ -s "$DIR/video.rtp" ] && [ -s "$DIR/audio.rtp" ]; then
  echo "$DIR"
  exit 0
fi
command -v gst-launch-1.0 >/dev/null 2>&1 ||
  { echo "record-media.sh: needs gst-launch-1.0 (scripts/install-deps.sh)" >&2; exit 1; }
echo "record-media.sh: recording the 1.5 Mbit/s 720p VP8 + 48 kbit/s Opus stream into $DIR" >&2
gst-launch-1.0 -q videotestsrc num-buffers=300 pattern=zone-plate kx2=20 ky2=20 kt=1 \
  ! video/x-raw,width=1280,height=720,framerate=30/1 \
  ! vp8enc deadline=1 cpu-used=8 target-bitrate=1650000 end-usage=cbr keyframe-max-dist=60 max-intra-bitrate=900 \
  ! rtpvp8pay pt=96 mtu=1200 picture-id-mode=15-bit ! rtpstreampay ! filesink location="$DIR/video.rtp.part" >&2
gst-launch-1.0 -q audiotestsrc num-buffers=500 samplesperbuffer=960 wave=ticks \
  ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 bitrate=48000 bitrate-type=cbr \
  ! rtpopuspay pt=111 ! rtpstreampay ! filesink location="$DIR/audio.rtp.part" >&2
mv "$DIR/video.rtp.part" "$DIR/video.rtp"
mv "$DIR/audio.rtp.part" "$DIR/audio.rtp"
echo "$DIR"
