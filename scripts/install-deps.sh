#!/usr/bin/env bash
# Install what classcast needs to build, run and test on Debian 12.
# Idempotent: installs only missing packages; a second run installs nothing.
# usage: scripts/install-deps.sh [--bench]
set -euo pipefail

cd "$(dirname "$0")/.."

PKGS=(
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev libwebsockets-dev libsrtp2-dev libopus-dev
  libvpx-dev libssl-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev libqrencode-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-tools xvfb chromium
  # e2e https: certutil puts the school CA into a test browser's NSS
  # database; ip (iproute2) makes the test's network namespaces
  libnss3-tools iproute2
  # tests/build: config_cli.sh asks the started server with curl and finds a
  # free port with python3 (check_wraps.py is python3 too)
  curl python3
  # e2e: GET /metrics is read with Prometheus' own Python text-format parser
  # (prometheus_client.parser; tests/e2e/lib/prom.mjs runs /usr/bin/python3)
  python3-prometheus-client
  # capture: ximagesink draws moving test content on Xvfb; alsasrc
  # (pipelines/mic-alsa.pipe); pipewiresrc (pipelines/screen-pipewire.pipe)
  gstreamer1.0-x gstreamer1.0-alsa gstreamer1.0-pipewire
  # recordings (docs/recording.md): test_recorder and the e2e test check
  # each file with gst-discoverer-1.0
  gstreamer1.0-plugins-base-apps
  # interop tests: GStreamer's webrtcbin as a second WebRTC peer
  # (tests/interop/webrtcbin_peer.c adds 127.0.0.1 to its NiceAgent)
  libnice-dev gstreamer1.0-nice
)
# --bench: also what scripts/bench/ needs (Janus for the side-by-side runs,
# gnuplot for the plot); the normal test run does not pay for it.
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(janus gnuplot-nox jq curl iproute2)
fi
# The machine may ship Node.js outside apt; never install Debian's over it.
if ! command -v node >/dev/null 2>&1; then
  PKGS+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  PKGS+=(npm)
fi

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for p in "${PKGS[@]}"; do
  if ! is_installed "$p"; then
    missing+=("$p")
  fi
done

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "install-deps: installed: ${missing[*]}"
else
  echo "install-deps: all ${#PKGS[@]} Debian packages already installed"
fi

# End-to-end test dependencies (playwright-core only; it never downloads a
# browser: tests use /usr/bin/chromium).
E2E=tests/e2e
if [ -f "$E2E/package-lock.json" ]; then
  if [ ! -d "$E2E/node_modules" ] || [ "$E2E/package-lock.json" -nt "$E2E/node_modules" ]; then
    echo "install-deps: npm ci in $E2E"
    (cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$E2E/node_modules"
    echo "install-deps: installed npm packages: $(cd "$E2E" && node -e 'const l=require("./package-lock.json");console.log(Object.keys(l.packages).filter(Boolean).map(k=>k.replace(/^node_modules\//,"")+"@"+l.packages[k].version).join(" "))')"
  else
    echo "install-deps: $E2E/node_modules up to date"
  fi
fi
