#!/usr/bin/env bash
# WHEP interop with GStreamer's webrtcbin: a real `classcast serve --source
# test-video,test-audio` (the demo lesson, WHEP without a token from
# loopback) on free loopback ports, then tests/interop/webrtcbin_peer as a
# WHEP viewer twice: bundle-policy max-bundle (every section after the first
# offered with port 0 and a=bundle-only, RFC 8843 section 7.2) and
# max-compat (a port on every section). Each must decode at least FRAMES
# video frames and some audio within its timeout. Prints the viewer's JSON
# result line for each run.
# usage: whep_interop.sh CLASSCAST_BINARY WEBRTCBIN_PEER SOURCE_ROOT [FRAMES] [TIMEOUT_S]
set -u
BIN=$1
PEER=$2
ROOT=$3
FRAMES=${4:-60}
TIMEOUT_S=${5:-30}

for f in "$BIN" "$PEER"; do
  if [ ! -x "$f" ]; then
    echo "whep_interop: FAILED: $f is not an executable (build it first)"
    exit 1
  fi
done

TMP=$(mktemp -d /tmp/cc-whep-interop.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --http-port 0 / --udp-port 0: the server picks free ports and says which.
"$BIN" serve --bind 127.0.0.1 --http-port 0 --udp-port 0 --state-dir "$TMP/state" \
  --web-root "$ROOT/web" --pipelines "$ROOT/pipelines" \
  --source test-video,test-audio --log-level warn 2>"$TMP/server.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 150); do
  PORT=$(grep -o 'listening http://127.0.0.1:[0-9]*' "$TMP/server.log" | head -n1 | sed 's/.*://')
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "whep_interop: FAILED: the server did not start; its log:"
  cat "$TMP/server.log"
  exit 1
fi
URL="http://127.0.0.1:$PORT/whep/demo"

FAILED=0
for policy in max-bundle max-compat; do
  # The viewer bounds itself (--timeout); timeout(1) is the backstop for a
  # hang in GStreamer's teardown.
  timeout -k 5 $((TIMEOUT_S + 20)) "$PEER" --whep "$URL" --bundle-policy "$policy" \
    --frames "$FRAMES" --timeout "$TIMEOUT_S" \
    --dump-offer "$TMP/offer-$policy.sdp" --dump-answer "$TMP/answer-$policy.sdp" \
    >"$TMP/result-$policy.json" 2>"$TMP/peer-$policy.log"
  rc=$?
  result=$(cat "$TMP/result-$policy.json")
  echo "whep_interop: $policy: ${result:-no result} (exit $rc)"
  if [ $rc -ne 0 ]; then
    FAILED=1
    echo "whep_interop: FAILED: webrtcbin ($policy) did not decode $FRAMES video frames and audio within ${TIMEOUT_S} s"
    echo "--- webrtcbin log ($policy) ---"; tail -n 30 "$TMP/peer-$policy.log"
    echo "--- offer ($policy) ---"; cat "$TMP/offer-$policy.sdp" 2>/dev/null
    echo "--- answer ($policy) ---"; cat "$TMP/answer-$policy.sdp" 2>/dev/null
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "whep_interop: FAILED: the server died during the $policy run; its log:"
    tail -n 40 "$TMP/server.log"
    SERVER_PID=
    exit 1
  fi
done

# The server must stop cleanly on SIGTERM (and, under ASan, report nothing).
kill "$SERVER_PID"
wait "$SERVER_PID"
src=$?
SERVER_PID=
if [ $src -ne 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/server.log"; then
  echo "whep_interop: FAILED: the server exited $src after SIGTERM; its log:"
  tail -n 40 "$TMP/server.log"
  FAILED=1
fi
[ $FAILED -eq 0 ] && echo "whep_interop: ok (max-bundle and max-compat)"
exit $FAILED
