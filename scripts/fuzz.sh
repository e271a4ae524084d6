#!/usr/bin/env bash
# Run every libFuzzer target for a bounded time each, and print, per target,
# how many inputs it executed, how many new corpus entries it found and how
# many crashes it hit. Not part of scripts/test.sh (that one replays the
# saved corpora in every build); this one looks for new inputs.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     (default 60 s, all)
#
# Builds build-fuzz/ with clang, -Dfuzzing=true (libFuzzer + ASan + UBSan).
# New interesting inputs are merged into tests/fuzz/corpus/<target>/ only
# when they add coverage (-merge=1), so the corpus stays small; a crashing
# input is kept as tests/fuzz/corpus/<target>/crash-<sha1> and is replayed
# by the normal test run from then on. Exits non-zero if anything crashed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

SECS=${1:-60}
shift || true
case "$SECS" in ''|*[!0-9]*) echo "fuzz.sh: seconds must be a number" >&2; exit 2 ;; esac

./scripts/install-deps.sh >/dev/null || { echo "fuzz.sh: install-deps failed" >&2; exit 1; }

BUILD=build-fuzz
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang meson setup "$BUILD" -Dfuzzing=true -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null || { echo "fuzz.sh: meson setup failed" >&2; exit 1; }
fi
ninja -C "$BUILD" >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 1; }

if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=()
  for f in tests/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c); TARGETS+=("${n#fuzz_}")
  done
fi

WORK=$(mktemp -d /tmp/cc-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
total_crashes=0
printf '%-8s %12s %8s %8s %8s\n' target executions exec/s new crashes
for t in "${TARGETS[@]}"; do
  bin="$BUILD/tests/fuzz_$t"
  corpus="tests/fuzz/corpus/$t"
  if [ ! -x "$bin" ]; then
    printf '%-8s missing: %s\n' "$t" "$bin"; total_crashes=$((total_crashes + 1)); continue
  fi
  mkdir -p "$corpus" "$WORK/$t/new" "$WORK/$t/art"
  log="$WORK/$t/log"
  # -max_total_time bounds it; -timeout catches a hang in one input;
  # -rss_limit_mb a runaway allocation. Starts from the saved corpus.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout -k 10 $((SECS + 60)) "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$t/art/" "$WORK/$t/new" "$corpus" >"$log" 2>&1
  execs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rate=$(grep -m1 -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  crashes=0
  for a in "$WORK/$t/art"/*; do
    [ -e "$a" ] || continue
    crashes=$((crashes + 1))
    keep="$corpus/crash-$(sha1sum "$a" | cut -c1-16)"
    cp "$a" "$keep"
    echo "fuzz.sh: $t: $(basename "$a") kept as $keep" >&2
    grep -m3 -E 'ERROR|SUMMARY|runtime error' "$log" >&2
  done
  # Merge only inputs that add coverage into the saved corpus.
  new=0
  if [ "$(ls -A "$WORK/$t/new")" ]; then
    before=$(ls "$corpus" | wc -l)
    "$bin" -merge=1 "$corpus" "$WORK/$t/new" >/dev/null 2>&1
    new=$(( $(ls "$corpus" | wc -l) - before ))
  fi
  total_crashes=$((total_crashes + crashes))
  printf '%-8s %12s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$new" "$crashes"
done
echo "fuzz.sh: ${#TARGETS[@]} targets, ${SECS} s each, $total_crashes crashes"
[ "$total_crashes" -eq 0 ]
