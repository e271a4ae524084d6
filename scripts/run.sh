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

  Echo test (camera + microphone round trip): ${base}/echo.html
  Server counters (JSON):                     ${base}/stats
MSG
# --- URLS: teacher and student pages ---------------------------------------------
# When the classroom pages land, print them here, e.g.
#   echo "  Teacher: ${base}/teacher.html"
#   echo "  Students: ${base}/room.html"
# ----------------------------------------------------------------------------------
cat <<MSG

Press Ctrl-C to stop.

MSG

# exec: the server gets Ctrl-C (SIGINT) directly and stops cleanly.
exec build/classcast serve --bind "$BIND" --http-port "$HTTP_PORT" \
  --udp-port "$UDP_PORT" --web-root web
