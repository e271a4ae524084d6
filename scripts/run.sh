#!/usr/bin/env bash
# Install what is missing, build classcast and run it in the foreground with
# a demo lesson (a moving test picture and a test tone). The server prints
# the teacher and student pages. Ctrl-C stops it.
#
#   ./scripts/run.sh         on this computer only (http://127.0.0.1)
#   ./scripts/run.sh --lan   also for the classroom network: listens on every
#                            address of this computer, over HTTPS (port 8443)
#                            with a school CA made at first start, and prints
#                            https links and the CA page devices trust once
set -euo pipefail

cd "$(dirname "$0")/.." || exit 1

BIND=${CC_BIND:-127.0.0.1}
case "${1:-}" in
  --lan) BIND=0.0.0.0 ;;
  "") ;;
  -h|--help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *) echo "run.sh: unknown option '$1' (try --lan)" >&2; exit 2 ;;
esac
HTTP_PORT=${CC_HTTP_PORT:-8080}
HTTPS_PORT=${CC_HTTPS_PORT:-8443}   # used with --lan (HTTPS off loopback)
UDP_PORT=${CC_UDP_PORT:-50000}

./scripts/install-deps.sh

if [ -f build/build.ninja ]; then
  CC=gcc meson setup --reconfigure build >/dev/null
else
  CC=gcc meson setup build
fi
ninja -C build

# --local-teacher: the teacher page on this computer itself (127.0.0.1)
# creates lessons without an account, so the demo stays one command;
# teachers on other computers sign in (docs/accounts.md).
# exec: the server gets Ctrl-C (SIGINT) directly and stops cleanly.
exec build/classcast serve --bind "$BIND" --http-port "$HTTP_PORT" \
  --https-port "$HTTPS_PORT" --udp-port "$UDP_PORT" --web-root web \
  --source test-video,test-audio --local-teacher
