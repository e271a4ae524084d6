#!/usr/bin/env bash
# Start Debian's Janus 1.1.2 (VideoRoom over the HTTP API) inside the
# benchmark's server namespace with the trimmed configs beside this script,
# and wait (bounded) until its HTTP API answers GET /janus/info.
#
# usage: scripts/bench/janus/run-janus.sh start [--addr A] [--netns NS] [--out DIR] [--wait S]
#                                                [--event-loops N] [--ice-lite]
#        scripts/bench/janus/run-janus.sh stop  [--out DIR]
#        scripts/bench/janus/run-janus.sh status [--addr A] [--netns NS]
#
#   --addr A    the server namespace address (default 10.231.0.1, netns.sh's)
#   --netns NS  namespace to run in (default cc-srv; made by netns.sh up)
#   --out DIR   where the effective configs, janus.log and janus.pid go
#               (default ${TMPDIR:-/tmp}/classcast-bench-janus: run-time files,
#               never in the work tree)
#   --wait S    seconds to wait for the API (default 20)
#   --event-loops N  a shared pool of N event loops instead of one per handle
#               (janus.jcfg general.event_loops; 0 = Janus's default)
#   --ice-lite  ICE-Lite mode (janus.jcfg nat.ice_lite = true)
#   The two together are the "tuned" configuration of the fan-out benchmark
#   (docs/bench-janus.md, "Default and tuned"); without them Janus runs as
#   its defaults have it.
#
# `start` prints the API URL (http://A:8088/janus) on stdout and leaves Janus
# running in the background; `stop` ends only the process whose pid it wrote.
# Janus is installed by `scripts/install-deps.sh --bench`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
[ $# -gt 0 ] && shift

ADDR=10.231.0.1
NETNS=cc-srv
OUT=${TMPDIR:-/tmp}/classcast-bench-janus
WAIT=20
EVENT_LOOPS=0
ICE_LITE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --addr) ADDR=$2; shift 2 ;;
    --netns) NETNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --wait) WAIT=$2; shift 2 ;;
    --event-loops) EVENT_LOOPS=$2; shift 2 ;;
    --ice-lite) ICE_LITE=1; shift ;;
    *) echo "run-janus.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$EVENT_LOOPS" in ''|*[!0-9]*) echo "run-janus.sh: --event-loops takes a number" >&2; exit 2 ;; esac
URL="http://$ADDR:8088/janus"
PIDFILE=$OUT/janus.pid

in_ns() { ip netns exec "$NETNS" "$@"; }

api_answers() {
  in_ns curl -s -m 2 "$URL/info" 2>/dev/null | grep -q '"janus": *"server_info"'
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q janus "/proc/$pid/comm" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  command -v janus >/dev/null 2>&1 ||
    { echo "run-janus.sh: janus not installed (scripts/install-deps.sh --bench)" >&2; exit 1; }
  [ -e "/var/run/netns/$NETNS" ] ||
    { echo "run-janus.sh: no namespace $NETNS (scripts/bench/netns.sh up)" >&2; exit 1; }
  if pid=$(running_pid); then
    echo "run-janus.sh: janus already running (pid $pid)" >&2
  else
    mkdir -p "$OUT/conf"
    # Effective configs: the committed ones with the namespace address put in.
    local f
    for f in janus.jcfg janus.transport.http.jcfg janus.plugin.videoroom.jcfg; do
      sed "s/10\.231\.0\.1/$ADDR/g" "$HERE/$f" > "$OUT/conf/$f"
    done
    # The tuned configuration: edit the two settings in the effective copy.
    if [ "$EVENT_LOOPS" -gt 0 ]; then
      sed -i "s/^\t#event_loops = [0-9]*/\tevent_loops = $EVENT_LOOPS/" "$OUT/conf/janus.jcfg"
      grep -qE "^[[:space:]]+event_loops = $EVENT_LOOPS" "$OUT/conf/janus.jcfg" ||
        { echo "run-janus.sh: could not set event_loops in janus.jcfg" >&2; exit 1; }
    fi
    if [ "$ICE_LITE" = 1 ]; then
      sed -i "s/^\tice_lite = false/\tice_lite = true/" "$OUT/conf/janus.jcfg"
      grep -qE "^[[:space:]]+ice_lite = true" "$OUT/conf/janus.jcfg" ||
        { echo "run-janus.sh: could not set ice_lite in janus.jcfg" >&2; exit 1; }
    fi
    : > "$OUT/janus.log"
    # ip netns exec execs janus, so $! is janus's own pid.
    ip netns exec "$NETNS" janus -F "$OUT/conf" -C "$OUT/conf/janus.jcfg" \
      -N -L "$OUT/janus.log" -o </dev/null >/dev/null 2>>"$OUT/janus.log" &
    echo $! > "$PIDFILE"
  fi
  local deadline=$((SECONDS + WAIT))
  while [ $SECONDS -lt $deadline ]; do
    if api_answers; then
      echo "$URL"
      return 0
    fi
    if ! running_pid >/dev/null; then
      echo "run-janus.sh: janus exited; last log lines:" >&2
      tail -n 20 "$OUT/janus.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "run-janus.sh: janus API at $URL did not answer within ${WAIT}s" >&2
  tail -n 20 "$OUT/janus.log" >&2
  stop
  exit 1
}

stop() {
  local pid
  if pid=$(running_pid); then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" || true
    echo "run-janus.sh: stopped janus (pid $pid)" >&2
  fi
  rm -f "$PIDFILE"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status)
    if api_answers; then echo "$URL answers"; else echo "$URL does not answer"; exit 1; fi ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
