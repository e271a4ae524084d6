#!/usr/bin/env bash
# Churn soak (not part of the default test suite; bounded in time): the
# sanitizer build of the server (ASan + UBSan; LeakSanitizer at its exit)
# runs `classcast serve --demo-token T` on loopback while the load generator
# (plain build) publishes a recorded VP8 + Opus stream over WHIP the whole
# time and keeps N WHEP subscribers live, R of them leaving (DELETE) and R
# joining (new POST, new transport) every second (classcast-loadgen
# --churn, docs/loadgen.md "Churn"). Every 5 s it samples the server's RSS
# (/proc/PID/status VmRSS) and GET /stats; at the end it prints (and writes
# to bench-results/soak.md) the minutes run, joins, leaves, join failures,
# packets forwarded, the RSS at the baseline minute (the 2nd) and at the
# last one with min and max between, the growth in %, sanitizer reports in
# the server's stderr, whether the server crashed, and a verdict:
#   PASS  no crash, no sanitizer report, RSS grew at most 10% from the
#         baseline minute to the last, and the churn ran as asked (at
#         least 90% of the joins asked for were made, at most 1% failed:
#         a soak whose students never got in proves nothing); exit 0
#   FAIL  otherwise; exit 1 (2: could not run)
# The logs (server stderr, load generator output, samples) stay in a
# directory under /tmp whose name is printed.
# The baseline is minute 2, not 0: the first minute fills pools and caches
# that then stay (the SFU's packet pool, ASan's quarantine, glibc arenas of
# the threads); a leak keeps growing after that.
#
# usage: scripts/soak.sh [--minutes M] [--subscribers N] [--rate R]
#                        [--build DIR] [--asan-build DIR] [--out FILE]
#   --minutes M        churn this long (default 10)
#   --subscribers N    live subscribers (default 200)
#   --rate R           joins per second, and as many leaves (default 20)
#   --build DIR        plain build with classcast-loadgen (default build)
#   --asan-build DIR   ASan+UBSan build with classcast (default build-asan,
#                      the directory scripts/test.sh makes; set up here with
#                      the same options if missing)
#   --out FILE         the report (default bench-results/soak.md)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

MINUTES=10
SUBS=200
RATE=20
BUILD=build
ASAN_BUILD=build-asan
OUT=bench-results/soak.md
ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --subscribers) SUBS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --asan-build) ASAN_BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown option $1 (--help)"; exit 2 ;;
  esac
done
is_num() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
if ! [[ "$MINUTES" =~ ^[0-9]+$ ]] || [ "$MINUTES" -lt 1 ] || [ "$MINUTES" -gt 180 ] ||
   ! [[ "$SUBS" =~ ^[0-9]+$ ]] || [ "$SUBS" -lt 1 ] || [ "$SUBS" -gt 2000 ] ||
   ! is_num "$RATE" || ! awk -v r="$RATE" 'BEGIN { exit !(r > 0 && r <= 200) }'; then
  echo "soak: --minutes 1..180 (whole), --subscribers 1..2000, --rate 0 < R <= 200"
  exit 2
fi
for tool in gst-launch-1.0 curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "soak: $tool is not installed (scripts/install-deps.sh)"; exit 2; }
done

# --- builds -------------------------------------------------------------------
# A directory that is not set up yet is set up as scripts/test.sh does; one
# that is gets its target brought up to date (a no-op when it is).
ensure_built() {
  local dir=$1 target=$2; shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    echo "soak: setting up $dir"
    CC=gcc meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" "$target" >/dev/null || return 1
}
ensure_built "$BUILD" classcast-loadgen || { echo "soak: cannot build $BUILD/classcast-loadgen"; exit 2; }
ensure_built "$ASAN_BUILD" classcast -Db_sanitize=address,undefined -Db_lundef=false ||
  { echo "soak: cannot build $ASAN_BUILD/classcast"; exit 2; }
SERVER_BIN=$ASAN_BUILD/classcast
LOADGEN_BIN=$BUILD/classcast-loadgen
if ! grep -q '^b_sanitize.*address' <(meson introspect "$ASAN_BUILD" --buildoptions 2>/dev/null |
     jq -r '.[] | select(.name=="b_sanitize") | "b_sanitize \(.value)"'); then
  echo "soak: $ASAN_BUILD is not an ASan build (b_sanitize); the soak needs one"
  exit 2
fi

# --- run state and cleanup -------------------------------------------------------
TMP=$(mktemp -d /tmp/cc-soak.XXXXXX)
SERVER_PID=
LOADGEN_PID=
VERDICT=
cleanup() {
  # Only what this script started, by pid.
  [ -n "$LOADGEN_PID" ] && kill "$LOADGEN_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
  [ -n "$LOADGEN_PID" ] && wait "$LOADGEN_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && wait "$SERVER_PID" 2>/dev/null
  echo "soak: logs in $TMP"
}
trap cleanup EXIT
trap 'echo "soak: interrupted"; exit 2' INT TERM

# --- media -----------------------------------------------------------------------
# The loadgen_smoke recording: 640x360 zone plate, libvpx VP8 at 800 kbit/s
# (a keyframe every 2 s), libopus at 64 kbit/s, looped by the publisher.
timeout 60 gst-launch-1.0 -q videotestsrc is-live=false num-buffers=150 pattern=zone-plate kx2=20 ky2=20 kt=1 \
  ! video/x-raw,width=640,height=360,framerate=30/1 \
  ! vp8enc deadline=1 cpu-used=8 target-bitrate=800000 end-usage=cbr keyframe-max-dist=60 \
  ! rtpvp8pay pt=96 mtu=1200 picture-id-mode=15-bit ! rtpstreampay \
  ! filesink location="$TMP/video.rtp" || { echo "soak: recording video failed"; exit 2; }
timeout 60 gst-launch-1.0 -q audiotestsrc is-live=false num-buffers=250 samplesperbuffer=960 wave=ticks \
  ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 bitrate=64000 \
  ! rtpopuspay pt=111 ! rtpstreampay \
  ! filesink location="$TMP/audio.rtp" || { echo "soak: recording audio failed"; exit 2; }

# --- server ----------------------------------------------------------------------
TOKEN=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)
while [ ${#TOKEN} -lt 43 ]; do TOKEN="${TOKEN}x"; done
# ASan keeps freed memory in a quarantine (256 MiB by default) to catch
# use-after-free; a churn frees a few MiB a second, so the RSS would climb
# for the first minutes whatever the server does. 32 MiB still holds the
# last several seconds of frees. LeakSanitizer runs at exit (detect_leaks).
# UBSan reports and goes on, so one run finds them all.
# Every simulated student comes from 127.0.0.1 and opens a connection per
# POST and DELETE (40 a second): far over the per-address limit on new
# connections (600 a minute, meant for one machine), where a real class
# has an address per tablet. Its state (accounts, CA) goes to the run's
# own directory, not to HOME.
export ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=32:abort_on_error=0:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0
"$SERVER_BIN" serve --demo-token "$TOKEN" --bind 127.0.0.1 --http-port 0 --udp-port 0 \
  --web-root "$ROOT/web" --log-level warn --state-dir "$TMP/state" --connection-rate 1000000 \
  2>"$TMP/server.log" >"$TMP/server.out" &
SERVER_PID=$!
PORT=
for _ in $(seq 200); do
  PORT=$(grep -o 'listening http://127.0.0.1:[0-9]*' "$TMP/server.log" | sed 's/.*://')
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$PORT" ]; then
  echo "soak: the server did not start:"; tail -n 30 "$TMP/server.log"; exit 2
fi
BASE=http://127.0.0.1:$PORT

# --- load generator ----------------------------------------------------------------
SECS=$((MINUTES * 60))
T0=$(date +%s.%N)
# How busy the machine is (other work shares it): CPU time of all and idle
# ticks (/proc/stat), and the time some task waited for a CPU (PSI).
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
psi_us() { awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo 0; }
# The server's own CPU time (utime + stime, clock ticks).
srv_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null; }
read -r SYS_T0 SYS_IDLE0 <<<"$(cpu_ticks)"
PSI0=$(psi_us)
SRV_T0=$(srv_ticks)
"$LOADGEN_BIN" --whip "$BASE/whip/demo" --whip-token "$TOKEN" \
  --whep "$BASE/whep/demo" --token "$TOKEN" \
  --video "$TMP/video.rtp" --audio "$TMP/audio.rtp" \
  -n "$SUBS" --duration "$SECS" --churn "$RATE" --verify-sample 5 --setup-timeout 30 \
  --json "$TMP/loadgen.json" >"$TMP/loadgen.out" 2>"$TMP/loadgen.err" &
LOADGEN_PID=$!

# --- sampling ------------------------------------------------------------------------
# t_s rss_kb peers rtp_forwarded peers_added peers_closed heap_trims load1
echo "t_s rss_kb peers rtp_forwarded peers_added peers_closed heap_trims load1" >"$TMP/samples.txt"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null; }
CRASHED=0
LAST_STATS=
STATS_FAILED=0
MAX_SAMPLES=$(( (SECS + 120) / 5 ))   # the window, setup and the drain
for ((i = 1; i <= MAX_SAMPLES; i++)); do
  sleep 5
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    CRASHED=1
    echo "soak: the server died during the run"
    break
  fi
  t=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  rss=$(rss_kb)
  stats=$(curl -s -m 3 "$BASE/stats")
  if [ -n "$stats" ] && echo "$stats" | jq -e . >/dev/null 2>&1; then
    LAST_STATS=$stats
    SRV_T1=$(srv_ticks)
    T1=$(date +%s.%N)
    read -r SYS_T1 SYS_IDLE1 <<<"$(cpu_ticks)"
    PSI1=$(psi_us)
    line=$(echo "$stats" | jq -r '[.peers, .counters.rtp_forwarded, .counters.peers_added,
                                    .counters.peers_closed, .counters.heap_trims] | @tsv' | tr '\t' ' ')
  else
    line="- - - - -"
    STATS_FAILED=$((STATS_FAILED + 1))
  fi
  echo "$t ${rss:--} $line $(cut -d' ' -f1 /proc/loadavg)" >>"$TMP/samples.txt"
  kill -0 "$LOADGEN_PID" 2>/dev/null || break
done
if kill -0 "$LOADGEN_PID" 2>/dev/null; then
  [ $CRASHED -eq 0 ] && echo "soak: the load generator did not finish in time; stopping it"
  kill "$LOADGEN_PID" 2>/dev/null
fi
wait "$LOADGEN_PID" 2>/dev/null
LOADGEN_RC=$?
LOADGEN_PID=

# --- stop the server: SIGTERM, then LeakSanitizer runs at its exit --------------------
SERVER_RC=
if [ $CRASHED -eq 0 ]; then
  kill -TERM "$SERVER_PID"
  for _ in $(seq 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "soak: the server did not exit within 60 s of SIGTERM; killed"
    kill -KILL "$SERVER_PID"
    CRASHED=1
  fi
fi
wait "$SERVER_PID" 2>/dev/null
SERVER_RC=$?
SERVER_PID=
# A signal (>128) other than the SIGKILL above, or an exit while running,
# is a crash; LeakSanitizer's exit code (23) is a report, counted below.
if [ "$SERVER_RC" -gt 128 ]; then
  CRASHED=1
fi

# --- results ---------------------------------------------------------------------------
ASAN_N=$(grep -c 'ERROR: AddressSanitizer' "$TMP/server.log")
LSAN_N=$(grep -c 'ERROR: LeakSanitizer' "$TMP/server.log")
UBSAN_N=$(grep -c 'runtime error:' "$TMP/server.log")
SAN_N=$((ASAN_N + LSAN_N + UBSAN_N))

jget() { jq -r "$1 // \"-\"" "$TMP/loadgen.json" 2>/dev/null || echo -; }
[ -s "$TMP/loadgen.json" ] || echo '{}' >"$TMP/loadgen.json"
MEASURED_S=$(jget .measured_s)
JOINS=$(jget .joins)
LEAVES=$(jget .leaves)
JOIN_FAIL=$(jget .join_failures)
INIT_FAIL=$(jget .initial_failed)
DROPPED=$(jget .dropped)
SKIPPED=$(jget .skipped)
BEHIND=$(jget .behind)
STALL=$(jget .loop_stall_max_ms)
STALL_CPU=$(jget .loop_stall_cpu_ms)
JOIN_P50=$(jget .join_p50_ms)
JOIN_P99=$(jget .join_p99_ms)
# The server's drop counters that are not zero at the end (GET /stats).
DROPS=$(echo "${LAST_STATS:-{\}}" | jq -r '[.counters | to_entries[]
          | select(.value > 0 and (.key | test("drop|no_peer|busy|fail|after|malformed|unknown|truncated|before")))
          | "\(.key) \(.value)"] | join(", ")')
HZ=$(getconf CLK_TCK)
RUN_S=$(awk -v a="$T0" -v b="${T1:-$T0}" 'BEGIN { print b - a }')
SRV_CPU=$(awk -v a="${SRV_T0:-0}" -v b="${SRV_T1:-0}" -v hz="$HZ" -v s="$RUN_S" \
  'BEGIN { if (s > 0) printf "%.0f s, %.0f%% of one core", (b - a) / hz, 100 * (b - a) / hz / s; else print "-" }')
MACHINE=$(awk -v t0="$SYS_T0" -v t1="${SYS_T1:-$SYS_T0}" -v i0="$SYS_IDLE0" -v i1="${SYS_IDLE1:-$SYS_IDLE0}" \
              -v p0="$PSI0" -v p1="${PSI1:-$PSI0}" -v s="$RUN_S" \
  'BEGIN { if (t1 > t0 && s > 0) printf "CPUs %.0f%% busy; some task waited for a CPU %.0f%% of the time",
             100 * (1 - (i1 - i0) / (t1 - t0)), 100 * (p1 - p0) / 1e6 / s; else print "-" }')
# Could the load generator keep its schedule? Turns dropped behind schedule
# mean it fell more than 1 s behind; a stall that was mostly off the CPU
# means it waited for a core, not for its own work.
KEPT=yes
if [ "$BEHIND" = - ]; then
  KEPT=-
elif [ "$BEHIND" != 0 ]; then
  KEPT="no: $BEHIND of $(awk -v m="$SECS" -v r="$RATE" 'BEGIN { printf "%.0f", m * r }') churn turns dropped behind schedule"
elif awk -v s="$STALL" 'BEGIN { exit !(s + 0 > 200) }'; then
  KEPT="mostly: one stall of $STALL ms"
fi
FORWARDED=$(echo "${LAST_STATS:-{\}}" | jq -r '.counters.rtp_forwarded // "-"')
TRIMS=$(echo "${LAST_STATS:-{\}}" | jq -r '.counters.heap_trims // "-"')
TRIM_MAX=$(echo "${LAST_STATS:-{\}}" | jq -r '.counters.heap_trim_max_us // "-"')

# Baseline: the first sample at or after minute 2 (half the run when it is
# shorter than 4 minutes); end: the last sample at or before minute M of the
# load generator (setup takes seconds, so the churn still runs then); min
# and max over the samples between.
BASE_S=$(awk -v m="$MINUTES" 'BEGIN { print (m >= 4 ? 120 : m * 30) }')
END_S=$SECS
read -r RSS_BASE RSS_END RSS_MIN RSS_MAX GROWTH <<<"$(awk -v b="$BASE_S" -v e="$END_S" '
  NR > 1 && $2 != "-" { t[++n] = $1 + 0; r[n] = $2 + 0 }
  END {
    for (i = 1; i <= n; i++) if (t[i] >= b) { bi = i; break }
    for (i = n; i >= 1; i--) if (t[i] <= e) { ei = i; break }
    if (!bi || !ei || ei <= bi || t[ei] < e - 10) { print "- - - - -"; exit }
    mn = mx = r[bi]
    for (i = bi; i <= ei; i++) { if (r[i] < mn) mn = r[i]; if (r[i] > mx) mx = r[i] }
    printf "%d %d %d %d %.1f\n", r[bi], r[ei], mn, mx, 100.0 * (r[ei] - r[bi]) / r[bi]
  }' "$TMP/samples.txt")"
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
mib() { if [ "$1" = - ]; then echo -; else awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; fi; }

REASONS=()
[ $CRASHED -ne 0 ] && REASONS+=("the server crashed")
[ "$SAN_N" -gt 0 ] && REASONS+=("$SAN_N sanitizer report(s)")
if [ "$GROWTH" = - ]; then
  REASONS+=("no RSS at $(mmss "$BASE_S") and at $(mmss "$END_S") (the run ended early)")
elif awk -v g="$GROWTH" 'BEGIN { exit !(g > 10) }'; then
  REASONS+=("RSS grew ${GROWTH}% (more than 10%)")
fi
if [ "$JOINS" = - ]; then
  REASONS+=("no result from the load generator (exit $LOADGEN_RC)")
elif ! awk -v j="$JOINS" -v f="$JOIN_FAIL" -v want="$(awk -v m="$SECS" -v r="$RATE" 'BEGIN { print m * r }')" \
        'BEGIN { exit !(j >= 0.9 * want && f <= 0.01 * j) }'; then
  REASONS+=("the churn did not run as asked: $JOINS joins of $(awk -v m="$SECS" -v r="$RATE" 'BEGIN { printf "%.0f", m * r }'), $JOIN_FAIL failed")
fi
if [ ${#REASONS[@]} -eq 0 ]; then VERDICT=PASS; else VERDICT=FAIL; fi

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CORES=$(nproc)
LOAD_MIN=$(awk 'NR > 1 { if (mn == "" || $8 < mn) mn = $8; if ($8 > mx) mx = $8; s += $8; n++ }
               END { if (n) printf "%.2f, mean %.2f, max %.2f", mn, s / n, mx }' "$TMP/samples.txt")
COMMIT=$(git rev-parse --short HEAD 2>/dev/null)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l)

{
  echo "minutes run:          $(awk -v s="$MEASURED_S" 'BEGIN { if (s == "-") print "-"; else printf "%.1f", s / 60 }')"
  echo "joins / leaves:       $JOINS / $LEAVES   (asked: $RATE a second each, $SUBS live)"
  echo "join failures:        $JOIN_FAIL   (initial subscribers failed: $INIT_FAIL; transports ended while live: $DROPPED)"
  echo "join time:            p50 $JOIN_P50 ms, p99 $JOIN_P99 ms   (POST to SRTP keys)"
  echo "loadgen kept up:      $KEPT   (turns skipped $SKIPPED; longest loop stall $STALL ms, $STALL_CPU ms of it on the CPU)"
  echo "packets forwarded:    $FORWARDED   (server /stats rtp_forwarded; $STATS_FAILED of the 5-s samples got no answer)"
  echo "server drops:         ${DROPS:-none}"
  echo "server CPU:           $SRV_CPU"
  echo "heap trims:           $TRIMS (longest ${TRIM_MAX} us)"
  echo "RSS at $(mmss "$BASE_S"):         $(mib "$RSS_BASE")"
  echo "RSS at $(mmss "$END_S"):        $(mib "$RSS_END")   (min $(mib "$RSS_MIN"), max $(mib "$RSS_MAX") between)"
  echo "RSS growth:           ${GROWTH}%   (limit 10%)"
  echo "sanitizer reports:    $SAN_N   (ASan $ASAN_N, LeakSanitizer $LSAN_N, UBSan $UBSAN_N)"
  echo "server crashed:       $([ $CRASHED -ne 0 ] && echo yes || echo no)   (exit status: $SERVER_RC)"
  echo "load average (1 min): min $LOAD_MIN   ($CORES cores; $MACHINE)"
  if [ "$VERDICT" = PASS ]; then
    echo "verdict:              PASS"
  else
    echo "verdict:              FAIL: $(printf '%s; ' "${REASONS[@]}" | sed 's/; $//')"
  fi
} >"$TMP/summary.txt"

{
  echo "# Churn soak"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $COMMIT ($DIRTY tracked files modified in the working tree)"
  echo "- command: \`scripts/soak.sh ${ARGS[*]}\`"
  echo "- machine: $CPU_MODEL, $CORES cores"
  echo "- server: \`$SERVER_BIN serve --demo-token T --bind 127.0.0.1\` (ASan+UBSan; ASAN_OPTIONS=$ASAN_OPTIONS)"
  echo "- load: \`$LOADGEN_BIN -n $SUBS --churn $RATE --duration $SECS\`, a WHIP publisher (640x360 VP8 800 kbit/s + Opus 64 kbit/s, looped) the whole time"
  echo
  echo '```'
  cat "$TMP/summary.txt"
  echo '```'
  echo
  echo "Load generator summary:"
  echo
  echo '```'
  grep -v '^{' "$TMP/loadgen.out" | head -n 20
  echo '```'
  if [ "$SAN_N" -gt 0 ]; then
    echo
    echo "First sanitizer report:"
    echo
    echo '```'
    grep -m1 -A 40 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TMP/server.log"
    echo '```'
  fi
  echo
  echo "Samples every 30 s (t from the load generator's start; RSS of the server):"
  echo
  echo "| t (s) | RSS (MiB) | peers | RTP forwarded | peers added | peers closed | heap trims | load 1 min |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk 'NR > 1 && (NR - 2) % 6 == 5 {
         printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1,
                ($2 == "-" ? "-" : sprintf("%.1f", $2 / 1024)), $3, $4, $5, $6, $7, $8 }' "$TMP/samples.txt"
} >"$TMP/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.md" "$OUT"
cat "$TMP/summary.txt"
echo "(report: $OUT)"
[ "$VERDICT" = PASS ] && exit 0
exit 1
