#!/usr/bin/env bash
# Install dependencies, build classcast and run it in the foreground on
# 127.0.0.1. Ctrl-C stops it.
set -euo pipefail

cd "$(dirname "$0")/.." || exit 1

BIND=${CC_BIND:-127.0.0.1}
HTTP_PORT=${CC_HTTP_PORT:-8080}
UDP_PORT=${CC_UDP_PORT:-50000}

./scripts/install-deps.sh

if [ -f build/build.ninja ]; then
  CC=gcc meson setup --reconfigure build >/dev/null
else
  CC=gcc meson setup build
fi
ninja -C build

base="http://${BIND}:${HTTP_PORT}"
cat <<MSG

classcast is starting on ${BIND} (HTTP ${HTTP_PORT}, media UDP ${UDP_PORT}).
A demo lesson (code: demo) is live with a moving test picture and a test tone.

  Teacher (start your own lesson):  ${base}/teacher.html
  Students (watch the demo lesson): ${base}/student.html?code=demo
  Join page (type a lesson code):   ${base}/
  Connection self-test (echo):      ${base}/echo.html
  Server counters (JSON):           ${base}/stats

Press Ctrl-C to stop.

MSG

# exec: the server gets Ctrl-C (SIGINT) directly and stops cleanly.
exec build/classcast serve --bind "$BIND" --http-port "$HTTP_PORT" \
  --udp-port "$UDP_PORT" --web-root web --source test-video,test-audio
