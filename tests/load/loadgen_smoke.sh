#!/usr/bin/env bash
# Load-generator smoke test: a real `classcast serve --demo` on loopback
# (free ports), `classcast-loadgen` publishing a recorded VP8 + Opus stream
# over WHIP into the demo lesson and 20 WHEP subscribers for 5 s. Fails if
# any subscriber does not connect, receives no video or audio, or misses a
# packet (loadgen --check). The media is recorded once with GStreamer
# (videotestsrc zone plate, 640x360, real libvpx VP8; audiotestsrc, real
# libopus) into RFC 4571 RTP files.
# With a sixth argument "shared" the subscribers each get their own address
# in 127.77.0.0/16 on one shared socket (loadgen --sub-net), the mode the
# fan-out benchmark uses. With "churn=RATE" subscribers leave and join RATE
# times a second all through the run (loadgen --churn, docs/loadgen.md
# "Churn"); the check is then that every join connects and every life long
# enough to be measured gets video and audio. With "bell" half of the
# subscribers watch from the start and the other half join at a class
# bell 3 s later, spread over one second (loadgen --bell-at, docs/loadgen.md
# "Joins and the class bell"); besides --check, every joiner must have
# received a complete keyframe and the watchers' latency during the bell
# must have been measured (no timing is asserted).
# In every mode the server is stopped with SIGTERM at the end and the test
# fails if it crashed or its log has a sanitizer report (an ASan build's
# LeakSanitizer runs at that exit).
# usage: loadgen_smoke.sh CLASSCAST LOADGEN SOURCE_ROOT [SUBSCRIBERS] [SECONDS] [shared|churn=RATE|bell]
set -u
BIN=$1
LOADGEN=$2
ROOT=$3
N=${4:-20}
SECS=${5:-5}
MODE=${6:-}
EXTRA=()
case "$MODE" in
  "") ;;
  shared) EXTRA=(--sub-net 127.77.0.0/16) ;;
  churn=*) EXTRA=(--churn "${MODE#churn=}") ;;
  bell) ;; # its arguments need the time: below
  *) echo "loadgen_smoke: unknown mode '$MODE' (shared, churn=RATE or bell)"; exit 1 ;;
esac

if ! command -v gst-launch-1.0 >/dev/null 2>&1; then
  echo "loadgen_smoke: gst-launch-1.0 not installed (gstreamer1.0-tools; scripts/install-deps.sh installs it)"
  exit 1
fi

TMP=$(mktemp -d /tmp/cc-loadgen-smoke.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

timeout 60 gst-launch-1.0 -q videotestsrc is-live=false num-buffers=150 pattern=zone-plate kx2=20 ky2=20 kt=1 \
  ! video/x-raw,width=640,height=360,framerate=30/1 \
  ! vp8enc deadline=1 cpu-used=8 target-bitrate=800000 end-usage=cbr keyframe-max-dist=60 \
  ! rtpvp8pay pt=96 mtu=1200 picture-id-mode=15-bit ! rtpstreampay \
  ! filesink location="$TMP/video.rtp" || { echo "loadgen_smoke: recording video failed"; exit 1; }
timeout 60 gst-launch-1.0 -q audiotestsrc is-live=false num-buffers=250 samplesperbuffer=960 wave=ticks \
  ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 bitrate=64000 \
  ! rtpopuspay pt=111 ! rtpstreampay \
  ! filesink location="$TMP/audio.rtp" || { echo "loadgen_smoke: recording audio failed"; exit 1; }

# A 43-character token (CC_LESSON_TOKEN_LEN) for the demo lesson.
TOKEN=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)
while [ ${#TOKEN} -lt 43 ]; do TOKEN="${TOKEN}x"; done

"$BIN" serve --demo-token "$TOKEN" --bind 127.0.0.1 --http-port 0 --udp-port 0 \
  --web-root "$ROOT/web" --log-level warn --state-dir "$TMP/state" 2>"$TMP/server.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
  PORT=$(grep -o 'listening http://127.0.0.1:[0-9]*' "$TMP/server.log" | sed 's/.*://')
  [ -n "$PORT" ] && break
  sleep 0.05
done
if [ -z "$PORT" ]; then
  echo "loadgen_smoke: the server did not start:"; cat "$TMP/server.log"; exit 1
fi

if [ "$MODE" = bell ]; then
  BELL=$(awk -v t="$(date +%s.%N)" 'BEGIN { printf "%.3f", t + 3 }')
  EXTRA=(--sub-net 127.77.0.0/16 --bell-at "$BELL" --bell-joiners $((N / 2)) --bell-spread 1)
fi
timeout $((SECS + 60)) "$LOADGEN" \
  --whip "http://127.0.0.1:$PORT/whip/demo" --whip-token "$TOKEN" \
  --whep "http://127.0.0.1:$PORT/whep/demo" --token "$TOKEN" \
  --video "$TMP/video.rtp" --audio "$TMP/audio.rtp" \
  -n "$N" --duration "$SECS" --verify-sample 5 --check --per-subscriber \
  --json "$TMP/loadgen.json" "${EXTRA[@]+"${EXTRA[@]}"}"
rc=$?
if [ $rc -ne 0 ]; then
  echo "loadgen_smoke: loadgen exited $rc; server log:"
  tail -n 40 "$TMP/server.log"
fi
if [ $rc -eq 0 ] && [ "$MODE" = bell ]; then
  python3 - "$TMP/loadgen.json" "$((N / 2))" <<'PY' || rc=1
import json, sys
j = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
join, bell = j.get("join") or {}, j.get("bell") or {}
kf = join.get("keyframe_ms") or {}
bad = []
if join.get("subscribers") != want: bad.append(f"join.subscribers {join.get('subscribers')} != {want}")
if join.get("no_keyframe") != 0 or kf.get("n") != want: bad.append(f"joiners without a complete keyframe: {join.get('no_keyframe')}, with: {kf.get('n')}")
if bell.get("late"): bad.append("the bell rang before the window opened")
if not (bell.get("watchers_during") or {}).get("samples"): bad.append("no watcher latency samples during the bell")
if bad:
    print("loadgen_smoke: bell: " + "; ".join(bad)); sys.exit(1)
print(f"loadgen_smoke: bell: {want} joiners, all with a keyframe (p50 {kf['p50']:.0f} ms after the POST); "
      f"watchers during the bell: {bell['watchers_during']['samples']} latency samples")
PY
fi

# Stop the server the way an operator does and let it exit by itself
# (bounded: 20 s), so that LeakSanitizer runs.
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "loadgen_smoke: the server died during the run:"
  tail -n 40 "$TMP/server.log"
  rc=1
else
  kill -TERM "$SERVER_PID"
  for _ in $(seq 200); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "loadgen_smoke: the server did not exit within 20 s of SIGTERM"
    rc=1
  else
    wait "$SERVER_PID"
    src=$?
    SERVER_PID=
    if [ $src -ne 0 ]; then
      echo "loadgen_smoke: the server exited $src"
      rc=1
    fi
  fi
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$TMP/server.log"; then
  echo "loadgen_smoke: sanitizer report in the server log:"
  grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TMP/server.log" | head -n 80
  rc=1
fi
exit $rc
